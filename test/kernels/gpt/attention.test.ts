// attention.wgsl and attention-subgroup.wgsl against the reference layers (src/model/ref/layers.ts):
// forward output and log-sum-exp, and the backward's dq, dk, dv; on odd shapes (head sizes not a
// multiple of 4 nor of the lanes, a context shorter than one staged block and one spanning
// several, batch 1) and on several tilings of each shader, which must not change the result.
// Without a tiling the device's default runs (head-split from head size 32 where the device has
// subgroups, as SwiftShader does).
import { test } from 'uvu';
import { createBuffer, readBuffer } from '../../../src/runtime/webgpu.js';
import { needsSubgroups, subgroupLanes, subgroupLanesUnsupported, type AttentionTiling } from '../../../src/kernels/gpt/attention.js';
import { attentionBackward, attentionForward, GptKernels, record } from '../../../src/kernels/gpt/webgpu.js';
import { attentionBackward as referenceBackward, attentionForward as referenceForward } from '../../../src/kernels/gpt/ref.js';
import { assertClose, randomArray, seededRandom, webgpuBackend } from '../../helpers.js';

interface Case {
  B: number;
  T: number;
  C: number;
  NH: number;
  tiling?: AttentionTiling;
}

const CASES: Case[] = [
  { B: 1, T: 5, C: 15, NH: 3 }, // head size 5; T shorter than a block
  { B: 2, T: 70, C: 12, NH: 2 }, // head size 6; T over two workgroups and three blocks, ragged
  { B: 1, T: 33, C: 64, NH: 1 }, // head size 64, with a smaller block
  { B: 1, T: 20, C: 130, NH: 1 }, // head size 130: fewer rows a workgroup
  { B: 2, T: 41, C: 32, NH: 2, tiling: { queries: 16, split: 2, block: 8 } },
  { B: 1, T: 41, C: 32, NH: 2, tiling: { queries: 64, split: 1, block: 16 } },
  { B: 1, T: 41, C: 14, NH: 2, tiling: { queries: 8, split: 8, block: 64 } },
  { B: 1, T: 33, C: 64, NH: 1, tiling: { queries: 32, split: 4, block: 16 } }, // head size 64 on the key-split shader
  // the head-split shader
  { B: 1, T: 5, C: 15, NH: 3, tiling: { queries: 8, lanes: 4, block: 8 } }, // head size 5: lanes past the head
  { B: 2, T: 70, C: 64, NH: 2, tiling: { queries: 16, lanes: 4, block: 8 } }, // head size 32 over several workgroups, ragged
  { B: 1, T: 41, C: 14, NH: 2, tiling: { queries: 16, lanes: 2, block: 32 } }, // head size 7 on 2 lanes
  { B: 2, T: 37, C: 72, NH: 2, tiling: { queries: 64, lanes: 4, block: 16 } }, // head size 36: 9 vec4s over 4 lanes
  // the score-block shader
  { B: 1, T: 5, C: 15, NH: 3, tiling: { queries: 16, columns: 4 } }, // head size 5: vec4s past the head; T shorter than a round
  { B: 2, T: 70, C: 64, NH: 2, tiling: { queries: 16, columns: 4 } }, // head size 32 over several workgroups, ragged
  { B: 1, T: 41, C: 14, NH: 2, tiling: { queries: 8, columns: 4 } }, // head size 7, rows in groups of 2
  { B: 2, T: 37, C: 72, NH: 2, tiling: { queries: 16, columns: 4 } }, // head size 36: 9 vec4s among 4 groups
  { B: 1, T: 33, C: 64, NH: 1, tiling: { queries: 16, columns: 4 } }, // head size 64 (GPT-2's) in rounds of 16
  { B: 1, T: 41, C: 14, NH: 2, tiling: { queries: 8, columns: 2 } }, // blocks of 4 x 2 scores
  { B: 2, T: 37, C: 72, NH: 2, tiling: { queries: 8, columns: 2 } },
  { B: 1, T: 21, C: 64, NH: 1, tiling: { queries: 4, columns: 1 } }, // blocks of 4 x 1, one group of own rows
  // rows shared by 8 or more invocations need subgroups that large (an H200's are 32; SwiftShader's may be 4: skipped there)
  { B: 2, T: 70, C: 64, NH: 2, tiling: { queries: 32, columns: 4 } },
  { B: 2, T: 37, C: 72, NH: 2, tiling: { queries: 32, columns: 4 } },
  { B: 1, T: 75, C: 64, NH: 1, tiling: { queries: 32, columns: 4 } },
  { B: 1, T: 75, C: 64, NH: 1, tiling: { queries: 32, columns: 2 } },
  { B: 2, T: 37, C: 72, NH: 2, tiling: { queries: 16, columns: 1 } },
];

