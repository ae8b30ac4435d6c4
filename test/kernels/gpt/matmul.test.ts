// matmul.wgsl against a plain product on the CPU, in each tiling compiled for models, in a narrow
// one (tiles of 32 x 64 whose invocations own 8 x 4) and in a padded and unrolled one: strided views at offsets inside
// bigger buffers (the three products of a linear layer), bias, accumulation, shapes off every tile
// and K step, and products split along K.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBuffer, readBuffer } from '../../../src/runtime/webgpu.js';
import { MATMUL_TILINGS, matmulLaunches, matmulPlan, matmulScratchFloats, matmulTilingLabel, type MatmulProduct, type MatmulTiling } from '../../../src/kernels/gpt/matmul.js';
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
}

const CASES: Case[] = [
  { name: 'x . W^T with bias (forward)', M: 37, N: 23, K: 19, a: 'mk', b: 'nk', bias: true, accumulate: false },
  { name: 'dY . W, accumulated (input gradient)', M: 70, N: 13, K: 66, a: 'mk', b: 'kn', bias: false, accumulate: true },
  { name: 'dY^T . X split along K (weight gradient)', M: 5, N: 7, K: 1500, a: 'km', b: 'kn', bias: false, accumulate: true },
  { name: 'one row (batch 1, one position)', M: 1, N: 130, K: 3, a: 'mk', b: 'nk', bias: true, accumulate: false },
  { name: 'split with bias, M not a multiple of anything', M: 3, N: 65, K: 2049, a: 'km', b: 'kn', bias: true, accumulate: false },
];

const TILINGS: MatmulTiling[] = [...Object.values(MATMUL_TILINGS), { tileM: 32, tileN: 64, threadM: 8, threadN: 4, depth: 8 }, { tileM: 128, tileN: 128, threadM: 8, threadN: 8, depth: 8, padded: true, unrolled: true }];
const compiled = new Map<MatmulTiling, GptKernels>(); // one compilation of the shaders a tiling

for (const c of CASES) for (const tiling of TILINGS) {
  const tilings = [tiling];
  test(`matmul.wgsl ${matmulTilingLabel(tiling)} equals a plain product: ${c.name} (M ${c.M}, N ${c.N}, K ${c.K}, ${matmulPlan(c.M, c.N, c.K, tilings).splits} split(s))`, async () => {
    const gpu = await webgpuBackend();
    if (!gpu) return;
    const random = seededRandom(c.M * 31 + c.K);
    const { M, N, K } = c;
    // Each operand sits at an offset inside a bigger buffer, as weights do in the parameter buffer.
    const [aOffset, bOffset, biasOffset, cOffset] = [5, 11, 3, 7];
    const a = randomArray(aOffset + M * K + 4, random);
    const b = randomArray(bOffset + K * N + 4, random);
    const bias = randomArray(biasOffset + N, random);
    const initial = randomArray(cOffset + M * N + 4, random);
    const av: View = { offset: aOffset, stride: c.a === 'mk' ? [K, 1] : [1, M] };
    const bv: View = { offset: bOffset, stride: c.b === 'kn' ? [N, 1] : [1, K] };
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
  const kernels = new GptKernels(gpu.device, 4, undefined, [MATMUL_TILINGS.small]);
  const buffer = createBuffer(gpu.device, 64);
  const product: MatmulProduct = { M: 2, N: 2, K: 2, accumulate: false, a: [buffer, 0, 2, 1], b: [buffer, 0, 2, 1], bias: null, c: [buffer, 0, 2] };
  const message = `tiling ${matmulTilingLabel(MATMUL_TILINGS.large)} was not compiled (these were: ${matmulTilingLabel(MATMUL_TILINGS.small)})`;
  assert.throws(() => matmulLaunches(kernels, product, undefined, [MATMUL_TILINGS.large]), (error: Error) => error.message.includes(message));
  assert.throws(() => new GptKernels(gpu.device, 4, undefined, [{ tileM: 256, tileN: 128, threadM: 8, threadN: 8, depth: 16 }]), /512 invocations a workgroup; at most 256/);
  assert.throws(() => new GptKernels(gpu.device, 4, undefined, [{ tileM: 64, tileN: 64, threadM: 6, threadN: 4, depth: 16 }]), /multiples of 4/);
});

test.run();
