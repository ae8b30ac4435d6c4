// matmul.wgsl against a plain product on the CPU, in each tiling compiled for models, in loops (4 x 4
// an invocation), in a narrow one (tiles of 32 x 64 whose invocations own 8 x 4) and in a padded
// and unrolled one: strided views at offsets inside bigger buffers (the three products of a linear
// layer), loaded one value at a time and as vec4s, bias, accumulation, shapes off every tile and K
// step, and products split along K.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBuffer, readBuffer } from '../../../src/runtime/webgpu.js';
import { MATMUL_TILINGS, MatmulLayout, matmulLaunches, operandLayout, matmulPlan, matmulScratchFloats, matmulTilingLabel, type MatmulProduct, type MatmulTiling } from '../../../src/kernels/gpt/matmul.js';
import { GptKernels, record } from '../../../src/kernels/gpt/webgpu.js';
import { assertClose, randomArray, seededRandom, webgpuBackend } from '../../helpers.js';

interface View {
  offset: number;
  stride: [number, number];
}
interface Case {
  name: string;
  M: number;
  N: number;
  K: number;
  /** A as (M, K) row-major ('mk') or stored transposed ('km'); B as (K, N) ('kn') or (N, K) ('nk'). */
  a: 'mk' | 'km';
  b: 'kn' | 'nk';
  bias: boolean;
  accumulate: boolean;
  /**
   * Offsets and leading strides multiples of 4, so that the shader loads vec4s (its wide
   * layouts); else odd offsets, which it must load one value at a time.
   */
  aligned?: boolean;
}

const CASES: Case[] = [
  { name: 'x . W^T with bias (forward)', M: 37, N: 23, K: 19, a: 'mk', b: 'nk', bias: true, accumulate: false },
  { name: 'dY . W, accumulated (input gradient)', M: 70, N: 13, K: 66, a: 'mk', b: 'kn', bias: false, accumulate: true },
  { name: 'dY^T . X split along K (weight gradient)', M: 5, N: 7, K: 1500, a: 'km', b: 'kn', bias: false, accumulate: true },
  { name: 'one row (batch 1, one position)', M: 1, N: 130, K: 3, a: 'mk', b: 'nk', bias: true, accumulate: false },
  { name: 'split with bias, M not a multiple of anything', M: 3, N: 65, K: 2049, a: 'km', b: 'kn', bias: true, accumulate: false },
  { name: 'split into tens of chunks, more than reduce_splits\'s four rows take two at a time', M: 2, N: 3, K: 16411, a: 'km', b: 'kn', bias: true, accumulate: true },
  // vec4 loads: along K for x and W (forward), along N for W (input gradient), along M and N (weight
  // gradient), with M and N off a multiple of 4 (the vec4s past them masked) and K too (one by one).
  { name: 'x . W^T, vec4s along K', M: 37, N: 23, K: 20, a: 'mk', b: 'nk', bias: true, accumulate: false, aligned: true },
  { name: 'dY . W, vec4s along K and N', M: 70, N: 13, K: 68, a: 'mk', b: 'kn', bias: false, accumulate: true, aligned: true },
  { name: 'dY^T . X split, vec4s along M and N', M: 5, N: 7, K: 1500, a: 'km', b: 'kn', bias: false, accumulate: true, aligned: true },
  { name: 'K not a multiple of 4: vec4s along M and N only', M: 9, N: 66, K: 19, a: 'km', b: 'nk', bias: true, accumulate: false, aligned: true },
  { name: 'one row, vec4s along K', M: 1, N: 130, K: 8, a: 'mk', b: 'nk', bias: true, accumulate: false, aligned: true },
  // several rows and columns of tiles in every tiling, so that a band (below) spans columns too
  { name: 'tiles in both directions', M: 70, N: 130, K: 9, a: 'mk', b: 'nk', bias: true, accumulate: false },
];

const TILINGS: MatmulTiling[] = [
  ...Object.values(MATMUL_TILINGS),
  { tileM: 64, tileN: 64, threadM: 4, threadN: 4, depth: 16 },
  { tileM: 32, tileN: 64, threadM: 8, threadN: 4, depth: 8 },
  { tileM: 128, tileN: 128, threadM: 8, threadN: 8, depth: 8, padded: true, unrolled: true },
  // tiles walked in bands of 2 rows: M 70 makes 3 rows of tiles (a short last band), N 130 three
  // columns of them
  { tileM: 32, tileN: 64, threadM: 8, threadN: 4, depth: 8, band: 2 },
];
const compiled = new Map<MatmulTiling, GptKernels>(); // one compilation of the shaders a tiling

