// The replication harness end to end on a small text: every variant starts from the same shared
// weights; a harness stopped midway continues to the results an uninterrupted one gives; the
// outputs (results.json, the table, the plot) are written; WaveletLM is compared at the
// baseline's parameter count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, type GPTConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { matchedWaveletLM, replicate, type ReplicateSettings } from '../../src/replicate/harness.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { runReplicateReport } from '../../src/cli/replicate.js';

const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-replicate-'));
const text = join(dir, 'text.txt');
writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(60));

const settings = (out: string, steps: number): ReplicateSettings => ({
  dataset: text,
  variants: ['none', 'haar', 'learnable'],
  seeds: 2,
  out,
  training: {
    tokenizer: 'char', preset: 'tiny', sizes: { context: 16, layers: 2, width: 8, heads: 2, feedForward: 8, headDense: 8 }, backend: 'js',
    steps, batch: 2, accumulate: 1, lr: 3e-3, minLr: 1e-4, warmup: 0, schedule: 'cosine', evalEvery: 1, evalBatches: 1,
  },
});

test('shared tensors start equal across variants: the wavelet forms add taps and draw no numbers', () => {
  const base = { vocabSize: 11, context: 16, layers: 2, width: 8, heads: 2, feedForward: 8, headDense: 8 };
  const baseline = checkConfig({ ...base, wavelet: null });
  const learnable = checkConfig({ ...base, wavelet: { form: 'learnable' } });
  const [a, b] = [parameterLayout(baseline), parameterLayout(learnable)];
  const [pa, pb] = [initialParameters(baseline, a, 4), initialParameters(learnable, b, 4)];
  for (const tensor of a.tensors) {
    const other = b.byName.get(tensor.name)!;
    assert.equal(pb.subarray(other.offset, other.offset + other.size), pa.subarray(tensor.offset, tensor.offset + tensor.size), tensor.name);
  }
});

test('a replication stopped midway continues to what an uninterrupted one gives', async () => {
  const whole = await replicate(settings(join(dir, 'whole'), 4));
  const out = join(dir, 'stopped');
  // Stop in the third run (learnable, seed 1) after its second step: its checkpoint holds step 1.
  let stopped = false;
  await replicate(settings(out, 4), {
    step: ({ variant, entry }) => {
      if (variant === 'learnable' && entry.step === 2) throw new Error('stopped');
    },
  }).catch((error: Error) => (stopped = error.message === 'stopped'));
  assert.ok(stopped, 'the first call was stopped');
  assert.is(loadCheckpoint(join(out, 'runs', 'learnable-seed1')).training.step, 2);
  const started: string[] = [];
  const resumed = await replicate(settings(out, 4), { runStart: ({ variant, seed, resumedFrom }) => started.push(`${variant}-${seed}@${resumedFrom}`) });
  assert.equal(started, ['learnable-1@2', 'none-2@0', 'haar-2@0', 'learnable-2@0'], 'finished runs are read back, the stopped one resumes');
  assert.equal(resumed.runs.map((r) => r.curve), whole.runs.map((r) => r.curve));
  assert.equal(resumed.summaries.map((s) => s.finalLoss), whole.summaries.map((s) => s.finalLoss));
  for (const file of ['results.json', 'results.md', 'curves.svg']) assert.ok(existsSync(join(out, file)), file);
  const table = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(table, /\| Modality \| Baseline \| Proposed \| Variant \| Parameters \| SPE \| Speedup \| Reached \| ms a step \| Relative time \|/);
  assert.match(table, /Haar \(fixed\)/);
  assert.match(readFileSync(join(out, 'curves.svg'), 'utf8'), /^<svg/);
});

