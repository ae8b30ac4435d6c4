// The training loop: batches from the corpus, forward and backward on a backend's model (with gradient
// accumulation), the learning-rate schedule, the optimizer (AdamW or Adagrad), evaluation on fixed held-out crops, and at
// each evaluation a log, a plot and a checkpoint, all written atomically. A run resumes exactly
// from its checkpoint; a loss that turns NaN or infinite stops the run before anything is saved.
// The memory of a step is planned before it is taken (backends/memory.ts), and a batch that does
// not fit is refused, or split into micro-batches when asked.

import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { nextTurn } from '../runtime/next_turn.js';
import { checkConfig, modelName, presetConfig, waveletLmPresetConfig, type Architecture, type GPTConfig, type ModelConfig, type WaveletLMConfig, type WaveletStructure } from '../model/config.js';
import { initialParameters, parameterLayout } from '../model/parameters.js';
import { SeededRandom } from '../model/random.js';
import { lineChartSvg } from '../report/svg.js';
import { loadCheckpoint, readCheckpointAt, saveCheckpoint, CHECKPOINT_FILE } from './checkpoint.js';
import { checkRunFolder, claimRunFolder } from './run_folder.js';
import { batchSampler, corpusValidationBatches, loadCorpus, type Corpus, type TextTokenizerKind } from './data.js';
import type { BackendModel, BackendName } from '../backends/model.js';
import { checkTrainingMemory, memoryLimits, memoryShortfall, MemoryPlanError, planMicroBatch, stepPlan } from '../backends/memory.js';
import { networkOf } from '../model/networks.js';
import { checkLora, namePattern, type LoraSettings } from '../model/lora.js';
import { mergeAdapters, splitAdapterTensors } from '../model/adapters.js';
import { ADAPTER_FILE, writeAdapter } from '../io/adapter.js';
import { checkBackendName, openModel, type BackendChoice } from '../backends/registry.js';
import { fileChoiceCache } from '../io/choice_cache.js';
import { defaultOptimizer, OPTIMIZER_KINDS, OPTIMIZER_SLOTS, type OptimizerKind } from '../kernels/optimizer/ref.js';
import { checkSchedule, initialPlateau, learningRate, plateauAfterEvaluation, type PlateauState, type ScheduleKind, type ScheduleSettings } from './schedule.js';

export interface TrainSettings {
  data?: string;
  tokenizer: TextTokenizerKind;
  /** Absent in runs from before WaveletLM: the GPT. */
  architecture?: Architecture;
  preset: string;
  /** The GPT's wavelet structure; 'none' for the baseline and for WaveletLM. */
  wavelet: 'haar' | 'learnable' | 'ema' | 'none';
  /** Free sizes: fields of the preset replaced. */
  sizes?: Partial<Pick<GPTConfig, 'context' | 'layers' | 'width' | 'heads' | 'feedForward' | 'headDense'>> &
    Partial<Pick<WaveletLMConfig, 'levels' | 'mlpExpansion' | 'lowRank' | 'liftingSharing'>>;
  backend: 'auto' | BackendName;
  steps: number;
  batch: number;
  accumulate: number;
  /** Absent in runs from before Adagrad: AdamW. */
  optimizer?: OptimizerKind;
  /** The optimizer's default when absent (defaultOptimizer). */
  weightDecay?: number;
  lr: number;
  minLr: number;
  warmup: number;
  schedule: ScheduleKind;
  evalEvery: number;
  evalBatches: number;
  seed: number;
  out: string;
  /** Fine-tuning: the weights to start from (a run folder or a checkpoint file, lean ones too), with their model and tokenizer and a fresh optimizer. */
  init?: string;
  /** Name patterns of parameters left as they are (model/lora.ts's namePattern: `*` any characters). */
  freeze?: string[];
  /** Fine-tuning with LoRA adapters (needs init): the base weights frozen, the adapters trained and saved apart. */
  lora?: LoraSettings;
}

export interface LogEntry {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  validationLoss?: number;
}

export interface TrainLog {
  config: ModelConfig;
  settings: TrainSettings;
  data: string;
  entries: LogEntry[];
}

/** A run stopped on request (Ctrl-C in the CLI) after saving the step it reached. */
export class TrainingStoppedError extends Error {
  override name = 'TrainingStoppedError';
}

