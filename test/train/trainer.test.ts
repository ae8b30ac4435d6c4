// The trainer end to end through the CLI, as a user runs it: loss falls; a run killed with
// SIGKILL and resumed logs the same losses as one never stopped; bad input is one line and
// damages nothing; a diverging run stops with its last checkpoint intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { LOCK_FILE } from '../../src/train/run_folder.js';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainLog } from '../../src/train/trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { parameterLayout, slice } from '../../src/model/parameters.js';
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
    [['train', '--steps', 'many'], /--steps: expected an integer >= 1, found 'many'/],
    [['train', '--data', corpus, '--width', '30', '--heads', '4'], /width 30 is not a multiple of heads 4/],
    [['train', '--frobnicate', '1'], /unknown option '--frobnicate'/],
    [['train', '--resume', truncated], /truncated: tensor '.*' ends at byte \d+, the file has \d+/],
    [['train', '--resume', notSafetensors], /not a safetensors file or truncated/],
    [['train', '--resume', otherConfig], /tensor '.*' is (missing|of \d+ values), the config needs \d+/],
    [['train', '--resume', run, '--data', corpus], /train --resume: --data cannot change a run being continued/],
    [['train', '--stepz', '3'], /unknown option '--stepz' \(did you mean --steps\?\)/],
    [['trian'], /unknown command 'trian' \(did you mean train\?\)/],
    [['train', '--steps=three'], /--steps: expected an integer >= 1, found 'three'/],
    [['train', '--architecture', 'wavelet-lm', '--heads', '4', '--data', corpus], /--heads: a size of the GPT architecture, not of wavelet-lm/],
    [['train', '--architecture', 'wavelet-lm', '--wavelet', 'haar', '--data', corpus], /--wavelet haar: WaveletLM has its own wavelets/],
    [['train', '--levels', '3', '--data', corpus], /--levels: a size of the WaveletLM architecture, not of gpt/],
    [['train', '--optimizer', 'sgd', '--data', corpus], /--optimizer: expected adamw or adagrad, found 'sgd'/],
    [['train', '--weight-decay=-1', '--data', corpus], /--weight-decay: expected a number >= 0, found '-1'/],
    [['train', '--weight-decay', '-1', '--data', corpus], /train: option '--weight-decay' is followed by a dash; a value starting with one is written --weight-decay=VALUE/],
    [['train', '--steps'], /train: option '--steps' needs a value \(N\)/],
    [['train', 'stray'], /train: unexpected argument 'stray'; options are written --name value/],
    // numbers are checked before any work: these used to fail after the whole training, or never
    [['train', '--data', corpus, '--temperature=-1'], /--temperature: expected a number >= 0, found '-1'/],
    [['train', '--data', corpus, '--sample', 'abc'], /--sample: expected an integer >= 0, found 'abc'/],
    [['train', '--data', corpus, '--eval-batches', 'abc', '--out', join(workdir, 'never')], /--eval-batches: expected an integer >= 1, found 'abc'/],
    [['quantize', '--checkpoint', run, '--out', join(workdir, 'q.safetensors'), '--batch', '0'], /--batch: expected an integer >= 1, found '0'/],
    [['generate', '--checkpoint', run, '--prompt', 'a', '--seed', '1.5'], /--seed: expected an integer, found '1.5'/],
    [['generate', '--checkpoint', run, '--prompt', 'a', '--stream=maybe'], /--stream: a switch/],
    // paths that are not a run's folder, or files that are not to be replaced
    [['train', '--data', corpus, '--out', ''], /--out: expected a folder, found an empty path/],
    [['train', '--data', corpus, '--out', '/dev/null'], /--out \/dev\/null: not a folder/],
    [['train', '--data', corpus, '--out', corpus], /not a folder/],
    [['train', ...SMALL, '--out', run], /--out .*: holds a run \(trained to step \d+\).*--resume .*--overwrite/],
    [['train', '--resume', run, '--steps', '1'], /the run is already at step \d+ of 1; give --steps above/],
    [['quantize', '--checkpoint', run, '--out', join(workdir, 'missing', 'q.safetensors')], /the folder .*missing does not exist/],
    [['quantize', '--checkpoint', run, '--out', join(workdir, 'copy.safetensors')], /a training checkpoint \(it holds an optimizer's state\) is there/],
    [['train', '--resume', run, '--optimizer', 'adagrad'], /--optimizer cannot change a run being continued/],
    [['quantize', '--checkpoint', run, '--out', checkpoint], /that is the run's own checkpoint/],
    [['train', '--resume', join(workdir, 'nowhere')], /--resume .*nowhere: no checkpoint.safetensors there/],
  ];
  copyFileSync(checkpoint, join(workdir, 'copy.safetensors'));
  for (const [args, message] of cases) {
    const result = cli(args);
    assert.is(result.status, 2, `${args.join(' ')}: exit code\n${result.stderr}`);
    const lines = result.stderr.trim().split('\n').filter((line) => line.startsWith('wavelet-gpt:'));
    assert.is(lines.length, 1, `${args.join(' ')}: one error line\n${result.stderr}`);
    assert.match(lines[0], message);
    assert.not.match(result.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.ok(readFileSync(checkpoint).equals(before), 'the earlier checkpoint is untouched');
  assert.ok(readFileSync(join(workdir, 'copy.safetensors')).equals(before), 'the copy is untouched');
  assert.not.ok(existsSync(join(workdir, 'never')), '--eval-batches abc wrote nothing');
  assert.equal(readdirSync(workdir).filter((name) => name.endsWith('.tmp')), [], 'no temporary file left');
});

test('a run is claimed: --overwrite replaces it, a live lock keeps a second process out, a dead one is taken over with its temporary files', () => {
  const run = join(workdir, 'claimed');
  assert.is(cli(['train', ...SMALL, '--steps', '2', '--eval-every', '2', '--out', run]).status, 0);
  const replaced = cli(['train', ...SMALL, '--steps', '3', '--eval-every', '3', '--out', run, '--overwrite']);
  assert.is(replaced.status, 0, replaced.stderr);
  assert.match(replaced.stderr, /replaced at the first evaluation \(--overwrite\)/);
  assert.is(readLog(run).entries.length, 3, 'the new run\'s log');
  assert.not.ok(existsSync(join(run, LOCK_FILE)), 'the lock is gone after the run');

  // A lock held by a live process (this test's): refused, nothing written.
  const before = readFileSync(join(run, 'checkpoint.safetensors'));
  writeFileSync(join(run, LOCK_FILE), `${process.pid} ${hostname()}`);
  const second = cli(['train', '--resume', run, '--steps', '5']);
  assert.is(second.status, 2);
  assert.match(second.stderr, new RegExp(`in use by process ${process.pid}`));
  assert.ok(readFileSync(join(run, 'checkpoint.safetensors')).equals(before));

  // The lock and a full-size temporary file of a killed process (no such pid): taken over, removed.
  const dead = 2 ** 22 + 17; // above Linux's default pid_max
  writeFileSync(join(run, LOCK_FILE), `${dead} ${hostname()}`);
  writeFileSync(join(run, `.checkpoint.safetensors.${dead}.tmp`), before);
  writeFileSync(join(run, 'log.json'), '{"entries": [');  // damaged: the checkpoint alone carries the run
  const resumed = cli(['train', '--resume', run, '--steps', '5', '--sample', '0']);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`took over the lock of process ${dead}, which is gone`));
  assert.match(resumed.stderr, /removed 1 temporary file of a killed run/);
  assert.match(resumed.stderr, /log\.json is damaged .* the log restarts at step 3, the checkpoint is intact/);
  assert.equal(readdirSync(run).filter((name) => name.startsWith('.')), []);
  assert.equal(readLog(run).entries.map((e) => e.step), [3, 4]);
});

