// `wavelet-gpt generate`: text from a trained checkpoint, cached, streamed as it comes with --stream.

import { WaveletInputError } from '../errors.js';
import { WaveletModel } from '../infer/model.js';
import { fileChoiceCache } from '../io/choice_cache.js';
import { BACKEND_NAMES } from '../backends/model.js';
import { flagsUsage, type Flag, type Options } from './options.js';

export const GENERATE_FLAGS: readonly Flag[] = [
  { name: 'checkpoint', value: 'DIR|FILE|URL', help: 'required: a run folder, a .safetensors file or a URL' },
  { name: 'adapter', value: 'FILE|URL', help: 'LoRA adapters for the model (train --lora writes DIR/adapter.safetensors), merged on load' },
  { name: 'prompt', value: 'TEXT', help: 'required: the text to continue' },
  { name: 'max-tokens', value: 'N', type: 'integer', min: 1, default: 200, help: 'tokens to generate' },
  { name: 'temperature', value: 'T', type: 'number', min: 0, default: 0.8, help: '0 picks the most likely token' },
  { name: 'top-k', value: 'K', type: 'integer', min: 0, default: 0, help: 'sample among the K most likely, 0 for all' },
  { name: 'top-p', value: 'P', type: 'number', min: 0, default: 1, help: 'sample within this probability mass' },
  { name: 'repetition-penalty', value: 'R', type: 'number', min: 0, default: 1, help: "divides the logits of tokens already seen" },
  { name: 'seed', value: 'S', type: 'integer', default: 1, help: "the sampler's seed" },
  { name: 'stop', value: 'TEXT', help: 'stop when the text appears' },
  { name: 'stream', value: '', type: 'boolean', help: 'print tokens as they come' },
  { name: 'threads', value: 'N|auto', type: 'integer', min: 1, words: ['auto'], default: 'auto', help: "the wasm backend's threads; auto times 1, 2, 4, ... where the model is large enough to share out" },
  { name: 'backend', value: 'auto|webgpu|wasm|js', choices: ['auto', ...BACKEND_NAMES], default: 'auto', help: 'auto times each backend here and keeps the fastest' },
];

export const GENERATE_USAGE = flagsUsage(
  'generate --checkpoint DIR|FILE|URL --prompt TEXT [options]',
  "continues the prompt with a trained model (cached state: a GPT's KV cache and wavelet rings,\nWaveletLM's lifting rings and running means)",
  GENERATE_FLAGS,
);

export async function runGenerate(options: Options): Promise<void> {
  const checkpoint = options.string('checkpoint');
  const prompt = options.string('prompt');
  if (!checkpoint) throw new WaveletInputError('generate: --checkpoint is required (a run folder, a .safetensors file or a URL)');
  if (prompt === undefined) throw new WaveletInputError('generate: --prompt is required');
  const model = await WaveletModel.load(checkpoint, { backend: options.string('backend') as 'auto', adapter: options.string('adapter'), threads: options.numberOrWord('threads') as number | 'auto', choiceCache: fileChoiceCache(), onTiming: (message) => console.error(message) });
  if (model.choice) console.error(`backend: ${model.choice.reason}${model.choice.cached ? ' (measured before, cached)' : ''}`);
  const stop = options.string('stop');
  const settings = {
    maxTokens: options.number('max-tokens'),
    temperature: options.number('temperature'),
    topK: options.number('top-k'),
    topP: options.number('top-p'),
    repetitionPenalty: options.number('repetition-penalty'),
    seed: options.number('seed'),
    stop: stop === undefined ? [] : [stop],
  };
  const stream = options.boolean('stream');
  const started = performance.now();
  let count = 0;
  let text = '';
  if (stream) process.stdout.write(prompt);
  for await (const token of model.generate(prompt, settings)) {
    count++;
    if (stream) process.stdout.write(token.text);
    else text += token.text;
  }
  if (stream) process.stdout.write('\n');
  else console.log(prompt + text);
  const seconds = (performance.now() - started) / 1e3;
  console.error(`${model.backend} decoder: ${count} tokens in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(0)} tokens/s)`);
  model.dispose();
}