/** A run that cannot go on: a NaN or infinite loss. The message says what is intact and what to do. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

export interface TrainEvents {
  /** notes: what claiming the run's folder found and did (a stale lock, a killed run's temporary files). */
  start?(info: { config: ModelConfig; corpus: Corpus; model: BackendModel; choice?: BackendChoice; fromStep: number; parameters: number; notes: string[] }): void;
  /** The backend chooser is timing a backend (backend auto, a shape not measured before). */
  timing?(message: string): void;
  step?(entry: LogEntry, totalSteps: number): void;
  evaluation?(entry: LogEntry): void;
  /** After the last step, with the trained model (disposed when this returns). */
  finish?(model: BackendModel, log: TrainLog): Promise<void> | void;
}

/** Sizes that only one architecture has, by flag: given to the other, they are an error, not ignored (replicate also reads the WaveletLM list). */
const GPT_ONLY = { heads: 'heads', feedForward: 'feed-forward', headDense: 'head-dense' } as const;
export const WAVELET_LM_ONLY = { levels: 'levels', mlpExpansion: 'mlp-expansion', lowRank: 'low-rank', liftingSharing: 'lifting-sharing' } as const;

function configFor(settings: TrainSettings, vocabSize: number): ModelConfig {
  const architecture = settings.architecture ?? 'gpt';
  const sizes = settings.sizes ?? {};
  const foreign = architecture === 'gpt' ? WAVELET_LM_ONLY : GPT_ONLY;
  for (const [field, flag] of Object.entries(foreign)) {
    if (field in sizes) throw new WaveletInputError(`--${flag}: a size of the ${architecture === 'gpt' ? 'WaveletLM' : 'GPT'} architecture, not of ${architecture} (--architecture)`);
  }
  if (architecture === 'wavelet-lm') {
    if (settings.wavelet !== 'none') throw new WaveletInputError(`--wavelet ${settings.wavelet}: WaveletLM has its own wavelets (learned lifting); --wavelet sets the GPT's`);
    return waveletLmPresetConfig(settings.preset, { vocabSize, ...sizes } as Partial<WaveletLMConfig>);
  }
  const forms = ['haar', 'learnable', 'ema', 'none'];
  if (!forms.includes(settings.wavelet)) throw new WaveletInputError(`--wavelet: expected one of ${forms.join(', ')}, found '${settings.wavelet}'`);
  const wavelet: WaveletStructure | null = settings.wavelet === 'none' ? null : { form: settings.wavelet };
  return presetConfig(settings.preset, wavelet, { vocabSize, ...sizes } as Partial<GPTConfig>);
}

/** A settings field's flag name: minLr -> min-lr (the CLI's flags are the fields, kebab-cased; train/api.ts reads them back). */
export function kebabCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function checkSettings(s: TrainSettings): TrainSettings {
  for (const field of ['steps', 'batch', 'accumulate', 'evalEvery', 'evalBatches'] as const) {
    if (!Number.isInteger(s[field]) || s[field] < 1) throw new WaveletInputError(`--${kebabCase(field)}: expected a positive integer, found ${s[field]}`);
  }
  if (!Number.isInteger(s.warmup) || s.warmup < 0) throw new WaveletInputError(`--warmup: expected an integer >= 0, found ${s.warmup}`);
  if (s.optimizer !== undefined && !OPTIMIZER_KINDS.includes(s.optimizer)) throw new WaveletInputError(`--optimizer: expected one of ${OPTIMIZER_KINDS.join(', ')}, found '${s.optimizer}'`);
  if (s.weightDecay !== undefined && !(s.weightDecay >= 0 && Number.isFinite(s.weightDecay))) throw new WaveletInputError(`--weight-decay: expected a number >= 0, found ${s.weightDecay}`);
  if (!Number.isInteger(s.seed)) throw new WaveletInputError(`--seed: expected an integer, found ${s.seed}`);
  return s;
}

/** The settings a caller may leave out, and what they are then (the CLI's flags show the same). */
export const TRAIN_DEFAULTS = {
  tokenizer: 'char', architecture: 'gpt', preset: 'tiny', backend: 'auto', steps: 300, batch: 8, accumulate: 1, optimizer: 'adamw',
  lr: 3e-3, minLr: 1e-4, warmup: 20, schedule: 'cosine', evalEvery: 50, evalBatches: 4, seed: 1, out: 'runs/train',
} as const satisfies Partial<TrainSettings>;