for (const c of CASES) for (const tiling of TILINGS) {
  const tilings = [tiling];
  test(`matmul.wgsl ${matmulTilingLabel(tiling)} equals a plain product: ${c.name} (M ${c.M}, N ${c.N}, K ${c.K}, ${matmulPlan(c.M, c.N, c.K, tilings).splits} split(s))`, async () => {
    const gpu = await webgpuBackend();
    if (!gpu) return;
    const random = seededRandom(c.M * 31 + c.K);
    const { M, N, K } = c;
    // Each operand sits at an offset inside a bigger buffer, as weights do in the parameter buffer.
    const [aOffset, bOffset, biasOffset, cOffset] = c.aligned ? [8, 12, 3, 7] : [5, 11, 3, 7];
    // An operand's rows: as long as its inner extent, or the next multiple of 4 when aligned.
    const lead = (extent: number) => (c.aligned ? Math.ceil(extent / 4) * 4 : extent);
    const av: View = { offset: aOffset, stride: c.a === 'mk' ? [lead(K), 1] : [1, lead(M)] };
    const bv: View = { offset: bOffset, stride: c.b === 'kn' ? [lead(N), 1] : [1, lead(K)] };
    // NaN everywhere outside the views (offsets, row padding, the tail past K): a value read there
    // and multiplied in, even by zero, would show in C.
    const operand = (view: View, rows: number, floats: number) => {
      const values = new Float32Array(floats).fill(NaN);
      for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) values[view.offset + i * view.stride[0] + k * view.stride[1]] = 2 * random() - 1;
      return values;
    };
    const a = operand(av, M, aOffset + (c.a === 'mk' ? M * lead(K) : K * lead(M)) + 4);
    const b = operand({ offset: bv.offset, stride: [bv.stride[1], bv.stride[0]] }, N, bOffset + (c.b === 'kn' ? K * lead(N) : N * lead(K)) + 4);
    const bias = randomArray(biasOffset + N, random);
    const initial = randomArray(cOffset + M * N + 4, random);
    const layouts = [operandLayout(av.offset, av.stride[0], av.stride[1], K), operandLayout(bv.offset, bv.stride[1], bv.stride[0], K)];
    // The aligned cases are there to run the wide loads: each must load at least one operand so.
    assert.is(layouts.some((layout) => layout !== MatmulLayout.oneByOne), Boolean(c.aligned), `${c.name}: layouts ${layouts}`);
    const expected = initial.slice();
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a[av.offset + m * av.stride[0] + k * av.stride[1]] * b[bv.offset + k * bv.stride[0] + n * bv.stride[1]];
        if (c.bias) sum += bias[biasOffset + n];
        const at = cOffset + m * N + n;
        expected[at] = c.accumulate ? expected[at] + sum : sum;
      }
    }
    if (!compiled.has(tiling)) compiled.set(tiling, new GptKernels(gpu.device, 4, undefined, tilings));
    const kernels = compiled.get(tiling)!;
    const buffer = (values: Float32Array) => createBuffer(gpu.device, 4 * values.length, undefined, values);
    const out = buffer(initial);
    const product: MatmulProduct = {
      M, N, K, accumulate: c.accumulate,
      a: [buffer(a), av.offset, av.stride[0], av.stride[1]],
      b: [buffer(b), bv.offset, bv.stride[0], bv.stride[1]],
      bias: c.bias ? [buffer(bias), biasOffset] : null,
      c: [out, cOffset, N],
    };
    const scratchFloats = matmulScratchFloats(product, tilings);
    const scratch = scratchFloats ? createBuffer(gpu.device, 4 * scratchFloats) : undefined;
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, matmulLaunches(kernels, product, scratch, tilings));
    gpu.device.queue.submit([encoder.finish()]);
    assertClose(await readBuffer(gpu.device, out), expected, 1e-5, c.name);
    await gpu.checkErrors();
  });
}

test('a split product without scratch is refused, naming the floats it needs', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const kernels = new GptKernels(gpu.device, 4);
  const buffer = createBuffer(gpu.device, 4 * 4096);
  assert.throws(() => matmulLaunches(kernels, { M: 2, N: 2, K: 2048, accumulate: false, a: [buffer, 0, 1, 2], b: [buffer, 0, 2, 1], bias: null, c: [buffer, 0, 2] }), /split \d+ ways needs \d+ floats of scratch/);
});

test('a tiling that was not compiled, or does not fit the default limits, is refused by name', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const other: MatmulTiling = { tileM: 64, tileN: 64, threadM: 4, threadN: 4, depth: 16 };
  const kernels = new GptKernels(gpu.device, 4, undefined, [other]);
  const buffer = createBuffer(gpu.device, 64);
  const product: MatmulProduct = { M: 2, N: 2, K: 2, accumulate: false, a: [buffer, 0, 2, 1], b: [buffer, 0, 2, 1], bias: null, c: [buffer, 0, 2] };
  const message = `tiling ${matmulTilingLabel(MATMUL_TILINGS.default)} was not compiled (these were: ${matmulTilingLabel(other)})`;
  assert.throws(() => matmulLaunches(kernels, product, undefined, [MATMUL_TILINGS.default]), (error: Error) => error.message.includes(message));
  assert.throws(() => new GptKernels(gpu.device, 4, undefined, [{ tileM: 256, tileN: 128, threadM: 8, threadN: 8, depth: 16 }]), /512 invocations a workgroup; at most 256/);
  assert.throws(() => new GptKernels(gpu.device, 4, undefined, [{ tileM: 64, tileN: 64, threadM: 6, threadN: 4, depth: 16 }]), /multiples of 4/);
});

test.run();
