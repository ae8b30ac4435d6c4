// `wavelet-gpt replicate`, `wavelet-gpt data` and `wavelet-gpt replicate-report`: the paper's
// comparison on a dataset, the datasets it uses, and the Markdown report of several comparisons.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readCheckpointAt } from '../train/checkpoint.js';
import { loadCorpus } from '../train/data.js';
import { datasetNames, DATASETS, prepareDataset, saveDataset } from '../data/datasets.js';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { replicate, VARIANTS, type ReplicationResults, type Variant } from '../replicate/harness.js';
import { replicationMarkdown } from '../replicate/report.js';
import { summarize } from '../replicate/spe.js';
import { flagsUsage, type Flag, type Options } from './options.js';
import { TRAIN_FLAGS, trainSettings } from './train.js';

/** What replicate sets itself, of train's flags: the data, the variants' architecture and wavelets, the seeds, the output. */
const SET_BY_REPLICATE = ['data', 'tokenizer', 'architecture', 'wavelet', 'seed', 'out', 'resume', 'sample', 'temperature'];
const LONGER = { steps: 1000, 'eval-every': 100 } as Record<string, number>;

export const REPLICATE_FLAGS: readonly Flag[] = [
  { name: 'dataset', value: 'NAME|FILE', help: `required: ${datasetNames().join(', ')}, or a text file` },
  { name: 'dataset-size', value: 'N', type: 'integer', min: 1, help: "the dataset's size where it has one (e.g. the number of examples)" },
  { name: 'variants', value: 'LIST', default: VARIANTS.join(','), help: "the GPT's wavelet forms (none: the baseline) and wavelet-lm, a WaveletLM of the baseline's parameter count" },
  { name: 'seeds', value: 'N', type: 'integer', min: 1, default: 3, help: 'seeds a variant' },
  { name: 'first-seed', value: 'S', type: 'integer', default: 1, help: 'the first seed (others run in another command pool with it)' },
  { name: 'out', value: 'DIR', help: 'where the results go (default runs/replicate/DATASET)' },
  ...TRAIN_FLAGS.filter((f) => !SET_BY_REPLICATE.includes(f.name)).map((f) => (f.name in LONGER ? { ...f, default: LONGER[f.name] } : f)),
];

export const REPLICATE_USAGE = `${flagsUsage(
  'replicate --dataset NAME|FILE [options]',
  "trains each variant from the same initial weights on the same data order for each seed; writes\nDIR/results.json, DIR/results.md (the paper's table: SPE, speedup), DIR/curves.svg; killed midway,\nthe same command continues",
  REPLICATE_FLAGS,
)}
  replicate-report DIR... [--out FILE] [--title TEXT]
        one Markdown report (e.g. bench/REPLICATION.md) from replicate outputs`;

export const DATA_FLAGS: readonly Flag[] = [
  { name: 'out', value: 'DIR', help: 'required: the dataset folder to write' },
  { name: 'dataset-size', value: 'N', type: 'integer', min: 1, help: "the dataset's size where it has one" },
  { name: 'checkpoint', value: 'RUN', help: "a text FILE: tokenize it with this run's tokenizer (what a run continued elsewhere, in PyTorch, must read)" },
  { name: 'tokenizer', value: 'char|byte|FILE.json', help: 'a text FILE without --checkpoint: its tokenizer (default char)' },
];

export const DATA_USAGE = flagsUsage(
  'data NAME|FILE --out DIR [--dataset-size N] [--checkpoint RUN | --tokenizer KIND]',
  `a dataset folder (tokens and tokenizer) that train --data and the PyTorch trainer (python/) read:\na named dataset (${datasetNames().join(', ')}),\nor a text FILE tokenized by a run's tokenizer`,
  DATA_FLAGS,
);