/** What a run being continued may be given again; its other settings are its own (in its checkpoint). */
export const RESUME_OVERRIDES = ['steps', 'lr', 'minLr', 'backend', 'evalEvery', 'evalBatches'] as const;

/** A run to continue: its folder, and the settings given again. */
export interface Resume {
  dir: string;
  overrides: Partial<Pick<TrainSettings, (typeof RESUME_OVERRIDES)[number]>>;
}

export interface TrainOptions {
  /** Replace a run already in settings.out (otherwise refused). */
  overwrite?: boolean;
  /**
   * Split each batch of settings.batch sequences into micro-batches of this many (a divisor), or
   * 'auto': the largest that fits the memory (of the backend named; with backend 'auto', of the
   * strictest, wasm32). The step's gradient is the same mean; the run stores the split as its
   * batch and accumulation.
   */
  microBatch?: number | 'auto';
  /** Bytes a training step may take (backends/memory.ts); by default each backend's own limit. */
  memoryBudget?: number;
  /** Stops the run before its next step, a checkpoint written at the step reached; the run rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The wasm backend's threads: a count, or 'auto' (the default): the chooser times 1, 2, 4, ... up to the processors here. */
  threads?: number | 'auto';
}

/** settings with each batch split into micro-batches as `microBatch` asks (see TrainOptions). */
function splitBatch(settings: TrainSettings, config: ModelConfig, microBatch: TrainOptions['microBatch'], budget: number | undefined): TrainSettings {
  if (microBatch === undefined) return settings;
  const B = settings.batch;
  const backend = settings.backend === 'auto' ? 'wasm' : settings.backend;
  const plan = stepPlan(backend, config, networkOf(config), OPTIMIZER_SLOTS[settings.optimizer ?? 'adamw'].length, config.context);
  const limits = memoryLimits(backend, budget, undefined, 'the memory budget (--memory-budget) is');
  let micro: number | undefined;
  if (microBatch === 'auto') {
    micro = planMicroBatch(B, (b) => memoryShortfall(plan(b), limits) === undefined);
    if (micro === undefined) throw new MemoryPlanError(`--micro-batch auto: not even one sequence fits: ${memoryShortfall(plan(1), limits)}`);
  } else {
    if (!Number.isInteger(microBatch) || microBatch < 1 || B % microBatch !== 0) throw new WaveletInputError(`--micro-batch ${microBatch}: expected a divisor of --batch ${B}, or auto`);
    micro = microBatch;
  }
  // Validation takes the same crops in more, smaller batches (validationBatches spreads B * count starts).
  const parts = B / micro;
  return { ...settings, batch: micro, accumulate: settings.accumulate * parts, evalBatches: settings.evalBatches * parts };
}

/**
 * Trains from scratch with `requested`, or continues the run in `resume.dir` with its own settings.
 * The run's folder is checked first (run_folder.ts: a run already there is refused unless resumed
 * or overwritten) and taken, under a lock that keeps a second process out until this one ends,
 * once the data, the config and the step's memory are known good.
 */
