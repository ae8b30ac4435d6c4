// Half-precision weights: every float16 and bfloat16 bit pattern reads back and writes again as
// itself; float32 values round to the nearest half value (ties to even), checked against the
// definition (no representable value is nearer); a safetensors file of F16 or BF16 tensors, as
// PyTorch saves them, reads as float32; the CLI writes lean checkpoints that load and generate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from '../../src/io/half.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { SeededRandom } from '../../src/model/random.js';

for (const [name, bits, value] of [['float16', float16Bits, float16Value], ['bfloat16', bfloat16Bits, bfloat16Value]] as const) {
  test(`${name}: all 65,536 bit patterns read and write back as themselves`, () => {
    for (let b = 0; b < 65536; b++) {
      const v = value(b);
      if (Number.isNaN(v)) assert.ok(Number.isNaN(value(bits(v))), `${b}: NaN stays NaN`);
      else assert.is(bits(v), b, `bits ${b} (${v})`);
    }
  });

  test(`${name}: float32 values round to the nearest representable value, ties to even`, () => {
    const random = new SeededRandom(name.length);
    const f32 = new Float32Array(1);
    for (let n = 0; n < 20000; n++) {
      // values across the whole range, subnormals included
      f32[0] = (random.next() - 0.5) * 2 ** (random.below(60) - 30);
      const x = f32[0];
      const b = bits(x);
      const rounded = value(b);
      if (!Number.isFinite(rounded)) continue; // past the largest value: infinity, checked below
      for (const neighbour of [(b + 1) & 0xffff, (b - 1) & 0xffff]) {
        const other = value(neighbour);
        if (!Number.isFinite(other) || Math.sign(other) !== Math.sign(rounded) && other !== 0) continue;
        const [d, e] = [Math.abs(x - rounded), Math.abs(x - other)];
        assert.ok(d < e || (d === e && (b & 1) === 0), `${x}: ${rounded} (bits ${b}) while ${other} is as near or nearer`);
      }
    }
  });
}

test('float16 edges: the largest value, overflow to infinity, the smallest subnormal, ties', () => {
  assert.is(float16Value(float16Bits(65504)), 65504);
  assert.is(float16Value(float16Bits(65519)), 65504);
  assert.is(float16Value(float16Bits(65520)), Infinity); // halfway to the next power: ties to even, which is infinity
  assert.is(float16Value(float16Bits(2 ** -24)), 2 ** -24);
  assert.is(float16Value(float16Bits(2 ** -25)), 0); // halfway between 0 and 2^-24: to even, 0
  assert.is(float16Value(float16Bits(1.5 * 2 ** -25)), 2 ** -24);
  assert.is(float16Value(float16Bits(1 + 2 ** -11)), 1); // halfway: to even
  assert.is(float16Value(float16Bits(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.is(Object.is(float16Value(float16Bits(-0)), -0), true);
  assert.is(bfloat16Value(bfloat16Bits(1 + 2 ** -8)), 1);
  assert.is(bfloat16Value(bfloat16Bits(3.0e38)), 1.765625 * 2 ** 127); // 3e38 = 1.7632 x 2^127: 98/128 the nearest eighth-bit mantissa
});

test('safetensors: F16 and BF16 tensors write at two bytes a value and read as float32', () => {
  const data = Float32Array.from([0.1, -2.5, 65504, 1e-6, 3.14159]);
  for (const type of ['F16', 'BF16'] as const) {
    const bytes = writeSafetensors([{ name: 'w', shape: [5], data }], { kind: 'test' }, type);
    const read = readSafetensors(bytes);
    const back = read.tensors.get('w')!.data as Float32Array;
    assert.instance(back, Float32Array);
    const [bits, value] = type === 'F16' ? [float16Bits, float16Value] : [bfloat16Bits, bfloat16Value];
    assert.equal(Array.from(back), Array.from(data, (v) => value(bits(v))));
    assert.is(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))))).w.dtype, type);
  }
});

test('quantize --dtype f16 and export --dtype bfloat16|float32: a weights-only checkpoint at a sixth or a third of the training one, nearly as good, that generates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-half-'));
  writeFileSync(join(dir, 'corpus.txt'), 'the quick brown fox jumps over the lazy dog. '.repeat(300));
  const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env });
  const run = join(dir, 'run');
  const trained = cli(['train', '--data', join(dir, 'corpus.txt'), '--context', '16', '--batch', '4', '--steps', '30', '--eval-every', '30', '--eval-batches', '2', '--sample', '0', '--backend', 'wasm', '--out', run]);
  assert.is(trained.status, 0, trained.stderr);
  const full = statSync(join(run, 'checkpoint.safetensors')).size;
  // quantize with the short names; export (float32 by default) with the long ones
  for (const [command, dtypeFlag, dtype, fraction] of [['quantize', ['--dtype', 'f16'], 'f16', 1 / 6], ['export', ['--dtype', 'bfloat16'], 'bf16', 1 / 6], ['export', [], 'f32', 1 / 3]] as const) {
    const out = join(dir, `${command}-${dtype}.safetensors`);
    const made = cli([command, '--checkpoint', run, '--out', out, ...dtypeFlag, '--eval-batches', '2', '--batch', '4']);
    assert.is(made.status, 0, made.stderr);
    const report = JSON.parse(made.stdout) as { bytes: Record<string, number>; validation_bits_per_symbol: Record<string, number> };
    assert.ok(Math.abs(report.bytes[dtype] / full - fraction) < 0.05, `${dtype}: ${report.bytes[dtype]} of ${full} bytes`);
    assert.ok(Math.abs(report.validation_bits_per_symbol.increase) < (dtype === 'bf16' ? 0.02 : 0.002), `${dtype}: ${JSON.stringify(report.validation_bits_per_symbol)}`);
    const generated = cli(['generate', '--checkpoint', out, '--prompt', 'the quick', '--max-tokens', '8', '--backend', 'wasm']);
    assert.is(generated.status, 0, generated.stderr);
  }
});

test.run();