/** A text file tokenized into a dataset folder: with a run's tokenizer, the tokens and split that run trains on. */
async function prepareText(path: string, out: string, options: Options): Promise<void> {
  const run = options.string('checkpoint');
  if (run && options.has('tokenizer')) throw new WaveletInputError('data: --checkpoint RUN tokenizes with that run\'s tokenizer; leave --tokenizer out');
  if (options.has('dataset-size')) throw new WaveletInputError(`data ${path}: --dataset-size is for a named dataset; a text file is taken whole`);
  const saved = run ? readCheckpointAt(run, 'data --checkpoint').tokenizer : undefined;
  const kind = options.string('tokenizer') ?? 'char';
  const corpus = await loadCorpus(path, kind, 1, saved);
  const source = `${path}, tokenized by ${run ? `the tokenizer of ${run}` : `--tokenizer ${kind}`}`;
  saveDataset(out, { name: basename(path), symbol: corpus.symbol, source, tokenizer: corpus.tokenizer, train: corpus.train, validation: corpus.validation });
  console.error(`${path}: ${corpus.train.length.toLocaleString('en')} training and ${corpus.validation.length.toLocaleString('en')} validation ${corpus.symbol}s (${source}) -> ${out}`);
}

export async function runReplicate(options: Options): Promise<void> {
  const dataset = options.string('dataset');
  if (!dataset) throw new WaveletInputError(`replicate: --dataset is required: one of ${datasetNames().join(', ')}, or a text file`);
  const out = options.string('out') ?? join('runs', 'replicate', dataset.replace(/[^\w.-]+/g, '_'));
  const variants = options.string('variants')!.split(',') as Variant[];
  const { data: _data, wavelet: _wavelet, seed: _seed, out: _out, ...training } = trainSettings(options);
  const started = performance.now();
  const results = await replicate(
    { dataset, datasetSize: options.has('dataset-size') ? options.number('dataset-size') : undefined, variants, seeds: options.number('seeds'), firstSeed: options.number('first-seed'), training, out },
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

export async function runData(name: string | undefined, options: Options): Promise<void> {
  const isFile = !!name && !DATASETS[name] && existsSync(name) && statSync(name).isFile();
  if (!name || (!DATASETS[name] && !isFile)) throw new WaveletInputError(`data: expected a dataset name, one of ${datasetNames().join(', ')}, or a text file; found '${name ?? ''}'`);
  const out = options.string('out');
  if (!out) throw new WaveletInputError('data: --out DIR is required (the dataset folder to write)');
  if (isFile) return prepareText(name, out, options);
  for (const flag of ['checkpoint', 'tokenizer']) if (options.has(flag)) throw new WaveletInputError(`data ${name}: --${flag} is for a text file; a named dataset has its own tokenizer`);
  const dataset = await prepareDataset(name, { size: options.has('dataset-size') ? options.number('dataset-size') : undefined });
  saveDataset(out, dataset);
  const per = dataset.exampleLength === undefined ? 1 : dataset.exampleLength + 1; // classification: rows of inputs and a class
  const count = (tokens: number) => (tokens / per).toLocaleString('en');
  console.error(`${name}: ${count(dataset.train.length)} training and ${count(dataset.validation.length)} validation ${dataset.symbol}s (${dataset.source}) -> ${out}`);
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

const DEFAULT_REPORT_TITLE = "Replicating WaveletGPT's sample efficiency";

/** `replicate-report DIR... [--out FILE] [--title TEXT]`: folders, then the two options in any order. */
export function runReplicateReport(args: string[]): void {
  const dirs: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (!flag.startsWith('--')) {
      dirs.push(flag);
      continue;
    }
    if (flag !== '--out' && flag !== '--title') throw new WaveletInputError(`replicate-report: unknown option ${flag}: expected --out FILE or --title TEXT`);
    if (args[i + 1] === undefined || args[i + 1].startsWith('--')) throw new WaveletInputError(`replicate-report: ${flag} needs a value`);
    options[flag.slice(2)] = args[++i];
  }
  const { out, title = DEFAULT_REPORT_TITLE } = options;
  if (dirs.length === 0) throw new WaveletInputError('replicate-report: name at least one replicate output folder');
  const all = dirs.map((dir) => {
    try {
      return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ReplicationResults;
    } catch (error) {
      throw new WaveletInputError(`${join(dir, 'results.json')}: ${(error as Error).message}; run wavelet-gpt replicate into ${dir} first`);
    }
  });
  const command = `wavelet-gpt replicate-report ${dirs.join(' ')}${title === DEFAULT_REPORT_TITLE ? '' : ` --title '${title}'`}`;
  const text = `# ${title}\n\nRegenerated by \`${command}\`.\n\n${replicationMarkdown(mergeReplications(all))}`;
  if (out) writeFileAtomic(out, text);
  else console.log(text);
}
