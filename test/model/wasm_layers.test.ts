// Every AssemblyScript layer against its reference (src/model/ref/layers.ts), forward and
// backward, on odd shapes: channels not a multiple of 4, one row, one head, T = 1; both builds
// (plain SIMD, and relaxed SIMD's fused multiply-adds). The kernels that can write an input's
// gradient instead of adding into it (fresh) give the bits of adding into zeros, over NaNs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as L from '../../src/kernels/gpt/ref.js';
import { createWasmBackend, wasmRelaxedSimdSupported, type WasmBackend } from '../../src/runtime/wasm.js';
import { assertClose, randomArray, seededRandom, WASM_BUILDS, wasmBackend } from '../helpers.js';

/** A gradient's buffer before a fresh write: NaN, so that a float read instead of written shows. */
const garbage = (n: number) => new Float32Array(n).fill(NaN);

/** Copies the arrays into wasm memory, runs `call` with their offsets, copies them all back. */
function inWasm<K extends string>(wasm: WasmBackend, arrays: Record<K, Float32Array | Int32Array>, call: (p: Record<K, number>) => number | void) {
  const mark = wasm.arena.mark();
  try {
    const ptrs = Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, wasm.arena.put(a as Float32Array)])) as Record<K, number>;
    const result = call(ptrs);
    const out = Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, new Float32Array(wasm.kernels.memory.buffer, ptrs[k as K], (a as Float32Array).length).slice()])) as Record<K, Float32Array>;
    return { out, result };
  } finally {
    wasm.arena.release(mark);
  }
}

const SHAPES = [
  { B: 1, T: 1, C: 6, OC: 5, NH: 1, V: 7 },
  { B: 2, T: 5, C: 12, OC: 9, NH: 3, V: 11 },
  { B: 3, T: 17, C: 34, OC: 130, NH: 2, V: 27 },
  { B: 1, T: 9, C: 16, OC: 12, NH: 2, V: 5 }, // a head of 8: attention's blocks of four rows by eight
  { B: 2, T: 35, C: 20, OC: 517, NH: 2, V: 9 }, // the matmul gradients' panels of 512 channels and 64 rows, and past them
];