test('--micro-batch splits each batch into micro-batches: the same losses and validation as the whole batch', () => {
  const whole = join(workdir, 'unsplit'), split = join(workdir, 'split'), auto = join(workdir, 'split-auto');
  const args = ['train', ...SMALL, '--steps', '3', '--eval-every', '3', '--warmup', '0'];
  const first = cli([...args, '--out', whole]);
  assert.is(first.status, 0, first.stderr);
  const result = cli([...args, '--out', split, '--micro-batch', '2']);
  assert.is(result.status, 0, result.stderr);
  const [a, b] = [readLog(whole), readLog(split)];
  assert.equal([b.settings.batch, b.settings.accumulate, b.settings.evalBatches], [2, 2, 4], 'stored as the split');
  a.entries.forEach((entry, i) => {
    const other = b.entries[i];
    assert.ok(Math.abs(entry.loss - other.loss) < 1e-5 * entry.loss, `step ${i}: loss ${entry.loss} vs ${other.loss}`);
    assert.ok(Math.abs(entry.gradNorm - other.gradNorm) < 1e-4 * entry.gradNorm, `step ${i}: gradient norm ${entry.gradNorm} vs ${other.gradNorm}`);
  });
  assert.ok(Math.abs(a.entries[2].validationLoss! - b.entries[2].validationLoss!) < 1e-5, 'validation on the same crops');
  // auto: the whole batch fits this small model, so it is not split
  assert.is(cli([...args, '--out', auto, '--micro-batch', 'auto']).status, 0);
  assert.equal([readLog(auto).settings.batch, readLog(auto).settings.accumulate], [4, 1]);
  const odd = cli([...args, '--out', join(workdir, 'odd'), '--micro-batch', '3']);
  assert.is(odd.status, 2);
  assert.match(odd.stderr, /--micro-batch 3: expected a divisor of --batch 4, or auto/);
  const tight = cli([...args, '--out', join(workdir, 'tight'), '--memory-budget', '0.0002']);
  assert.is(tight.status, 2);
  assert.match(tight.stderr, /wavelet-gpt: a step at batch 4 \(context 16\) needs [\d.]+ MiB on wasm .* the memory budget \(--memory-budget\) is 0\.2 MiB; (--micro-batch \d|not even one)/);
});