export async function runTraining(requested: TrainSettings, events: TrainEvents = {}, resume?: Resume, options: TrainOptions = {}): Promise<TrainLog> {
  const [dir, existing, flag] = resume ? [resume.dir, 'resume' as const, '--resume'] : [requested.out, options.overwrite ? ('overwrite' as const) : ('refuse' as const), '--out'];
  checkRunFolder(dir, existing, flag); // before any work; the folder is taken once the data and model are known good
  const resumed = resume ? loadCheckpoint(resume.dir) : undefined;
  const settings = checkSettings(resumed ? { ...(resumed.training.settings as TrainSettings), ...resume!.overrides, out: resume!.dir } : requested);
  if (resumed && resumed.training.step >= settings.steps) {
    throw new WaveletInputError(`--resume ${resume!.dir}: the run is already at step ${resumed.training.step} of ${settings.steps}; give --steps above ${resumed.training.step} to train further`);
  }
  const schedule = checkSchedule({ kind: settings.schedule, peak: settings.lr, floor: settings.minLr, warmupSteps: settings.warmup, totalSteps: settings.steps, patience: 3, factor: 3 } satisfies ScheduleSettings);
  // Fine-tuning starts from another run's weights, model and tokenizer (a resumed run has its own).
  const initial = settings.init !== undefined && !resumed ? readInitialWeights(settings.init) : undefined;
  const start = resumed ?? initial;
  const contextHint = start?.config.context ?? settings.sizes?.context ?? configFor({ ...settings, sizes: {} }, 2).context;
  // The checkpoint's tokenizer encodes the new data: a character it lacks is an error naming it (or U+FFFD, by its policy).
  const corpus = await loadCorpus(settings.data, settings.tokenizer, contextHint, start?.tokenizer);
  if (corpus.exampleLength !== undefined && settings.sizes?.context !== undefined && settings.sizes.context !== corpus.exampleLength) {
    throw new WaveletInputError(`--context ${settings.sizes.context}: ${corpus.path} is a classification dataset of ${corpus.exampleLength}-token examples; leave --context out (it is set to ${corpus.exampleLength})`);
  }
  // A classification dataset fixes the context: one example a sequence.
  const sized = corpus.exampleLength === undefined ? settings : { ...settings, sizes: { ...settings.sizes, context: corpus.exampleLength } };
  if (settings.lora && !start) throw new WaveletInputError('--lora: adapters change a trained model; give --init CHECKPOINT (the model to adapt)');
  // A resumed run's config has its adapters already; fine-tuning adds them to the model given.
  const config = initial && settings.lora ? checkConfig({ ...initial.config, lora: checkLora(settings.lora) }) : start ? checkConfig(start.config) : configFor(sized, corpus.tokenizer.vocabSize);
  if (config.vocabSize !== corpus.tokenizer.vocabSize) throw new WaveletInputError(`${initial ? `--init ${settings.init}` : 'checkpoint'}: its model has ${config.vocabSize} tokens, the data's tokenizer ${corpus.tokenizer.vocabSize}`);
  if (resumed && options.microBatch !== undefined) throw new WaveletInputError(`--micro-batch: a run being continued keeps its batch and accumulation (--batch ${settings.batch}, --accumulate ${settings.accumulate})`);
  const split = splitBatch(settings, config, options.microBatch, options.memoryBudget);
  // The memory a step needs, checked before anything is written (backend auto: the chooser counts out a backend it does not fit).
  const slots = OPTIMIZER_SLOTS[split.optimizer ?? 'adamw'].length;
  // Backend auto and js: at most this machine's memory, wherever no budget is given.
  const planned: BackendName = split.backend === 'auto' ? 'js' : split.backend;
  const budget = options.memoryBudget ?? (planned === 'js' ? totalmem() : undefined);
  const why = options.memoryBudget === undefined ? "this machine's memory is" : 'the memory budget (--memory-budget) is';
  checkTrainingMemory(stepPlan(planned, config, networkOf(config), slots, config.context), split.batch, memoryLimits(planned, budget, undefined, why));
  const layout = parameterLayout(config);
  const frozen = frozenTensors(config, split.freeze);
  const parameters = startingParameters(config, layout, split.seed, resumed?.parameters ?? initial?.parameters);
  const optimizer = defaultOptimizer(split.optimizer ?? 'adamw', split.weightDecay);
  const folder = claimRunFolder(dir, existing, flag);
  try {
    // Backend and threads: those left 'auto' are timed here (and the choice kept in the chooser's cache on disk).
    const { model, choice } = await openModel(checkBackendName(split.backend, '--backend'), options.threads, { config, layout, parameters, optimizer, memoryBudget: options.memoryBudget, frozen }, { mode: 'train', batch: split.batch }, { cache: fileChoiceCache(), onTiming: events.timing }, { backend: '--backend', threads: '--threads' });
    try {
      if (resumed) await model.load(resumed.parameters, resumed.optimizer);
      if (initial) folder.notes.push(`starting from the weights of ${settings.init}${initial.step !== undefined ? ` (trained ${initial.step} steps)` : ''}, with a fresh optimizer`);
      if (frozen.length) {
        const count = (names: readonly string[]) => names.reduce((sum, name) => sum + layout.byName.get(name)!.size, 0);
        folder.notes.push(`training ${(layout.count - count(frozen)).toLocaleString('en')} of ${layout.count.toLocaleString('en')} parameters (${frozen.length} tensors frozen${config.lora ? ': the base model, under LoRA adapters' : ''})`);
      }
      return await runSteps({ settings: split, config, corpus, model, resumed, schedule, events, notes: folder.notes, start: { choice, parameters: layout.count }, signal: options.signal });
    } finally {
      model.dispose();
    }
  } finally {
    folder.release();
  }
}

