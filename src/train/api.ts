// train(options): the trainer as a library function (from 'wavelet-gpt/node'). Every option may be
// left out (TRAIN_DEFAULTS, the CLI's defaults too); sizes are flat (`width`, not `sizes.width`);
// progress comes through callbacks; an AbortSignal stops the run with a checkpoint at the step it
// reached. Errors name these option fields: the trainer's messages name CLI flags, which are the
// same names kebab-cased, and are rewritten here at the boundary.
//
//   import { train } from 'wavelet-gpt/node';
//   const log = await train({ data: 'my.txt', steps: 500, out: 'runs/mine', onEvaluation: (e) => console.log(e) });

import { WaveletInputError } from '../errors.js';
import type { GPTConfig, WaveletLMConfig } from '../model/config.js';
import type { LoraSettings } from '../model/lora.js';
import { DEFAULT_LORA_TARGETS } from '../model/lora.js';
import { RESUME_OVERRIDES, runTraining, TRAIN_DEFAULTS, type LogEntry, type TrainEvents, type TrainLog, type TrainSettings } from './trainer.js';

type Sizes = Partial<Pick<GPTConfig, 'context' | 'layers' | 'width' | 'heads' | 'feedForward' | 'headDense'>> & Partial<Pick<WaveletLMConfig, 'levels' | 'mlpExpansion' | 'lowRank' | 'liftingSharing'>>;
const SIZE_FIELDS = ['context', 'layers', 'width', 'heads', 'feedForward', 'headDense', 'levels', 'mlpExpansion', 'lowRank', 'liftingSharing'] as const;

/** The options of train(): TrainSettings' fields, each optional, with the sizes flat, and how to run. */
export interface TrainingOptions extends Partial<Omit<TrainSettings, 'sizes' | 'lora'>>, Sizes {
  /** LoRA adapters of this rank (with `init`): the base frozen, DIR/adapter.safetensors written apart. `alpha` defaults to the rank, `targets` to attention and MLP. */
  lora?: number | Partial<LoraSettings> & { rank: number };
  /** Continue the run in this folder with its own settings; of the others only RESUME_OVERRIDES may be given (steps, lr, minLr, backend, evalEvery, evalBatches). */
  resume?: string;
  /** Replace a run already in `out` (refused otherwise). */
  overwrite?: boolean;
  /** Split each batch into micro-batches of this many sequences, or 'auto': the largest that fits. */
  microBatch?: number | 'auto';
  /** Bytes a training step may take. */
  memoryBudget?: number;
  /** The wasm backend's threads, or 'auto' (the default): timed 1, 2, 4, ... up to the processors here. */
  threads?: number | 'auto';
  /** Stops the run before its next step, after writing a checkpoint at the step reached (resume continues from it); train() then rejects with the signal's reason. */
  signal?: AbortSignal;
  onStart?: TrainEvents['start'];
  onStep?(entry: LogEntry, totalSteps: number): void;
  onEvaluation?(entry: LogEntry): void;
  /** The backend chooser is timing a backend (backend 'auto'). */
  onTiming?(message: string): void;
}

const RUN_FIELDS = ['resume', 'overwrite', 'microBatch', 'memoryBudget', 'threads', 'signal', 'onStart', 'onStep', 'onEvaluation', 'onTiming'];

/** Trains (or continues) a run as the options say; resolves to its log when the last step is done. */
export async function train(options: TrainingOptions = {}): Promise<TrainLog> {
  if (options === null || typeof options !== 'object') throw new WaveletInputError(`train: expected an options object, found ${JSON.stringify(options)}`);
  const settings = trainingSettings(options);
  const events: TrainEvents = { start: options.onStart, step: options.onStep, evaluation: options.onEvaluation, timing: options.onTiming };
  try {
    return await runTraining(settings, events, options.resume === undefined ? undefined : { dir: options.resume, overrides: resumeOverrides(options) }, {
      overwrite: options.overwrite,
      microBatch: options.microBatch,
      memoryBudget: options.memoryBudget,
      signal: options.signal,
      threads: options.threads,
    });
  } catch (error) {
    if (error instanceof WaveletInputError) error.message = namingFields(error.message);
    throw error;
  }
}

/** The settings of `options`, the defaults filled in; a field that is not an option is an error naming it. */
function trainingSettings(options: TrainingOptions): TrainSettings {
  const known = new Set<string>([...Object.keys(TRAIN_DEFAULTS), ...SIZE_FIELDS, ...RUN_FIELDS, 'data', 'wavelet', 'weightDecay', 'init', 'freeze', 'lora']);
  const unknown = Object.keys(options).find((field) => !known.has(field));
  if (unknown) throw new WaveletInputError(`train: '${unknown}' is not an option (the options: ${[...known].join(', ')})`);
  const architecture = options.architecture ?? TRAIN_DEFAULTS.architecture;
  const sizes: Sizes = {};
  for (const field of SIZE_FIELDS) if (options[field] !== undefined) (sizes as Record<string, unknown>)[field] = options[field];
  const lora = typeof options.lora === 'number' ? { rank: options.lora } : options.lora;
  return {
    ...TRAIN_DEFAULTS,
    wavelet: architecture === 'gpt' ? 'haar' : 'none',
    ...Object.fromEntries(Object.entries(options).filter(([field, value]) => value !== undefined && !RUN_FIELDS.includes(field) && !(SIZE_FIELDS as readonly string[]).includes(field))),
    sizes,
    lora: lora && { rank: lora.rank, alpha: lora.alpha ?? lora.rank, targets: lora.targets ?? DEFAULT_LORA_TARGETS },
  } as TrainSettings;
}

/** Of a continued run's options, those it takes; any other is refused by name. */
function resumeOverrides(options: TrainingOptions): Partial<TrainSettings> {
  const given = Object.keys(options).filter((field) => options[field as keyof TrainingOptions] !== undefined && !RUN_FIELDS.includes(field));
  const refused = given.find((field) => !(RESUME_OVERRIDES as readonly string[]).includes(field));
  if (refused) throw new WaveletInputError(`train: '${refused}' cannot change a run being continued (resume; its settings are in its checkpoint); only ${RESUME_OVERRIDES.join(', ')} may be given again`);
  return Object.fromEntries(given.map((field) => [field, options[field as keyof TrainingOptions]]));
}

/** A trainer message with its CLI flags written as these option fields: `--min-lr 0.1` -> `minLr 0.1`. */
export function namingFields(message: string): string {
  return message.replace(/(^|[\s(,;'"])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g, (_, before: string, flag: string) => before + flag.replace(/-([a-z0-9])/g, (__, c: string) => c.toUpperCase()));
}