test('--init fine-tunes: the weights, model and tokenizer of a checkpoint (lean ones too), a fresh optimizer, the new data encoded by the old tokenizer', () => {
  const base = join(workdir, 'base'), tuned = join(workdir, 'tuned'), fresh = join(workdir, 'fresh'), lean = join(workdir, 'lean.safetensors');
  const other = join(workdir, 'other.txt');
  writeFileSync(other, 'the lazy dog jumps over the quick brown fox. '.repeat(300));
  assert.is(cli(['train', ...SMALL, '--steps', '60', '--eval-every', '60', '--lr', '1e-2', '--out', base]).status, 0);
  const args = ['train', '--data', other, '--batch', '4', '--eval-batches', '2', '--sample', '0', '--backend', 'wasm', '--steps', '10', '--eval-every', '10'];
  const run = cli([...args, '--init', base, '--out', tuned]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /starting from the weights of .*base \(trained 60 steps\), with a fresh optimizer/);
  const [before, after] = [readLog(base), readLog(tuned)];
  assert.equal(after.config, before.config, "the checkpoint's model");
  assert.ok(after.entries[0].loss < 0.6 * Math.log(before.config.vocabSize), `the first loss on the new text, ${after.entries[0].loss}, is a trained model's, not a fresh one's (ln V = ${Math.log(before.config.vocabSize)})`);
  assert.is(loadCheckpoint(tuned).optimizer.t, 10, 'a fresh optimizer: 10 steps, not 70');
  // from scratch on the same new text, the first loss is about ln V
  assert.is(cli([...args, '--context', '16', '--out', fresh]).status, 0);
  assert.ok(readLog(fresh).entries[0].loss > 0.9 * Math.log(readLog(fresh).config.vocabSize));
  // a lean (weights-only, float16) export is a starting point too
  assert.is(cli(['export', '--checkpoint', base, '--out', lean, '--dtype', 'float16']).status, 0);
  assert.is(cli([...args, '--init', lean, '--out', join(workdir, 'tuned-lean')]).status, 0);
  for (const [extra, message] of [
    [['--width', '64'], /train --init: --width cannot change the model being fine-tuned/],
    [['--tokenizer', 'byte'], /train --init: --tokenizer cannot change the model/],
    [['--init', join(workdir, 'nowhere')], /--init .*nowhere: no such file/],
  ] as const) {
    const refused = cli([...args, ...(extra[0] === '--init' ? extra : ['--init', base, ...extra]), '--out', join(workdir, 'refused')]);
    assert.is(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, message);
  }
  // the old tokenizer meets the new data: a character it lacks becomes its unknown symbol (its policy), never silently a new id
  writeFileSync(other, 'zebras quiz vexing jocks! '.repeat(300));
  const unknown = cli([...args, '--init', base, '--out', join(workdir, 'tuned-unknown')]);
  assert.is(unknown.status, 0, unknown.stderr);
});

