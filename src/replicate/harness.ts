// `wavelet-gpt replicate`: the baseline and the wavelet variants trained on one dataset with the
// same initial weights (shared tensors draw the same numbers: parameters.ts), the same data order
// and the same schedule (both from the seed), evaluated on the same held-out crops; for each seed.
// The variant 'wavelet-lm' is the other architecture: a WaveletLM of the baseline's depth and
// context whose width is chosen to match the baseline's parameter count, on the same data and steps.
// Each run is an ordinary training run in its own folder, so a harness killed midway continues:
// finished runs are read back, a run with a checkpoint resumes from it, the rest start.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataset, DATASETS } from '../data/datasets.js';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { CHECKPOINT_FILE, loadCheckpoint } from '../train/checkpoint.js';
import { checkConfig, isWaveletLM, waveletLmPresetConfig, WAVELET_LM_PRESETS, type GPTConfig, type WaveletLMConfig } from '../model/config.js';
import { parameterLayout } from '../model/parameters.js';
import { runTraining, WAVELET_LM_ONLY, type LogEntry, type TrainLog, type TrainSettings } from '../train/trainer.js';
import { replicationMarkdown, replicationSvg } from './report.js';
import { summarize, type RunResult, type VariantSummary } from './spe.js';

/** The GPT's wavelet forms ('none': the baseline), and the WaveletLM architecture. */
export const VARIANTS = ['none', 'haar', 'learnable', 'ema', 'wavelet-lm'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ReplicateSettings {
  /** A dataset name (src/data/datasets.ts) or a text file (character level). */
  dataset: string;
  /** Material cap handed to the dataset's preparer (speech: characters read). */
  datasetSize?: number;
  variants: Variant[];
  seeds: number;
  /** The first seed (the seeds are firstSeed .. firstSeed + seeds - 1); 1 unless given. */
  firstSeed?: number;
  training: Omit<TrainSettings, 'data' | 'wavelet' | 'seed' | 'out'>;
  out: string;
}

export interface ReplicationResults {
  dataset: string;
  symbol: string;
  source: string;
  preset: string;
  config: TrainLog['config'];
  steps: number;
  batch: number;
  evalEvery: number;
  backend: string;
  baseline: Variant;
  seeds: number[];
  summaries: VariantSummary[];
  runs: RunResult[];
  date: string;
}

export interface ReplicateEvents {
  runStart?(info: { variant: Variant; seed: number; index: number; total: number; resumedFrom: number }): void;
  step?(info: { variant: Variant; seed: number; entry: LogEntry; steps: number }): void;
}

function checkReplicateSettings(s: ReplicateSettings): void {
  if (!s.variants.includes('none')) throw new WaveletInputError(`--variants: the baseline 'none' must be among them (found ${s.variants.join(',')}): every speedup is measured against it`);
  for (const v of s.variants) if (!VARIANTS.includes(v)) throw new WaveletInputError(`--variants: expected some of ${VARIANTS.join(', ')}, found '${v}'`);
  if (new Set(s.variants).size !== s.variants.length) throw new WaveletInputError(`--variants: '${s.variants.join(',')}' names a variant twice`);
  if (!Number.isInteger(s.seeds) || s.seeds < 1) throw new WaveletInputError(`--seeds: expected a positive integer, found ${s.seeds}`);
  if (s.firstSeed !== undefined && !Number.isInteger(s.firstSeed)) throw new WaveletInputError(`--first-seed: expected an integer, found ${s.firstSeed}`);
}

/** The run's log if it finished all `steps`, else undefined. */
function finishedLog(dir: string, steps: number): TrainLog | undefined {
  const path = join(dir, 'log.json');
  if (!existsSync(path) || !existsSync(join(dir, CHECKPOINT_FILE))) return undefined;
  const log = JSON.parse(readFileSync(path, 'utf8')) as TrainLog;
  const last = log.entries[log.entries.length - 1];
  return last && last.step + 1 >= steps && last.validationLoss !== undefined ? log : undefined;
}

function checkpointStep(dir: string): number {
  return loadCheckpoint(dir).training.step;
}

function runResult(variant: Variant, seed: number, log: TrainLog): RunResult {
  const evaluated = log.entries.filter((e) => e.validationLoss !== undefined);
  const tokensPerStep = log.settings.batch * log.settings.accumulate * log.config.context;
  const ms = log.entries.map((e) => (1000 * tokensPerStep) / e.tokensPerSecond).sort((a, b) => a - b);
  return {
    variant,
    seed,
    curve: { steps: evaluated.map((e) => e.step + 1), losses: evaluated.map((e) => e.validationLoss!) },
    msPerStep: ms[ms.length >> 1],
    parameters: parameterLayout(log.config).count,
  };
}

/**
 * The WaveletLM compared with a GPT: the GPT's vocabulary, context and depth, the levels, rank and
 * sharing of `shape`, and the width and MLP expansion whose parameter count is nearest the GPT's,
 * among sane shapes: the width within a factor 2 of the GPT's, the expansion from 1 to twice the
 * shape's (unbounded, the search would pick a width of 1 and an MLP thousands wide). The width
 * moves the count in jumps (the wavelet part pads it to a power of two, and the mixers' weights
 * double at each one), so the match is near, not exact: the report gives both counts.
 * Ties go to the expansion of `shape`.
 */
export function matchedWaveletLM(gpt: GPTConfig, shape: Omit<WaveletLMConfig, 'architecture' | 'vocabSize' | 'context' | 'layers' | 'width'>): WaveletLMConfig {
  const target = parameterLayout(gpt).count;
  let best: { config: WaveletLMConfig; gap: number } | undefined;
  for (let width = Math.ceil(gpt.width / 2); width <= 2 * gpt.width; width++) {
    for (let mlpExpansion = 1; mlpExpansion <= 2 * shape.mlpExpansion; mlpExpansion++) {
      const config = checkConfig<WaveletLMConfig>({ architecture: 'wavelet-lm', ...shape, vocabSize: gpt.vocabSize, context: gpt.context, layers: gpt.layers, width, mlpExpansion });
      const gap = Math.abs(parameterLayout(config).count - target);
      if (!best || gap < best.gap || (gap === best.gap && mlpExpansion === shape.mlpExpansion)) best = { config, gap };
    }
  }
  return best!.config;
}

/** runTraining()'s settings of one run of a variant; the WaveletLM's are matched to the baseline's config. */
function variantSettings(settings: ReplicateSettings, variant: Variant, data: string, seed: number, dir: string, baseline: TrainLog | undefined): TrainSettings {
  const training = { ...settings.training, data, tokenizer: 'char' as const, seed, out: dir };
  const sizes = { ...settings.training.sizes };
  const ownSizes: Record<string, unknown> = {};
  for (const field of Object.keys(WAVELET_LM_ONLY) as (keyof typeof WAVELET_LM_ONLY)[]) {
    if (field in sizes) ownSizes[field] = sizes[field];
    delete sizes[field];
  }
  if (variant !== 'wavelet-lm') return { ...training, architecture: 'gpt', wavelet: variant, sizes };
  if (!baseline || isWaveletLM(baseline.config)) throw new Error('replicate: the WaveletLM is sized after the baseline, which runs first');
  const preset = settings.training.preset in WAVELET_LM_PRESETS ? settings.training.preset : 'tiny';
  const { architecture: _a, vocabSize: _v, context: _c, layers: _l, width: _w, ...shape } = waveletLmPresetConfig(preset, ownSizes as Partial<WaveletLMConfig>);
  const matched = matchedWaveletLM(baseline.config, shape);
  const { vocabSize: _vocab, architecture: _arch, ...matchedSizes } = matched;
  return { ...training, architecture: 'wavelet-lm', preset, wavelet: 'none', sizes: matchedSizes };
}

export async function replicate(settings: ReplicateSettings, events: ReplicateEvents = {}): Promise<ReplicationResults> {
  checkReplicateSettings(settings);
  const { out } = settings;
  let data = settings.dataset;
  let symbol = 'character';
  let source = settings.dataset;
  if (DATASETS[settings.dataset]) {
    data = join(out, 'dataset');
    const dataset = await ensureDataset(settings.dataset, data, { size: settings.datasetSize });
    [symbol, source] = [dataset.symbol, dataset.source];
  } else if (!existsSync(settings.dataset)) {
    throw new WaveletInputError(`--dataset ${settings.dataset}: neither a dataset (${Object.keys(DATASETS).join(', ')}) nor a file`);
  }
  const seeds = Array.from({ length: settings.seeds }, (_, i) => i + (settings.firstSeed ?? 1));
  const runs: RunResult[] = [];
  let config: TrainLog['config'] | undefined;
  let index = 0;
  const total = seeds.length * settings.variants.length;
  // The baseline first: the WaveletLM is sized after it.
  const variants = [...settings.variants].sort((a, b) => Number(b === 'none') - Number(a === 'none'));
  for (const seed of seeds) {
    let baseline: TrainLog | undefined;
    for (const variant of variants) {
      index++;
      const dir = join(out, 'runs', `${variant}-seed${seed}`);
      let log = finishedLog(dir, settings.training.steps);
      if (!log) {
        const resumable = existsSync(join(dir, CHECKPOINT_FILE));
        const resumedFrom = resumable ? checkpointStep(dir) : 0;
        events.runStart?.({ variant, seed, index, total, resumedFrom });
        const runSettings = variantSettings(settings, variant, data, seed, dir, baseline);
        const onStep = { step: (entry: LogEntry) => events.step?.({ variant, seed, entry, steps: settings.training.steps }) };
        log = resumable ? await runTraining(runSettings, onStep, { dir, overrides: { steps: settings.training.steps } }) : await runTraining(runSettings, onStep, undefined, { overwrite: true }); // a run of its own that never reached a checkpoint
      }
      if (variant === 'none') baseline = log;
      config ??= log.config;
      runs.push(runResult(variant, seed, log));
    }
  }
  const results: ReplicationResults = {
    dataset: settings.dataset,
    symbol,
    source,
    preset: settings.training.preset,
    config: config!,
    steps: settings.training.steps,
    batch: settings.training.batch,
    evalEvery: settings.training.evalEvery,
    backend: settings.training.backend,
    baseline: 'none',
    seeds,
    summaries: summarize(runs, 'none', settings.training.steps),
    runs,
    date: new Date().toISOString(),
  };
  writeFileAtomic(join(out, 'results.json'), JSON.stringify(results, null, 1));
  writeFileAtomic(join(out, 'results.md'), replicationMarkdown([results]));
  writeFileAtomic(join(out, 'curves.svg'), replicationSvg(results));
  return results;
}