/**
 * The tensors the optimizer leaves alone: those matching `patterns` (each must match one), and
 * under LoRA adapters the whole base model. Training nothing is an error.
 */
function frozenTensors(config: ModelConfig, patterns: readonly string[] = []): string[] {
  const names = parameterLayout(config).tensors.map((t) => t.name);
  for (const pattern of patterns) {
    if (!names.some(namePattern([pattern]))) throw new WaveletInputError(`--freeze '${pattern}': matches no parameter of the model (they are named as ${names.slice(0, 6).join(', ')}, ...)`);
  }
  const frozen = new Set(names.filter(namePattern(patterns)));
  if (config.lora) for (const name of splitAdapterTensors(config).base) frozen.add(name);
  if (frozen.size === names.length) throw new WaveletInputError(`--freeze ${patterns.join(',')}: freezes every parameter; nothing would train`);
  return names.filter((name) => frozen.has(name));
}

/**
 * The weights a run starts with: a checkpoint's (resumed, or fine-tuned from), or drawn from the
 * seed. Fine-tuning with adapters draws only what the checkpoint lacks: the adapters' tensors
 * come after the model's (parameters.ts), so the checkpoint's weights are the layout's prefix.
 */
function startingParameters(config: ModelConfig, layout: ReturnType<typeof parameterLayout>, seed: number, given: Float32Array | undefined): Float32Array {
  if (given?.length === layout.count) return given;
  const drawn = initialParameters(config, layout, seed);
  if (given) drawn.set(given);
  return drawn;
}

/** The weights, model and tokenizer of a checkpoint to fine-tune from: a run folder or a file, with or without optimizer state, at any precision; adapters are merged into the weights they adapt. */
function readInitialWeights(path: string): { config: ModelConfig; tokenizer: unknown; parameters: Float32Array; step?: number } {
  const { config, tokenizer, parameters, metadata } = readCheckpointAt(path, '--init');
  let step: number | undefined;
  try {
    step = (JSON.parse(metadata.training ?? '{}') as { step?: number }).step;
  } catch {
    // the step is only reported
  }
  return { ...mergeAdapters(config, parameters), tokenizer, step };
}

interface Run {
  settings: TrainSettings;
  config: ModelConfig;
  corpus: Corpus;
  model: BackendModel;
  resumed: ReturnType<typeof loadCheckpoint> | undefined;
  schedule: ReturnType<typeof checkSchedule>;
  events: TrainEvents;
  notes: string[];
  start: { choice?: BackendChoice; parameters: number };
  signal?: AbortSignal;
}

