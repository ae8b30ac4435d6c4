// The trainer end to end through the CLI, as a user runs it: loss falls; a run killed with
// SIGKILL and resumed logs the same losses as one never stopped; bad input is one line and
// damages nothing; a diverging run stops with its last checkpoint intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainLog } from '../../src/train/trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import type { GPTConfig } from '../../src/model/config.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const workdir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-train-'));
const corpus = join(workdir, 'corpus.txt');
writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(400));
const SMALL = ['--data', corpus, '--context', '16', '--batch', '4', '--eval-batches', '2', '--sample', '0', '--backend', 'wasm'];

// The chooser's cache in this run's folder: nothing measured before (or by another checkout) is reused.
const env = { ...process.env, XDG_CACHE_HOME: join(workdir, 'cache') };
function cli(args: string[]) {
  return spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env });
}
const readLog = (dir: string) => JSON.parse(readFileSync(join(dir, 'log.json'), 'utf8')) as TrainLog;

test('the loss falls on a small text, at a free size, and a sample is printed', () => {
  const out = join(workdir, 'falls');
  const run = cli(['train', ...SMALL, '--steps', '60', '--eval-every', '20', '--lr', '1e-2', '--out', out, '--sample', '40', '--layers', '3', '--width', '24', '--heads', '2']);
  assert.is(run.status, 0, run.stderr);
  const log = readLog(out);
  const first = log.entries[0].loss;
  const last = log.entries[log.entries.length - 1];
  assert.ok(last.loss < 0.5 * first, `train loss ${first} -> ${last.loss}`);
  assert.ok(last.validationLoss! < 0.5 * first, `validation ${last.validationLoss}`);
  assert.match(run.stdout, /--- sample \(40 tokens\) ---/);
  assert.ok(existsSync(join(out, 'curves.svg')) && existsSync(join(out, 'checkpoint.safetensors')));
  const config = log.config as GPTConfig;
  assert.equal([config.layers, config.width, config.heads, config.context, config.architecture], [3, 24, 2, 16, undefined]);
});

test('WaveletLM from the command line: the loss falls, a resumed run continues, generate and quantize read its checkpoint', () => {
  const out = join(workdir, 'wavelet-lm');
  // trained with Adagrad, as its authors train it
  const args = ['train', '--architecture', 'wavelet-lm', '--optimizer', 'adagrad', '--data', corpus, '--context', '16', '--batch', '4', '--eval-batches', '2', '--sample', '0', '--lr', '1e-2', '--out', out];
  const first = cli([...args, '--steps', '40', '--eval-every', '20']);
  assert.is(first.status, 0, first.stderr);
  assert.match(first.stderr, /WaveletLM: 2 layers x 32, 3 lifting levels \(4 scales\)/);
  assert.match(first.stderr, /backend: (wasm|webgpu): [\d.]+ ms a step of this model at batch 4/);
  const resumed = cli(['train', '--resume', out, '--steps', '60']);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming at step 40/);
  const log = readLog(out);
  assert.is(log.config.architecture, 'wavelet-lm');
  assert.is(log.settings.optimizer, 'adagrad');
  const { optimizer } = loadCheckpoint(out);
  assert.equal([optimizer.kind, optimizer.t, Object.keys(optimizer.slots)], ['adagrad', 60, ['sum']], 'the checkpoint holds Adagrad\'s state');
  assert.is(log.entries.length, 60);
  assert.ok(log.entries[59].validationLoss! < 0.6 * log.entries[0].loss, `validation ${log.entries[59].validationLoss} against the first loss ${log.entries[0].loss}`);
  const generated = cli(['generate', '--checkpoint', out, '--prompt', 'the quick', '--max-tokens', '12', '--temperature', '0']);
  assert.is(generated.status, 0, generated.stderr);
  assert.match(generated.stdout, /^the quick.{12}\n$/s);
  const quantized = cli(['quantize', '--checkpoint', out, '--out', join(workdir, 'wavelet-lm-int8.safetensors'), '--eval-batches', '2']);
  assert.is(quantized.status, 0, quantized.stderr);
  const cost = JSON.parse(quantized.stdout) as { validation_bits_per_symbol: { float32: number; int8: number } };
  assert.ok(Math.abs(cost.validation_bits_per_symbol.int8 - cost.validation_bits_per_symbol.float32) < 0.05, JSON.stringify(cost));
});

test('killed with SIGKILL and resumed, a run logs the same losses as one never stopped', async () => {
  const args = [...SMALL, '--steps', '300', '--eval-every', '10', '--wavelet', 'learnable'];
  const whole = join(workdir, 'whole');
  assert.is(cli(['train', ...args, '--out', whole]).status, 0);

  const killed = join(workdir, 'killed');
  const child = spawn(process.execPath, [...CLI, 'train', ...args, '--out', killed], { stdio: 'ignore', env });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  while (!existsSync(join(killed, 'checkpoint.safetensors'))) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  const atKill = readLog(killed).entries.length;
  assert.ok(atKill < 300, `killed before the end (${atKill} steps logged)`);

  const resumed = cli(['train', '--resume', killed, '--sample', '0']);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming at step \d+/);
  const a = readLog(whole).entries;
  const b = readLog(killed).entries;
  assert.is(b.length, a.length);
  for (let i = 0; i < a.length; i++) {
    assert.is(b[i].loss, a[i].loss, `step ${i} train loss`);
    assert.is(b[i].validationLoss, a[i].validationLoss, `step ${i} validation loss`);
  }
});

