// Benchmark of attention alone: forward, and forward + backward, at the paper's shape (batch 32,
// context 512, width 128, 8 heads: head size 16), a wider one and GPT-2 124M's (head size 64), for
// several tilings of both shaders (attention.wgsl's key split, attention-subgroup.wgsl's head
// split where the device has subgroups, attention-blocks.wgsl's score blocks); the PyTorch anchor (bench/anchors/torch_attention.py) runs in the same command
// on a GPU machine. Prints JSON.
// usage: node --import tsx bench/attention.ts [--reps 20] [--shapes paper,wide,gpt2]
//        [--tilings JSON array of tilings, beside the default] [--out FILE]

import { cpus } from 'node:os';
import { createBuffer, createWebGPUBackend } from '../src/runtime/webgpu.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { defaultAttentionTiling, type AttentionTiling } from '../src/kernels/gpt/attention.js';
import { attentionBackward, attentionForward, GptKernels, record, type GpuCommand } from '../src/kernels/gpt/webgpu.js';
import { SeededRandom } from '../src/model/random.js';
import { medianMs } from './timing.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const reps = Number(option('--reps', '20'));

const SHAPES = {
  paper: { B: 32, T: 512, C: 128, NH: 8 },
  wide: { B: 8, T: 1024, C: 384, NH: 6 },
  gpt2: { B: 8, T: 1024, C: 768, NH: 12 },
};
const shapeNames = option('--shapes', Object.keys(SHAPES).join(',')).split(',');
for (const name of shapeNames) if (!(name in SHAPES)) throw new Error(`--shapes: unknown '${name}': expected some of ${Object.keys(SHAPES).join(', ')}`);
const ALL_TILINGS: AttentionTiling[] = [
  { queries: 32, split: 4, block: 32 },
  { queries: 32, split: 4, block: 16 },
  { queries: 64, split: 1, block: 16 },
  { queries: 64, split: 2, block: 32 },
  { queries: 64, split: 4, block: 32 },
  { queries: 32, split: 8, block: 32 },
  { queries: 16, split: 8, block: 32 },
  { queries: 16, split: 16, block: 32 },
  { queries: 64, lanes: 4, block: 32 },
  { queries: 64, lanes: 2, block: 16 },
  { queries: 64, lanes: 2, block: 32 },
  { queries: 64, lanes: 2, block: 64 },
  { queries: 32, lanes: 2, block: 32 },
  { queries: 128, lanes: 2, block: 32 },
  { queries: 128, lanes: 2, block: 64 },
  { queries: 64, lanes: 1, block: 32 },
  { queries: 128, lanes: 1, block: 32 },
  { queries: 16, columns: 4 },
  { queries: 32, columns: 4 },
  { queries: 32, columns: 2 },
  { queries: 16, columns: 2 },
  { queries: 16, columns: 1 },
];
const TILINGS: AttentionTiling[] = args.includes('--tilings') ? JSON.parse(option('--tilings', '[]')) : ALL_TILINGS;

const gpu = await createWebGPUBackend();
if (gpu.adapter.software && process.env.WAVELET_BENCH_SOFTWARE_GPU !== '1') {
  console.log(JSON.stringify({ note: `skipped: ${gpu.adapter.description} is a software adapter (WAVELET_BENCH_SOFTWARE_GPU=1 runs it anyway)` }));
  process.exit(0);
}
const device = gpu.device;
const random = new SeededRandom(1);

/** Median ms of one pass of `steps`, timed as `reps` submissions each waited on. */
async function time(steps: GpuCommand[]): Promise<number> {
  const run = async () => {
    const encoder = device.createCommandEncoder();
    record(encoder, steps);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  return medianMs(reps, run, 3);
}

const results: object[] = [];
for (const [name, shape] of Object.entries(SHAPES).filter(([name]) => shapeNames.includes(name))) {
  const { B, T, C, NH } = shape;
  const hs = C / NH;
  const values = (n: number) => Float32Array.from({ length: n }, () => random.normal());
  const buffers = { qkv: createBuffer(device, 4 * B * T * 3 * C, undefined, values(B * T * 3 * C)), y: createBuffer(device, 4 * B * T * C), lse: createBuffer(device, 4 * B * NH * T) };
  const dy = createBuffer(device, 4 * B * T * C, undefined, values(B * T * C));
  const dqkv = createBuffer(device, 4 * B * T * 3 * C);
  const delta = createBuffer(device, 4 * B * NH * T);
  const chosen = defaultAttentionTiling(hs, device);
  const tilings = [chosen, ...TILINGS.filter((t) => JSON.stringify(t) !== JSON.stringify(chosen))];
  for (const tiling of tilings) {
    let kernels: GptKernels;
    try {
      kernels = new GptKernels(device, hs, tiling);
    } catch (error) {
      results.push({ shape: name, tiling, skipped: (error as Error).message });
      continue;
    }
    const forward = attentionForward(kernels, buffers, shape);
    const backward = attentionBackward(kernels, buffers, dy, dqkv, delta, shape, false); // written, as in the engine's step
    // The GPU's clocks rise over the first tens of milliseconds of work: the first tiling of a
    // shape timed alone ran several times slower than later ones.
    if (tiling === tilings[0]) for (let i = 0; i < 30; i++) await time([forward, ...backward]);
    const forwardMs = await time([forward]);
    const bothMs = await time([forward, ...backward]);
    const entry = { shape: name, ...shape, head_size: hs, tiling, default: tiling === tilings[0], forward_ms: +forwardMs.toFixed(3), forward_backward_ms: +bothMs.toFixed(3) };
    console.error(JSON.stringify(entry));
    results.push(entry);
  }
  for (const buffer of [buffers.qkv, buffers.y, buffers.lse, dy, dqkv, delta]) buffer.destroy();
}

const report = { bench: 'attention', machine: { cpu: cpus()[0]?.model, cores: cpus().length, gpu: gpu.adapter }, reps, results };
const out = option('--out', '');
if (out) await writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify(report, null, 2));