for (const { B, T, C, NH, tiling } of CASES) {
  const hs = C / NH;
  const name = `B ${B}, T ${T}, head size ${hs}, ${NH} heads, tiling ${tiling ? JSON.stringify(tiling) : "the device's"}`;
  test(`attention equals the reference, forward and backward (${name})`, async () => {
    const gpu = await webgpuBackend();
    if (!gpu) return;
    const lanesMissing = tiling && needsSubgroups(tiling) && subgroupLanesUnsupported(gpu.device, subgroupLanes(tiling));
    if (lanesMissing) {
      console.log(`  skipped on ${gpu.adapter.description}: ${lanesMissing}`);
      return;
    }
    const random = seededRandom(B * 1000 + T);
    const qkv = randomArray(B * T * 3 * C, random, 1.5);
    const dy = randomArray(B * T * C, random);
    const expectedY = new Float32Array(B * T * C);
    const att = new Float32Array(B * NH * T * T);
    referenceForward(expectedY, att, qkv, B, T, C, NH);
    const expectedDqkv = new Float32Array(B * T * 3 * C);
    referenceBackward(expectedDqkv, dy, qkv, att, B, T, C, NH);
    // the log-sum-exp of each row, from the reference's scores
    const expectedLse = new Float32Array(B * NH * T);
    for (let b = 0; b < B; b++) for (let h = 0; h < NH; h++) for (let t = 0; t <= T - 1; t++) {
      let sum = 0;
      const scores: number[] = [];
      for (let u = 0; u <= t; u++) {
        let dot = 0;
        for (let i = 0; i < hs; i++) dot += qkv[(b * T + t) * 3 * C + h * hs + i] * qkv[(b * T + u) * 3 * C + C + h * hs + i];
        scores.push(dot / Math.sqrt(hs));
      }
      const max = Math.max(...scores);
      for (const s of scores) sum += Math.exp(s - max);
      expectedLse[(b * NH + h) * T + t] = max + Math.log(sum);
    }

    const kernels = new GptKernels(gpu.device, hs, tiling);
    const buffers = { qkv: createBuffer(gpu.device, 4 * qkv.length, undefined, qkv), y: createBuffer(gpu.device, 4 * B * T * C), lse: createBuffer(gpu.device, 4 * B * NH * T) };
    const dyBuffer = createBuffer(gpu.device, 4 * dy.length, undefined, dy);
    // The gradient added into what dqkv holds (another layer reached it first), and written over
    // NaNs (attention is the first: the engine neither clears it nor reads it).
    const before = randomArray(qkv.length, random);
    const added = createBuffer(gpu.device, 4 * qkv.length, undefined, before);
    const written = createBuffer(gpu.device, 4 * qkv.length, undefined, new Float32Array(qkv.length).fill(NaN));
    const delta = createBuffer(gpu.device, 4 * B * NH * T);
    const shape = { B, T, C, NH };
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, [
      attentionForward(kernels, buffers, shape),
      ...attentionBackward(kernels, buffers, dyBuffer, added, delta, shape, true),
      ...attentionBackward(kernels, buffers, dyBuffer, written, delta, shape, false),
    ]);
    gpu.device.queue.submit([encoder.finish()]);
    assertClose(await readBuffer(gpu.device, buffers.y), expectedY, 1e-5, `${name}: y`);
    assertClose(await readBuffer(gpu.device, buffers.lse), expectedLse, 1e-5, `${name}: lse`);
    assertClose(await readBuffer(gpu.device, written), expectedDqkv, 1e-5, `${name}: dqkv written`);
    assertClose(await readBuffer(gpu.device, added), expectedDqkv.map((value, i) => value + before[i]), 1e-5, `${name}: dqkv added`);
    await gpu.checkErrors();
  });
}

test('attention tilings that break WebGPU limits are refused with the reason', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const { throws } = await import('uvu/assert');
  throws(() => new GptKernels(gpu.device, 16, { queries: 64, split: 8, block: 32 }), /512 threads a workgroup; at most 256/);
  throws(() => new GptKernels(gpu.device, 16, { queries: 32, split: 4, block: 128 }), /bytes of workgroup memory; at most 16384/);
  throws(() => new GptKernels(gpu.device, 2000), /head size 2000 does not fit WebGPU's 16384 bytes of workgroup memory; use more heads/);
  throws(() => new GptKernels(gpu.device, 64, { queries: 16, lanes: 3, block: 8 }), /lanes 3 is not a power of two/);
  throws(() => new GptKernels(gpu.device, 64, { queries: 16, lanes: 64, block: 8 }), /exchanges values across 64 subgroup lanes, but its subgroups may have \d+ invocations, fewer than 64 lanes/);
  throws(() => new GptKernels(gpu.device, 64, { queries: 512, lanes: 4, block: 8 }), /2048 threads a workgroup; at most/); // past any device's limit (an H200 allows 1024)
});

test.run();
