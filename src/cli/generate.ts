// `wavelet-gpt generate`: text from a trained checkpoint, cached, streamed as it comes with --stream.

import { WaveletInputError } from '../errors.js';
import { WaveletGPT } from '../infer/model.js';
import { fileChoiceCache } from '../io/choice_cache.js';
import { number } from './train.js';

export const GENERATE_OPTIONS = ['checkpoint', 'backend', 'prompt', 'stream', 'max-tokens', 'temperature', 'top-k', 'top-p', 'repetition-penalty', 'seed', 'stop'];

export const GENERATE_USAGE = `  generate --checkpoint DIR|FILE|URL --prompt TEXT [--max-tokens 200] [--temperature 0.8] [--top-k K]
        [--top-p P] [--repetition-penalty R] [--seed S] [--stop TEXT] [--stream true] [--backend auto|wasm|webgpu|js]
                           continues the prompt with a trained model (a KV cache and the wavelet
                           structure's running state: one token's work a token)`;

export async function runGenerate(options: Record<string, string>): Promise<void> {
  if (!options.checkpoint) throw new WaveletInputError('generate: --checkpoint is required (a run folder, a .safetensors file or a URL)');
  if (options.prompt === undefined) throw new WaveletInputError('generate: --prompt is required');
  const model = await WaveletGPT.load(options.checkpoint, { backend: (options.backend ?? 'auto') as 'auto', choiceCache: fileChoiceCache() });
  if (model.choice) console.error(`backend: ${model.choice.reason}${model.choice.cached ? ' (measured before, cached)' : ''}`);
  const settings = {
    maxTokens: number(options, 'max-tokens', 200),
    temperature: number(options, 'temperature', 0.8),
    topK: number(options, 'top-k', 0),
    topP: number(options, 'top-p', 1),
    repetitionPenalty: number(options, 'repetition-penalty', 1),
    seed: number(options, 'seed', 1),
    stop: options.stop === undefined ? [] : [options.stop],
  };
  const stream = options.stream !== undefined && options.stream !== 'false';
  const started = performance.now();
  let count = 0;
  let text = '';
  if (stream) process.stdout.write(options.prompt);
  for await (const token of model.generate(options.prompt, settings)) {
    count++;
    if (stream) process.stdout.write(token.text);
    else text += token.text;
  }
  if (stream) process.stdout.write('\n');
  else console.log(options.prompt + text);
  const seconds = (performance.now() - started) / 1e3;
  console.error(`${model.backend} decoder: ${count} tokens in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(0)} tokens/s)`);
  model.dispose();
}
