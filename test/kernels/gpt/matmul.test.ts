// matmul.wgsl against a plain product on the CPU: strided views at offsets inside bigger buffers
// (the three products of a linear layer), bias, accumulation, shapes off the 64 x 64 tile and the
// 16-step of K, and products split along K.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBuffer, readBuffer } from '../../../src/runtime/webgpu.js';
import { matmulLaunches, matmulScratchFloats, matmulSplits, type MatmulProduct } from '../../../src/kernels/gpt/matmul.js';
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

for (const c of CASES) {
  test(`matmul.wgsl equals a plain product: ${c.name} (M ${c.M}, N ${c.N}, K ${c.K}, ${matmulSplits(c.M, c.N, c.K).splits} split(s))`, async () => {
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
    const kernels = new GptKernels(gpu.device, 4);
    const buffer = (values: Float32Array) => createBuffer(gpu.device, 4 * values.length, undefined, values);
    const out = buffer(initial);
    const product: MatmulProduct = {
      M, N, K, accumulate: c.accumulate,
      a: [buffer(a), av.offset, av.stride[0], av.stride[1]],
      b: [buffer(b), bv.offset, bv.stride[0], bv.stride[1]],
      bias: c.bias ? [buffer(bias), biasOffset] : null,
      c: [out, cOffset, N],
    };
    const scratchFloats = matmulScratchFloats(product);
    const scratch = scratchFloats ? createBuffer(gpu.device, 4 * scratchFloats) : undefined;
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, matmulLaunches(kernels, product, scratch));
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

test.run();
