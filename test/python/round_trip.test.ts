// A run's round trip through PyTorch, on the CPU: trained here, its text tokenized by its own
// tokenizer (`data FILE --checkpoint RUN`), continued by the PyTorch trainer on one process and
// on two (the environment torchrun gives each process; Debian's torch 1.13 launcher itself
// fails on Python 3.11), with the same losses at the same global batch; then continued here by
// `train --resume`, and its greedy continuation equal to PyTorch's for the same weights.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultCorpusText } from '../../src/data/corpus.js';
import { createModel } from '../../src/backends/registry.js';
import { parseCheckpoint } from '../../src/io/checkpoint.js';
import { parameterLayout } from '../../src/model/parameters.js';
import { torchPython } from './python.js';

const CLI = resolve('dist/cli/main.js');
const python = torchPython();
const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-round-trip-'));
const at = (...parts: string[]) => join(dir, ...parts);
const cli = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Summary { world_size: number; losses: number[]; validation_loss: number; steps: [number, number] }

/** The trainer on `world` processes, each given the environment torchrun gives it; the summary rank 0 writes. */
async function torchTrain(world: number, out: string): Promise<Summary> {
  const port = await freePort();
  const children: ChildProcess[] = [];
  const runs = Array.from({ length: world }, (_, rank) => new Promise<void>((done, fail) => {
    const env = { ...python.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), OMP_NUM_THREADS: '1' };
    const args = ['-m', 'wavelet_gpt.train', '--from', at('mine'), '--data', at('data'), '--steps', '14', '--eval-every', '7', '--device', 'cpu', '--out', at(out), '--summary', at(`${out}.json`)];
    const child = spawn(python.command, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`rank ${rank} of ${world} exited ${code}: ${stderr}`))));
  }));
  // One process failing leaves the others waiting for it: end them all.
  await Promise.all(runs).catch((error: Error) => {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  });
  return JSON.parse(readFileSync(at(`${out}.json`), 'utf8')) as Summary;
}

/** A TCP port free on this machine now, for the processes' rendezvous. */
function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a run continued in PyTorch on 1 and 2 processes (same losses), resumed here, generating what PyTorch generates', async () => {
  writeFileSync(at('my.txt'), defaultCorpusText().slice(0, 30_000));
  cli('train', '--data', 'my.txt', '--steps', '6', '--eval-every', '6', '--batch', '4', '--backend', 'wasm', '--threads', '1', '--out', 'mine');
  cli('data', 'my.txt', '--checkpoint', 'mine', '--out', 'data');

  const [one, two] = [await torchTrain(1, 'torch1'), await torchTrain(2, 'torch2')];
  assert.equal(one.steps, [6, 14]);
  assert.is(two.world_size, 2);
  one.losses.forEach((loss, i) => assert.ok(Math.abs(loss - two.losses[i]) < 1e-5, `step ${6 + i}: ${loss} on one process, ${two.losses[i]} on two`));
  assert.ok(Math.abs(one.validation_loss - two.validation_loss) < 1e-5, 'validation loss');
  assert.ok(one.losses.at(-1)! < one.losses[0], `the loss falls in PyTorch: ${one.losses.join(', ')}`);

  // Continued here from PyTorch's checkpoint and log.
  cli('train', '--resume', 'torch2', '--steps', '16', '--backend', 'js');
  const log = JSON.parse(readFileSync(at('torch2', 'log.json'), 'utf8')) as { entries: { step: number }[] };
  assert.equal(log.entries.map((e) => e.step), Array.from({ length: 16 }, (_, i) => i), 'one log: 6 steps here, 8 in PyTorch, 2 here');

  // Greedy continuations of the same weights: PyTorch's (full forward passes) and ours (the cached decoder).
  const { config, parameters } = parseCheckpoint(readFileSync(at('torch1', 'checkpoint.safetensors')), 'torch1');
  const prompt = [5, 9, 1, 7];
  const theirs = JSON.parse(execFileSync(python.command, ['-m', 'wavelet_gpt.generate', '--checkpoint', at('torch1'), '--tokens', prompt.join(','), '--max-tokens', '30'], { env: python.env, encoding: 'utf8' })) as number[];
  const model = await createModel('js', { config, layout: parameterLayout(config), parameters });
  const decoder = await model.decoder(1);
  const ours: number[] = [];
  let logits: Float32Array = new Float32Array();
  for (const token of prompt) logits = await decoder.step([token]);
  for (let i = 0; i < 30; i++) {
    const next = logits.indexOf(Math.max(...logits));
    ours.push(next);
    logits = await decoder.step([next]);
  }
  model.dispose();
  assert.equal(ours, theirs);
});

test('the PyTorch trainer refuses bad input in one line, naming it', () => {
  const run = (...args: string[]) => spawnSync(python.command, ['-m', 'wavelet_gpt.train', ...args], { cwd: dir, env: python.env, encoding: 'utf8' });
  const missing = run('--from', 'nowhere', '--data', 'data');
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /^wavelet_gpt\.train: nowhere: no such file\n$/);
  const notData = run('--from', 'mine', '--data', 'mine', '--steps', '99');
  assert.is(notData.status, 2);
  assert.match(notData.stderr, /mine: no dataset\.json; prepare the folder with `npx wavelet-gpt data/);
  const done = run('--from', 'mine', '--data', 'data', '--steps', '3');
  assert.match(done.stderr, /the run is at step 6 of 3; give --steps above 6/);
});

test('data FILE refuses flags that do not apply to a text file, naming them', () => {
  const stderr = (...args: string[]) => spawnSync(process.execPath, [CLI, 'data', ...args], { cwd: dir, encoding: 'utf8' }).stderr;
  assert.match(stderr('my.txt', '--out', 'd2', '--dataset-size', '3'), /--dataset-size is for a named dataset; a text file is taken whole/);
  assert.match(stderr('my.txt', '--out', 'd2', '--checkpoint', 'nowhere'), /data --checkpoint nowhere: no such file/);
  assert.match(stderr('my.txt', '--out', 'd2', '--checkpoint', 'mine', '--tokenizer', 'byte'), /leave --tokenizer out/);
  assert.match(stderr('text8-moby', '--out', 'd2', '--tokenizer', 'byte'), /--tokenizer is for a text file; a named dataset has its own tokenizer/);
});

test.run();