test('--lora R trains adapters alone: the base bit for bit, DIR/adapter.safetensors apart, generation with --adapter equal to the run merged; --freeze keeps what it names', () => {
  const base = join(workdir, 'base'), lora = join(workdir, 'lora'), merged = join(workdir, 'merged.safetensors'), frozen = join(workdir, 'frozen');
  const other = join(workdir, 'other-lora.txt');
  writeFileSync(other, 'the lazy dog jumps over the quick brown fox. '.repeat(300));
  const args = ['train', '--data', other, '--batch', '4', '--eval-batches', '2', '--sample', '0', '--backend', 'wasm', '--steps', '20', '--eval-every', '20', '--lr', '1e-2'];
  const run = cli([...args, '--init', base, '--lora', '4', '--out', lora]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /training [\d,]+ of [\d,]+ parameters \(\d+ tensors frozen: the base model, under LoRA adapters\)/);
  assert.match(run.stderr, /with LoRA adapters of rank 4/);
  const [before, after] = [loadCheckpoint(base), loadCheckpoint(lora)];
  assert.equal(after.config.lora, { rank: 4, alpha: 4, targets: ['*.qkv.w', '*.proj.w', '*.fc.w', '*.fcproj.w'] });
  assert.equal(Array.from(after.parameters.subarray(0, before.parameters.length)), Array.from(before.parameters), 'the base weights, bit for bit');
  const log = readLog(lora);
  assert.ok(log.entries.at(-1)!.validationLoss! < log.entries[0].loss, `the adapters learn: ${log.entries[0].loss} -> ${log.entries.at(-1)!.validationLoss}`);
  const adapter = join(lora, 'adapter.safetensors');
  assert.ok(readFileSync(adapter).length < readFileSync(join(lora, 'checkpoint.safetensors')).length / 10, 'the adapters alone, a small file');
  // Generation: the base with the adapter file, the run itself and its merged export say the same.
  const generate = (checkpoint: string, ...extra: string[]) => cli(['generate', '--checkpoint', checkpoint, ...extra, '--prompt', 'the ', '--max-tokens', '40', '--temperature', '0', '--backend', 'wasm']);
  const withAdapter = generate(base, '--adapter', adapter);
  assert.is(withAdapter.status, 0, withAdapter.stderr);
  assert.is(generate(lora).stdout, withAdapter.stdout);
  assert.is(cli(['export', '--checkpoint', lora, '--out', merged]).status, 0);
  assert.is(generate(merged).stdout, withAdapter.stdout);
  assert.match(generate(lora, '--adapter', adapter).stderr, /has adapters of its own; merge them first/);
  // --freeze: the named tensors unchanged, the rest trained
  assert.is(cli([...args, '--init', base, '--freeze', 'wte,wpe,h0.*', '--out', frozen]).status, 0);
  const layout = parameterLayout(before.config);
  const tuned = loadCheckpoint(frozen).parameters;
  for (const t of layout.tensors) {
    const same = slice(tuned, layout, t.name).every((v, i) => v === slice(before.parameters, layout, t.name)[i]);
    assert.is(same, t.name === 'wte' || t.name === 'wpe' || t.name.startsWith('h0.'), `${t.name} ${same ? 'unchanged' : 'trained'}`);
  }
  for (const [extra, message] of [
    [['--lora', '4', '--context', '16'], /--lora: adapters change a trained model; give --init CHECKPOINT/],
    [['--init', base, '--lora-alpha', '8'], /--lora-alpha sets the LoRA adapters of --lora R; give --lora too/],
    [['--init', base, '--freeze', 'nope*'], /--freeze 'nope\*': matches no parameter of the model/],
    [['--init', base, '--lora', '2', '--lora-targets', 'wte'], /LoRA target 'wte' is not the weight of a linear layer/],
    [['--init', base, '--freeze', '*'], /freezes every parameter; nothing would train/],
  ] as const) {
    const refused = cli([...args, ...extra, '--out', join(workdir, 'refused-lora')]);
    assert.is(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, message);
  }
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