test('bad input: one line naming the problem, exit code 2, nothing already written damaged', () => {
  const run = join(workdir, 'bad');
  assert.is(cli(['train', ...SMALL, '--steps', '4', '--eval-every', '2', '--out', run]).status, 0);
  const checkpoint = join(run, 'checkpoint.safetensors');
  const before = readFileSync(checkpoint);
  const empty = join(workdir, 'empty.txt');
  writeFileSync(empty, '');
  const short = join(workdir, 'short.txt');
  writeFileSync(short, 'too short for a context of sixteen');
  const truncated = join(workdir, 'truncated');
  const notSafetensors = join(workdir, 'not-safetensors');
  const otherConfig = join(workdir, 'other-config');
  for (const [dir, bytes] of [
    [truncated, before.subarray(0, before.length - 100)],
    [notSafetensors, new TextEncoder().encode('{"this is": "json, not safetensors"}')],
    [otherConfig, Buffer.from(before.toString('latin1').replace('\\"layers\\":2', '\\"layers\\":3'), 'latin1')],
  ] as const) {
    spawnSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'checkpoint.safetensors'), bytes);
  }
  const cases: [string[], RegExp][] = [
    [['train', '--data', join(workdir, 'missing.txt')], /--data .*missing.txt: no such file/],
    [['train', '--data', empty], /--data .*empty.txt: the file is empty/],
    [['train', '--data', short, '--context', '16'], /tokens are too few for a context of 16/],
    [['train', '--preset', 'enormous', '--data', corpus], /unknown preset 'enormous': expected one of paper-text8, tiny/],
    [['train', '--backend', 'tpu', '--data', corpus], /--backend: expected auto, webgpu, wasm or js, found 'tpu'/],
    [['train', '--steps', 'many'], /--steps: expected a number, found 'many'/],
    [['train', '--data', corpus, '--width', '30', '--heads', '4'], /width 30 is not a multiple of heads 4/],
    [['train', '--frobnicate', '1'], /unknown option '--frobnicate'/],
    [['train', '--resume', truncated], /truncated: tensor '.*' ends at byte \d+, the file has \d+/],
    [['train', '--resume', notSafetensors], /not a safetensors file or truncated/],
    [['train', '--resume', otherConfig], /tensor '.*' is (missing|of \d+ values), the config needs \d+/],
    [['train', '--resume', run, '--data', corpus], /train --resume: --data cannot change a run being continued/],
    [['train', '--stepz', '3'], /unknown option '--stepz' \(did you mean --steps\?\)/],
    [['train', '--steps=three'], /--steps: expected a number, found 'three'/],
    [['train', '--architecture', 'wavelet-lm', '--heads', '4', '--data', corpus], /--heads: a size of the GPT architecture, not of wavelet-lm/],
    [['train', '--architecture', 'wavelet-lm', '--wavelet', 'haar', '--data', corpus], /--wavelet haar: WaveletLM has its own wavelets/],
    [['train', '--levels', '3', '--data', corpus], /--levels: a size of the WaveletLM architecture, not of gpt/],
    [['train', '--optimizer', 'sgd', '--data', corpus], /--optimizer: expected adamw or adagrad, found 'sgd'/],
    [['train', '--weight-decay', '-1', '--data', corpus], /--weight-decay: expected a number >= 0, found -1/],
    [['train', '--resume', run, '--optimizer', 'adagrad'], /--optimizer cannot change a run being continued/],
    [['quantize', '--checkpoint', run, '--out', checkpoint], /that is the run's own checkpoint/],
    [['train', '--resume', join(workdir, 'nowhere')], /--resume .*nowhere: no checkpoint.safetensors there/],
  ];
  for (const [args, message] of cases) {
    const result = cli(args);
    assert.is(result.status, 2, `${args.join(' ')}: exit code\n${result.stderr}`);
    const lines = result.stderr.trim().split('\n').filter((line) => line.startsWith('wavelet-gpt:'));
    assert.is(lines.length, 1, `${args.join(' ')}: one error line\n${result.stderr}`);
    assert.match(lines[0], message);
    assert.not.match(result.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.ok(readFileSync(checkpoint).equals(before), 'the earlier checkpoint is untouched');
});

test('a diverging run stops at the NaN with its last checkpoint intact', () => {
  const run = join(workdir, 'diverge');
  assert.is(cli(['train', ...SMALL, '--steps', '4', '--eval-every', '4', '--out', run]).status, 0);
  const before = readFileSync(join(run, 'checkpoint.safetensors'));
  const result = cli(['train', '--resume', run, '--steps', '40', '--lr', '1e38', '--sample', '0']);
  assert.is(result.status, 2, result.stderr);
  assert.match(result.stderr, /wavelet-gpt: step \d+: the loss is (NaN|Infinity).*training diverged; the last checkpoint in .* is intact; resume from it with a lower --lr/);
  assert.ok(readFileSync(join(run, 'checkpoint.safetensors')).equals(before), 'checkpoint untouched');
});

test.run();
