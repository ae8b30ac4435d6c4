// The same-performance step and speedup on synthetic curves whose answers are known in closed form.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { meanAndSpread, samePerformanceStep, summarize, type RunResult } from '../../src/replicate/spe.js';
import { mergeReplications } from '../../src/cli/replicate.js';
import type { ReplicationResults } from '../../src/replicate/harness.js';

// L(s) = 1 + 4 / s at steps 100, 200, ..., 1000: baseline final 1.004. A variant whose curve is the
// baseline's compressed in steps by a factor r reaches it at step 1000 r (to the evaluation grid).
const steps = Array.from({ length: 10 }, (_, i) => 100 * (i + 1));
const curve = (speed: number) => ({ steps, losses: steps.map((s) => 1 + 4 / (s * speed)) });
const run = (variant: string, seed: number, speed: number, msPerStep = 10): RunResult => ({ variant, seed, curve: curve(speed), msPerStep });

test('samePerformanceStep: the first evaluation at or below the target, null when never', () => {
  assert.is(samePerformanceStep(curve(1), 1 + 4 / 1000), 1000);
  assert.is(samePerformanceStep(curve(2), 1 + 4 / 1000), 500);
  assert.is(samePerformanceStep(curve(4), 1 + 4 / 1000), 300); // 1000 / 4 = 250 lies between evaluations
  assert.is(samePerformanceStep(curve(0.5), 1 + 4 / 1000), null);
  assert.is(samePerformanceStep({ steps: [5], losses: [2] }, 2), 5); // equal counts as reached
});

test('summarize: paired by seed, speedup 1 - SPS / N, spread over seeds, relative time', () => {
  const runs = [run('none', 1, 1), run('none', 2, 1), run('haar', 1, 2, 11), run('haar', 2, 4, 11), run('slow', 1, 0.5), run('slow', 2, 1)];
  const [none, haar, slow] = summarize(runs, 'none', 1000);
  assert.is(none.samePerformanceStep!.mean, 1000);
  assert.is(none.speedup!.mean, 0);
  assert.equal(haar.samePerformanceSteps, [500, 300]);
  assert.ok(Math.abs(haar.speedup!.mean - 0.6) < 1e-12); // (0.5 + 0.7) / 2
  assert.ok(Math.abs(haar.speedup!.spread - Math.SQRT1_2 * 0.2) < 1e-12);
  assert.ok(Math.abs(haar.relativeTime - 1.1) < 1e-12);
  assert.equal(slow.samePerformanceSteps, [null, 1000]);
  assert.is(slow.reached, 1);
  assert.ok(Math.abs(slow.finalLoss.mean - (1 + 8 / 1000 + 1 + 4 / 1000) / 2) < 1e-12);
});

test('summarize: a variant seed without its baseline seed is an error, not a silent mean', () => {
  assert.throws(() => summarize([run('none', 1, 1), run('haar', 2, 2)], 'none', 1000), /haar seed 2: no baseline run/);
  assert.throws(() => summarize([run('haar', 1, 2)], 'none', 1000), /no runs of the baseline 'none'/);
});

test('meanAndSpread: sample standard deviation', () => {
  assert.equal(meanAndSpread([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, spread: Math.sqrt(32 / 7) });
  assert.equal(meanAndSpread([3]), { mean: 3, spread: 0 });
  assert.is(meanAndSpread([]), null);
});

test('replications of other seeds pool into one comparison; a seed given twice is an error', () => {
  const base = { dataset: 'd', symbol: 'character', source: 's', preset: 'tiny', config: {} as ReplicationResults['config'], steps: 1000, batch: 2, evalEvery: 100, backend: 'js', baseline: 'none' as const, date: '' };
  const first: ReplicationResults = { ...base, seeds: [1], runs: [run('none', 1, 1), run('haar', 1, 2)], summaries: [] };
  const second: ReplicationResults = { ...base, seeds: [2], runs: [run('none', 2, 1), run('haar', 2, 4)], summaries: [] };
  const other: ReplicationResults = { ...base, dataset: 'e', seeds: [1], runs: [run('none', 1, 1)], summaries: [] };
  const merged = mergeReplications([first, other, second]);
  assert.is(merged.length, 2);
  assert.equal(merged[0].seeds, [1, 2]);
  assert.equal(merged[0].summaries, summarize([...first.runs, ...second.runs], 'none', 1000));
  assert.throws(() => mergeReplications([first, first]), /seed 1 of d appears in two of the folders given/);
});

test.run();
