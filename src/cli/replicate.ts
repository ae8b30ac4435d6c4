// `wavelet-gpt replicate`, `wavelet-gpt data` and `wavelet-gpt replicate-report`: the paper's
// comparison on a dataset, the datasets it uses, and the Markdown report of several comparisons.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetNames, DATASETS, prepareDataset, saveDataset } from '../data/datasets.js';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { replicate, VARIANTS, type ReplicationResults, type Variant } from '../replicate/harness.js';
import { replicationMarkdown } from '../replicate/report.js';
import { summarize } from '../replicate/spe.js';
import { number, trainSettings } from './train.js';

export const REPLICATE_OPTIONS = [
  'dataset', 'dataset-size', 'variants', 'seeds', 'first-seed', 'preset', 'context', 'layers', 'width', 'heads', 'feed-forward', 'head-dense', 'backend', 'steps', 'batch', 'accumulate', 'lr', 'min-lr',
  'warmup', 'schedule', 'eval-every', 'eval-batches', 'out',
];

export const REPLICATE_USAGE = `  replicate --dataset NAME|FILE [--variants none,haar,learnable,ema] [--seeds 3] [--first-seed 1] [--preset tiny] [--steps N]
        [--out DIR] [the training options of train: --batch, --lr, --eval-every, --backend, sizes ...]
                           trains each variant from the same initial weights on the same data order for
                           each seed; writes DIR/results.json, DIR/results.md (the paper's table: SPE,
                           speedup), DIR/curves.svg; killed midway, the same command continues
                           datasets: ${datasetNames().join(', ')}
  data NAME --out DIR [--dataset-size N]
                           prepares a dataset folder (tokens and tokenizer) that train --data reads
  replicate-report DIR... [--out FILE]
                           one Markdown report (e.g. bench/REPLICATION.md) from replicate outputs`;

export async function runReplicate(options: Record<string, string>): Promise<void> {
  if (!options.dataset) throw new WaveletInputError(`replicate: --dataset is required: one of ${datasetNames().join(', ')}, or a text file`);
  const out = options.out ?? join('runs', 'replicate', options.dataset.replace(/[^\w.-]+/g, '_'));
  const variants = (options.variants ?? VARIANTS.join(',')).split(',') as Variant[];
  const { data: _data, wavelet: _wavelet, seed: _seed, out: _out, ...training } = trainSettings({ steps: '1000', 'eval-every': '100', ...options });
  const started = performance.now();
  const results = await replicate(
    { dataset: options.dataset, datasetSize: options['dataset-size'] ? number(options, 'dataset-size', 0) : undefined, variants, seeds: number(options, 'seeds', 3), firstSeed: number(options, 'first-seed', 1), training, out },
    {
      runStart: ({ variant, seed, index, total, resumedFrom }) =>
        console.error(`[${index}/${total}] ${variant}, seed ${seed}${resumedFrom ? `: resuming at step ${resumedFrom}` : ''} (${((performance.now() - started) / 1e3).toFixed(0)} s so far)`),
      step: ({ entry, steps }) => {
        if (entry.validationLoss !== undefined) console.error(`  step ${entry.step + 1}/${steps}: validation ${entry.validationLoss.toFixed(4)} nats, ${entry.tokensPerSecond.toLocaleString('en')} tok/s`);
      },
    },
  );
  console.log(replicationMarkdown([results]));
  console.error(`wrote ${out}/results.json, ${out}/results.md, ${out}/curves.svg`);
}

export async function runData(name: string | undefined, options: Record<string, string>): Promise<void> {
  if (!name || !DATASETS[name]) throw new WaveletInputError(`data: expected a dataset name, one of ${datasetNames().join(', ')}; found '${name ?? ''}'`);
  if (!options.out) throw new WaveletInputError('data: --out DIR is required (the dataset folder to write)');
  const dataset = await prepareDataset(name, { size: options['dataset-size'] ? number(options, 'dataset-size', 0) : undefined });
  saveDataset(options.out, dataset);
  const per = dataset.exampleLength === undefined ? 1 : dataset.exampleLength + 1; // classification: rows of inputs and a class
  const count = (tokens: number) => (tokens / per).toLocaleString('en');
  console.error(`${name}: ${count(dataset.train.length)} training and ${count(dataset.validation.length)} validation ${dataset.symbol}s (${dataset.source}) -> ${options.out}`);
}

/**
 * Replications of one setting (dataset, model, steps, batch, schedule of evaluations, backend)
 * made by separate commands on other seeds (--first-seed) are one comparison: their runs are
 * pooled and summarized again, each seed still held to its own baseline.
 */
export function mergeReplications(all: ReplicationResults[]): ReplicationResults[] {
  const groups = new Map<string, ReplicationResults>();
  for (const r of all) {
    const key = JSON.stringify([r.dataset, r.config, r.steps, r.batch, r.evalEvery, r.backend]);
    const seen = groups.get(key);
    if (!seen) {
      groups.set(key, { ...r, runs: [...r.runs], seeds: [...r.seeds] });
      continue;
    }
    const twice = r.seeds.filter((seed) => seen.seeds.includes(seed));
    if (twice.length) throw new WaveletInputError(`replicate-report: seed ${twice.join(', ')} of ${r.dataset} appears in two of the folders given; give each seed once`);
    seen.runs.push(...r.runs);
    seen.seeds.push(...r.seeds);
    seen.seeds.sort((a, b) => a - b);
    seen.summaries = summarize(seen.runs, seen.baseline, seen.steps);
  }
  return [...groups.values()];
}

export function runReplicateReport(dirs: string[], out: string | undefined): void {
  if (dirs.length === 0) throw new WaveletInputError('replicate-report: name at least one replicate output folder');
  const all = dirs.map((dir) => {
    try {
      return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ReplicationResults;
    } catch (error) {
      throw new WaveletInputError(`${join(dir, 'results.json')}: ${(error as Error).message}; run wavelet-gpt replicate into ${dir} first`);
    }
  });
  const text = `# Replicating WaveletGPT's sample efficiency\n\nRegenerated by \`wavelet-gpt replicate-report ${dirs.join(' ')}\`.\n\n${replicationMarkdown(mergeReplications(all))}`;
  if (out) writeFileAtomic(out, text);
  else console.log(text);
}