/** The steps of a run in its claimed folder: batches, updates, evaluations, the log, the plot and checkpoints. */
async function runSteps({ settings, config, corpus, model, resumed, schedule, events, notes, start, signal }: Run): Promise<TrainLog> {
  const out = settings.out;
  const T = config.context;
  const sampler = batchSampler(corpus, settings.batch, T, new SeededRandom(resumed ? resumed.training.samplerState : settings.seed + 1));
  const validation = corpusValidationBatches(corpus, settings.batch, T, settings.evalBatches);
  let plateau = (resumed?.training.plateau as PlateauState | undefined) ?? initialPlateau(schedule);
  const fromStep = resumed?.training.step ?? 0;
  const log: TrainLog = { config, settings, data: corpus.path, entries: [] };
  const logPath = join(out, 'log.json');
  if (resumed && existsSync(logPath)) {
    // Steps after the checkpoint are run again: drop what the interrupted run logged of them. A
    // damaged log costs its history, not the run: the checkpoint alone is enough to go on.
    try {
      const entries = (JSON.parse(readFileSync(logPath, 'utf8')) as TrainLog).entries;
      if (!Array.isArray(entries)) throw new Error('no entries');
      log.entries = entries.filter((e) => e.step < fromStep);
    } catch (error) {
      notes.push(`${logPath} is damaged (${(error as Error).message}); the log restarts at step ${fromStep}, the checkpoint is intact`);
    }
  }
  events.start?.({ config, corpus, model, choice: start.choice, fromStep, parameters: start.parameters, notes });
  /** The log, the plot, the adapters and the checkpoint after `steps` steps, each written atomically. */
  const save = async (steps: number) => {
    // The log first: killed between the two writes, the log runs ahead of the checkpoint, and a
    // resumed run drops the entries after the checkpoint's step (never the other way round).
    writeFileAtomic(logPath, JSON.stringify(log, null, 1));
    writeFileAtomic(join(out, 'curves.svg'), curvesSvg(log));
    const parameters = await model.parameters();
    // The adapters alone beside the checkpoint: what a fine-tuning with LoRA is for, at a few hundredths of the size.
    if (config.lora) writeFileAtomic(join(out, ADAPTER_FILE), writeAdapter(config, parameters));
    saveCheckpoint(out, {
      config,
      tokenizer: corpus.tokenizer.toJSON(),
      parameters,
      optimizer: await model.optimizerState(),
      training: { step: steps, samplerState: sampler.random.state, plateau, settings },
    });
  };
  for (let step = fromStep; step < settings.steps; step++) {
    // A step on the CPU backends resolves in microtasks alone: without a turn of the event loop
    // between steps, nothing else runs (Ctrl-C's handler, a page's clicks) until the run ends.
    await nextTurn();
    if (signal?.aborted) {
      // Stopped between steps: nothing of the work done is lost.
      if (step > fromStep && log.entries.at(-1)?.validationLoss === undefined) await save(step);
      throw signal.reason;
    }
    const started = performance.now();
    const lr = learningRate(schedule, step, plateau);
    // Every micro-batch and the update are issued before the first await (BackendModel's contract).
    const losses: Promise<number>[] = [];
    for (let micro = 0; micro < settings.accumulate; micro++) {
      const { tokens, targets } = sampler.next();
      losses.push(model.forwardBackward(tokens, targets, settings.batch, T, 1 / settings.accumulate));
    }
    const [gradNorm, ...microLosses] = await Promise.all([model.update(lr), ...losses]);
    const loss = microLosses.reduce((sum: number, value: number) => sum + value / settings.accumulate, 0);
    const seconds = (performance.now() - started) / 1e3;
    const entry: LogEntry = { step, loss, lr, gradNorm, tokensPerSecond: Math.round((settings.batch * settings.accumulate * T) / seconds) };
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const saved = existsSync(join(out, CHECKPOINT_FILE)) ? `the last checkpoint in ${out} is intact; resume from it with a lower --lr (now ${settings.lr})` : `no checkpoint was written yet; start again with a lower --lr (now ${settings.lr})`;
      throw new TrainingDivergedError(`step ${step}: the loss is ${loss} and the gradient norm ${gradNorm}: training diverged; ${saved}`);
    }
    const evaluate = (step + 1) % settings.evalEvery === 0 || step + 1 === settings.steps;
    if (evaluate) {
      let sum = 0;
      for (const batch of validation) sum += await model.evaluate(batch.tokens, batch.targets, settings.batch, T);
      entry.validationLoss = sum / validation.length;
      if (schedule.kind === 'plateau') plateau = plateauAfterEvaluation(schedule, plateau, entry.validationLoss);
    }
    log.entries.push(entry);
    events.step?.(entry, settings.steps);
    if (evaluate) {
      await save(step + 1);
      events.evaluation?.(entry);
    }
  }
  await events.finish?.(model, log);
  return log;
}

/** Training loss (a running mean, to see through batch noise) and validation loss, in bits per token. */
export function curvesSvg(log: TrainLog): string {
  const bits = (nats: number) => nats / Math.LN2;
  const smoothed: number[] = [];
  let mean = log.entries[0]?.loss ?? 0;
  for (const e of log.entries) smoothed.push(bits((mean = 0.9 * mean + 0.1 * e.loss)));
  const evaluated = log.entries.filter((e) => e.validationLoss !== undefined);
  const name = modelName(log.config);
  return lineChartSvg(
    [
      { name: 'train (running mean)', values: smoothed, x: log.entries.map((e) => e.step + 1) },
      { name: 'validation', values: evaluated.map((e) => bits(e.validationLoss!)), x: evaluated.map((e) => e.step + 1) },
    ],
    { title: `${name}, ${log.config.layers} layers x ${log.config.width}: training and validation loss in bits per token`, xLabel: 'step', yLabel: 'bits per token' },
  );
}
