// train(options), the library's trainer: defaults for what is left out, errors naming option
// fields (never CLI flags), a continued run taking the settings it may change and refusing the
// others by name, and an AbortSignal (Ctrl-C in the CLI) that stops with the step reached saved,
// from which the run resumes to the losses of a run never stopped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namingFields, train } from '../../src/train/api.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { TRAIN_DEFAULTS, type TrainLog } from '../../src/train/trainer.js';

const workdir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-api-'));
const data = join(workdir, 'corpus.txt');
writeFileSync(data, 'the quick brown fox jumps over the lazy dog. '.repeat(400));
process.env.XDG_CACHE_HOME = join(workdir, 'cache');
const SMALL = { data, context: 16, batch: 4, evalBatches: 2, backend: 'wasm' as const };

test('defaults fill what is left out; progress comes through callbacks', async () => {
  const out = join(workdir, 'defaults');
  const steps: number[] = [];
  const evaluations: number[] = [];
  const log = await train({ ...SMALL, steps: 6, evalEvery: 3, out, onStep: (entry) => steps.push(entry.step), onEvaluation: (entry) => evaluations.push(entry.step) });
  assert.equal(steps, [0, 1, 2, 3, 4, 5]);
  assert.equal(evaluations, [2, 5]);
  assert.is(log.settings.lr, TRAIN_DEFAULTS.lr);
  assert.is(log.settings.warmup, TRAIN_DEFAULTS.warmup);
  assert.is(log.settings.wavelet, 'haar');
  assert.is(log.config.context, 16);
  assert.is(loadCheckpoint(out).training.step, 6);
});

test('errors name the option fields, not CLI flags', async () => {
  const out = join(workdir, 'errors');
  const cases: [Parameters<typeof train>[0], RegExp][] = [
    [{ ...SMALL, steps: 0, out }, /^steps: expected a positive integer, found 0$/],
    [{ ...SMALL, steps: 2, microBatch: 3, out }, /^microBatch 3: expected a divisor of batch 4, or auto$/],
    [{ ...SMALL, steps: 2, evalEvery: 1.5, out }, /^evalEvery: expected a positive integer, found 1\.5$/],
    [{ ...SMALL, steps: 2, lora: 2, out }, /^lora: adapters change a trained model; give init CHECKPOINT/],
    [{ ...SMALL, steps: 2, freeze: ['nothing*'], out }, /^freeze 'nothing\*': matches no parameter/],
    [{ ...SMALL, data: join(workdir, 'missing.txt'), out }, /^data .*missing\.txt: no such file$/],
    [{ ...SMALL, stepz: 3, out } as never, /^train: 'stepz' is not an option \(the options: .*steps/],
  ];
  for (const [options, message] of cases) {
    const error = await train(options).then(() => undefined, (e: Error) => e);
    assert.ok(error, `${JSON.stringify(options)} is refused`);
    assert.match(error!.message, message);
    assert.not.match(error!.message, /--/, `no CLI flag in: ${error!.message}`);
  }
  assert.is(namingFields("--micro-batch 16 (or auto) splits; --memory-budget, '--min-lr' and --lr"), "microBatch 16 (or auto) splits; memoryBudget, 'minLr' and lr");
  assert.is(namingFields('a path/with--dashes stays'), 'a path/with--dashes stays');
});

test('an abort stops before the next step with that step saved; resumed, the run logs the losses of one never stopped', async () => {
  const settings = { ...SMALL, steps: 12, evalEvery: 100, seed: 3 };
  const whole = await train({ ...settings, out: join(workdir, 'whole') });
  const out = join(workdir, 'stopped');
  const controller = new AbortController();
  const reason = new Error('enough');
  const stopped = await train({ ...settings, out, signal: controller.signal, onStep: (entry) => entry.step === 4 && controller.abort(reason) }).then(() => undefined, (e: unknown) => e);
  assert.is(stopped, reason, "train() rejects with the signal's reason");
  assert.is(loadCheckpoint(out).training.step, 5, 'saved at the step reached, though no evaluation was due');
  // Given again, a continued run's other settings are refused by name; those it may change apply.
  const refused = await train({ resume: out, batch: 2 }).then(() => undefined, (e: Error) => e);
  assert.match(refused!.message, /^train: 'batch' cannot change a run being continued \(resume; its settings are in its checkpoint\); only steps, lr, minLr, backend, evalEvery, evalBatches may be given again$/);
  const resumed = await train({ resume: out, evalEvery: 6 });
  assert.is(resumed.settings.evalEvery, 6);
  const log = JSON.parse(readFileSync(join(out, 'log.json'), 'utf8')) as TrainLog;
  assert.equal(log.entries.map((e) => e.loss), whole.entries.map((e) => e.loss), 'the same losses, step for step');
  assert.equal(log.entries.filter((e) => e.validationLoss !== undefined).map((e) => e.step), [5, 11], 'evaluations at the new interval (and the last step)');
});

test('Ctrl-C in the CLI: the step reached is saved, exit status 130, and --resume continues', async () => {
  const out = join(workdir, 'interrupted');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--data', data, '--context', '16', '--batch', '4', '--eval-batches', '2', '--backend', 'wasm', '--sample', '0', '--steps', '1000000', '--eval-every', '1000000', '--out', out], { env: process.env });
  let stderr = '';
  let interrupted = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // once training has started (the backend is named before the first step), a moment into it; once
    if (/backend: /.test(stderr) && !interrupted) {
      interrupted = true;
      setTimeout(() => child.kill('SIGINT'), 500);
    }
  });
  const stuck = setTimeout(() => child.kill('SIGKILL'), 60_000); // a run that ignores Ctrl-C fails here, not at the suite's limit
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(stuck);
  assert.is(status, 130, stderr);
  assert.match(stderr, /wavelet-gpt: SIGINT: stopped; the run in .*interrupted is saved at the step it reached; continue it with --resume .*interrupted/);
  assert.ok(existsSync(join(out, 'checkpoint.safetensors')));
  const step = loadCheckpoint(out).training.step;
  assert.ok(step > 0 && step < 1000000, `saved at step ${step}`);
  assert.ok(!existsSync(join(out, '.lock')), 'the lock is released');
});

test.run();