test('the WaveletLM is sized to the GPT: its depth and context, the width and MLP expansion whose parameter count is nearest', () => {
  const shape = { levels: 3, mlpExpansion: 2, lowRank: 4, liftingSharing: 'shared' as const };
  for (const gpt of [checkConfig<GPTConfig>({ vocabSize: 84, context: 64, layers: 2, width: 32, heads: 4, feedForward: 64, headDense: 64, wavelet: null }), checkConfig<GPTConfig>({ vocabSize: 27, context: 128, layers: 4, width: 64, heads: 4, feedForward: 256, headDense: 0, wavelet: null })]) {
    const matched = matchedWaveletLM(gpt, shape);
    assert.equal([matched.layers, matched.context, matched.vocabSize], [gpt.layers, gpt.context, gpt.vocabSize]);
    const target = parameterLayout(gpt).count;
    const gap = (width: number, mlpExpansion: number) => Math.abs(parameterLayout(checkConfig({ ...matched, width, mlpExpansion })).count - target);
    // Sane: the width within a factor 2 of the GPT's, the expansion at most twice the shape's.
    assert.ok(matched.width >= gpt.width / 2 && matched.width <= 2 * gpt.width && matched.mlpExpansion >= 1 && matched.mlpExpansion <= 2 * shape.mlpExpansion, `width ${matched.width}, expansion ${matched.mlpExpansion}`);
    // Nearest among those: no neighbour in either direction is nearer.
    const found = gap(matched.width, matched.mlpExpansion);
    for (const [dw, dm] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
      const [width, m] = [matched.width + dw, matched.mlpExpansion + dm];
      if (width >= gpt.width / 2 && width <= 2 * gpt.width && m >= 1 && m <= 2 * shape.mlpExpansion) assert.ok(found <= gap(width, m), `width ${width}, expansion ${m} is nearer`);
    }
  }
});

test('replicate compares the architectures: a WaveletLM run beside the baseline, parameters and time a step reported', async () => {
  const out = join(dir, 'architectures');
  const results = await replicate({ ...settings(out, 3), variants: ['wavelet-lm', 'none'], seeds: 1 });
  assert.equal(results.runs.map((r) => r.variant), ['none', 'wavelet-lm'], 'the baseline runs first');
  const lm = loadCheckpoint(join(out, 'runs', 'wavelet-lm-seed1')).config;
  assert.is(lm.architecture, 'wavelet-lm');
  assert.equal([lm.layers, lm.context], [2, 16]);
  const [base, wavelet] = results.summaries;
  assert.ok(Math.abs(wavelet.parameters! - base.parameters!) < 0.5 * base.parameters!, `${wavelet.parameters} against ${base.parameters} parameters`);
  const table = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(table, new RegExp(`\\| WaveletLM \\(matched parameters\\) \\| ${wavelet.parameters!.toLocaleString('en')} \\|`));
  assert.match(table, new RegExp(`${base.parameters!.toLocaleString('en')} parameters, [\\d.]+ ms a step`));
  // The report of it, titled: the same table, and the command that regenerates it.
  const report = join(dir, 'ARCHITECTURES.md');
  runReplicateReport([out, '--title', 'Architectures compared', '--out', report]);
  const text = readFileSync(report, 'utf8');
  assert.ok(text.startsWith(`# Architectures compared\n\nRegenerated by \`wavelet-gpt replicate-report ${out} --title 'Architectures compared'\`.`), text.slice(0, 200));
  assert.ok(text.includes(table.trim()), 'the report holds the run\'s table');
  assert.throws(() => runReplicateReport([out, '--bogus', 'x']), /replicate-report: unknown option --bogus: expected --out FILE or --title TEXT/);
  assert.throws(() => runReplicateReport([out, '--out']), /replicate-report: --out needs a value/);
});

test('bad settings: no baseline, an unknown variant, a dataset that is neither name nor file', async () => {
  const out = join(dir, 'bad');
  await rejects(() => replicate({ ...settings(out, 2), variants: ['haar'] }), /the baseline 'none' must be among them/);
  await rejects(() => replicate({ ...settings(out, 2), variants: ['none', 'wavy' as 'haar'] }), /expected some of none, haar, learnable, ema, wavelet-lm, found 'wavy'/);
  await rejects(() => replicate({ ...settings(out, 2), dataset: 'no-such-dataset' }), /neither a dataset \(text8-moby.*\) nor a file/);
});

async function rejects(work: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await work().then(() => undefined, (e: Error) => e);
  assert.ok(error, `expected a rejection matching ${pattern}`);
  assert.match(error!.message, pattern);
}

test.run();