for (const build of WASM_BUILDS) {
  test(`${build.name}: encoder, layernorm, matmul, gelu, residual: wasm equals the reference, forward and backward`, async () => {
    const wasm = await wasmBackend(build.file);
    assert.is(wasm.relaxedSimd, build.relaxed);
    const k = wasm.kernels;
    for (const { B, T, C, OC, V } of SHAPES) {
      const random = seededRandom(B * 100 + C);
      const N = B * T;
      const label = `B ${B} T ${T} C ${C} OC ${OC}`;
      // encoder
      const tokens = Int32Array.from({ length: N }, () => Math.floor(random() * V));
      const wte = randomArray(V * C, random), wpe = randomArray(T * C, random), dout = randomArray(N * C, random);
      const enc = { out: new Float32Array(N * C), dwte: new Float32Array(V * C), dwpe: new Float32Array(T * C) };
      L.encoderForward(enc.out, tokens, wte, wpe, B, T, C);
      L.encoderBackward(enc.dwte, enc.dwpe, dout, tokens, B, T, C);
      const e = inWasm(wasm, { out: new Float32Array(N * C), tokens, wte, wpe, dout, dwte: new Float32Array(V * C), dwpe: new Float32Array(T * C) }, (p) => {
        k.encoderForward(p.out, p.tokens, p.wte, p.wpe, B, T, C);
        k.encoderBackward(p.dwte, p.dwpe, p.dout, p.tokens, B, T, C);
      }).out;
      assertClose(e.out, enc.out, 1e-6, `${label} encoder`);
      assertClose(e.dwte, enc.dwte, 1e-6, `${label} dwte`);
      assertClose(e.dwpe, enc.dwpe, 1e-6, `${label} dwpe`);
      // layernorm
      const x = randomArray(N * C, random, 2, 0.5), w = randomArray(C, random), b = randomArray(C, random);
      const ln = { out: new Float32Array(N * C), mean: new Float32Array(N), rstd: new Float32Array(N), dx: new Float32Array(N * C), dw: new Float32Array(C), db: new Float32Array(C) };
      L.layernormForward(ln.out, ln.mean, ln.rstd, x, w, b, N, C);
      L.layernormBackward(ln.dx, ln.dw, ln.db, dout, x, w, ln.mean, ln.rstd, N, C);
      const l = inWasm(wasm, { out: new Float32Array(N * C), mean: new Float32Array(N), rstd: new Float32Array(N), x, w, b, dout, dx: new Float32Array(N * C), dw: new Float32Array(C), db: new Float32Array(C) }, (p) => {
        k.layernormForward(p.out, p.mean, p.rstd, p.x, p.w, p.b, N, C);
        k.layernormBackward(p.dx, p.dw, p.db, p.dout, p.x, p.w, p.mean, p.rstd, N, C);
      }).out;
      for (const name of ['out', 'mean', 'rstd', 'dx', 'dw', 'db'] as const) assertClose(l[name], ln[name], 2e-5, `${label} layernorm ${name}`);
      // matmul, with and without bias
      const inp = randomArray(N * C, random), weight = randomArray(OC * C, random), bias = randomArray(OC, random), dy = randomArray(N * OC, random);
      for (const withBias of [true, false]) {
        const mm = { out: new Float32Array(N * OC), dinp: new Float32Array(N * C), dw: new Float32Array(OC * C), db: new Float32Array(OC) };
        L.matmulForward(mm.out, inp, weight, withBias ? bias : null, N, C, OC);
        L.matmulBackward(mm.dinp, mm.dw, withBias ? mm.db : null, dy, inp, weight, N, C, OC);
        const m = inWasm(wasm, { out: new Float32Array(N * OC), inp, weight, bias, dy, dinp: new Float32Array(N * C), dw: new Float32Array(OC * C), db: new Float32Array(OC), scratch: new Float32Array(k.matmulScratchFloats()) }, (p) => {
          k.matmulForward(p.out, p.inp, p.weight, withBias ? p.bias : 0, N, C, OC);
          k.matmulBackward(p.dinp, p.dw, withBias ? p.db : 0, p.dy, p.inp, p.weight, N, C, OC, p.scratch, 0);
        }).out;
        for (const name of ['out', 'dinp', 'dw', 'db'] as const) assertClose(m[name], mm[name], 2e-5, `${label} matmul (bias ${withBias}) ${name}`);
        const fresh = inWasm(wasm, { inp, weight, dy, dinp: garbage(N * C), dw: new Float32Array(OC * C), db: new Float32Array(OC), scratch: new Float32Array(k.matmulScratchFloats()) }, (p) => {
          k.matmulBackward(p.dinp, p.dw, withBias ? p.db : 0, p.dy, p.inp, p.weight, N, C, OC, p.scratch, 1);
        }).out;
        for (const name of ['dinp', 'dw', 'db'] as const) assert.equal(fresh[name], m[name], `${label} matmul (bias ${withBias}) ${name}, dinp fresh`);
      }
      // gelu, residual
      const g = { out: new Float32Array(N * C), dx: new Float32Array(N * C), sum: new Float32Array(N * C) };
      L.geluForward(g.out, x);
      L.geluBackward(g.dx, x, dout);
      L.residualForward(g.sum, x, dout);
      const gw = inWasm(wasm, { out: new Float32Array(N * C), dx: new Float32Array(N * C), sum: new Float32Array(N * C), x, dout }, (p) => {
        k.geluForward(p.out, p.x, N * C);
        k.geluBackward(p.dx, p.x, p.dout, N * C, 0);
        k.residualForward(p.sum, p.x, p.dout, N * C);
      }).out;
      for (const name of ['out', 'dx', 'sum'] as const) assertClose(gw[name], g[name], 1e-5, `${label} gelu/residual ${name}`);
      const freshGelu = inWasm(wasm, { dx: garbage(N * C), x, dout }, (p) => k.geluBackward(p.dx, p.x, p.dout, N * C, 1)).out;
      assert.equal(freshGelu.dx, gw.dx, `${label} gelu dx, fresh`);
    }
  });

  test(`${build.name}: attention and cross-entropy: wasm equals the reference, forward and backward`, async () => {
    const wasm = await wasmBackend(build.file);
    const k = wasm.kernels;
    for (const { B, T, C, NH, V } of SHAPES) {
      const random = seededRandom(T * 7 + NH);
      const N = B * T;
      const label = `B ${B} T ${T} C ${C} NH ${NH}`;
      const qkv = randomArray(N * 3 * C, random), dout = randomArray(N * C, random);
      const ref = { out: new Float32Array(N * C), att: new Float32Array(B * NH * T * T), dqkv: new Float32Array(N * 3 * C) };
      L.attentionForward(ref.out, ref.att, qkv, B, T, C, NH);
      L.attentionBackward(ref.dqkv, dout, qkv, ref.att, B, T, C, NH);
      const scratch = new Float32Array(k.attentionScratchFloats(T, C, NH));
      const forward = inWasm(wasm, { out: new Float32Array(N * C), att: new Float32Array(B * NH * T * T), qkv, scratch }, (p) => k.attentionForward(p.out, p.att, p.qkv, B, T, C, NH, p.scratch)).out;
      for (const name of ['out', 'att'] as const) assertClose(forward[name], ref[name], 2e-5, `${label} attention ${name}`);
      // backward overwrites the probabilities with the scores' gradient: given the forward's
      const a = inWasm(wasm, { att: forward.att, qkv, dout, dqkv: new Float32Array(N * 3 * C), scratch }, (p) => k.attentionBackward(p.dqkv, p.dout, p.qkv, p.att, B, T, C, NH, p.scratch, 0)).out;
      assertClose(a.dqkv, ref.dqkv, 2e-5, `${label} attention dqkv`);
      const fresh = inWasm(wasm, { att: forward.att, qkv, dout, dqkv: garbage(N * 3 * C), scratch }, (p) => k.attentionBackward(p.dqkv, p.dout, p.qkv, p.att, B, T, C, NH, p.scratch, 1)).out;
      assert.equal(fresh.dqkv, a.dqkv, `${label} attention dqkv, fresh`);

      const logits = randomArray(N * V, random, 3), targets = Int32Array.from({ length: N }, () => Math.floor(random() * V));
      const ce = { probs: new Float32Array(N * V), dlogits: new Float32Array(N * V) };
      const loss = L.crossEntropyForward(ce.probs, logits, targets, N, V);
      L.crossEntropyBackward(ce.dlogits, ce.probs, targets, N, V);
      const c = inWasm(wasm, { probs: new Float32Array(N * V), logits, targets, dlogits: new Float32Array(N * V) }, (p) => {
        const l = k.crossEntropyForward(p.probs, p.logits, p.targets, N, V);
        k.crossEntropyBackward(p.dlogits, p.probs, p.targets, N, V);
        return l;
      });
      assertClose([c.result as number], [loss], 1e-5, `${label} loss`);
      assertClose(c.out.probs, ce.probs, 1e-5, `${label} probs`);
      assertClose(c.out.dlogits, ce.dlogits, 1e-5, `${label} dlogits`);
    }
  });
}

test('the relaxed SIMD build is taken where the engine has it: from build/, or from both builds given', async () => {
  const relaxed = wasmRelaxedSimdSupported();
  assert.ok(relaxed, 'test/helpers.ts turns relaxed SIMD on');
  const [plain, fused] = WASM_BUILDS.map((build) => readFileSync(build.file));
  assert.is((await createWasmBackend()).relaxedSimd, relaxed);
  assert.is((await createWasmBackend({ simd: plain, relaxedSimd: fused })).relaxedSimd, relaxed);
  assert.is((await createWasmBackend({ simd: plain })).relaxedSimd, false);
  assert.is((await createWasmBackend(plain)).relaxedSimd, false);
});

test.run();
