// Benchmark of matmul.wgsl alone: the products of a training step's linear layers (forward x.W^T,
// input gradient dY.W, weight gradient dY^T.X) at the paper model's, 6 x 384's and GPT-2 124M's shapes, and
// 4096^3, in each tiling asked and as the engine plans it ('auto'). TFLOP/s, the share of the
// GPU's fp32 peak (--peak-tflops, from its datasheet), and, with --anchor FILE (the JSON lines of
// bench/anchors/torch_matmul.py run in the same command), the ratio to torch.matmul (cuBLAS,
// TF32 off). Each product is checked at 64 entries against a float64 product on the CPU. Prints JSON.
// usage: node --import tsx bench/matmul.ts [--tilings auto,128x128/8x8/16,...] [--shapes gpt2,paper,square,wide]
//        [--split-below 264,...] [--peak-tflops 67] [--anchor FILE] [--out FILE]
//        --split-below N: also the engine's plan with products split along K below N tiles
//        (matmulPlan's `enough`) rather than its own threshold, labelled 'auto<N'.
//        [--dawn-flags F,...] (Node: Dawn's instance flags, for asking what its safety costs, like
//        enable-dawn-features=allow_unsafe_apis,disable_robustness)
//        --list: the products as JSON lines, for the anchor's stdin:
//        node bench/matmul.js --list | python3 bench/anchors/torch_matmul.py > torch.jsonl

import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { createBuffer, createWebGPUBackend, recordReadBack } from '../src/runtime/webgpu.js';
import { printReport } from './report.js';
import { MATMUL_TILINGS, matmulLaunches, matmulPlan, matmulScratchFloats, matmulTilingLabel, type MatmulProduct, type MatmulTiling } from '../src/kernels/gpt/matmul.js';
import { GptKernels, record } from '../src/kernels/gpt/webgpu.js';
import { SeededRandom } from '../src/model/random.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const peakTflops = Number(option('--peak-tflops', '0'));

/** 128x128/8x8/16 -> a tiling. */
function parseTiling(label: string): MatmulTiling {
  const m = /^(\d+)x(\d+)\/(\d+)x(\d+)\/(\d+)((?:\+pad|\+unroll|\+band\d+)*)$/.exec(label);
  if (!m) throw new Error(`--tilings: '${label}' is not 'auto' or TILE_MxTILE_N/THREAD_MxTHREAD_N/DEPTH[+pad][+unroll][+bandB] (like 128x128/8x8/16+unroll+band16)`);
  const [tileM, tileN, threadM, threadN, depth] = m.slice(1, 6).map(Number);
  const band = /\+band(\d+)/.exec(m[6]);
  return { tileM, tileN, threadM, threadN, depth, padded: m[6].includes('+pad'), unrolled: m[6].includes('+unroll'), ...(band ? { band: Number(band[1]) } : {}) };
}
const splitBelow = option('--split-below', '').split(',').filter(Boolean).map((value) => {
  if (!/^\d+$/.test(value)) throw new Error(`--split-below: '${value}' is not a whole number of tiles`);
  return `auto<${value}`;
});
const tilingArgs = [...option('--tilings', 'auto,' + Object.values(MATMUL_TILINGS).map(matmulTilingLabel).join(',')).split(','), ...splitBelow];
const isAuto = (label: string) => label === 'auto' || label.startsWith('auto<');
const explicit = tilingArgs.filter((t) => !isAuto(t)).map(parseTiling);

/** A product's sizes and how its operands lie: A stored (M, K) 'mk' or (K, M) 'km'; B (K, N) 'kn' or (N, K) 'nk'. */
interface Shape {
  model: string;
  layer: string;
  product: string;
  M: number;
  N: number;
  K: number;
  a: 'mk' | 'km';
  b: 'kn' | 'nk';
}

/** A linear layer's three products on `rows` positions: in -> out features. */
function linear(model: string, layer: string, rows: number, inF: number, outF: number): Shape[] {
  return [
    { model, layer, product: 'forward', M: rows, N: outF, K: inF, a: 'mk', b: 'nk' },
    { model, layer, product: 'input gradient', M: rows, N: inF, K: outF, a: 'mk', b: 'kn' },
    { model, layer, product: 'weight gradient', M: outF, N: inF, K: rows, a: 'km', b: 'kn' },
  ];
}
const SHAPES: Record<string, Shape[]> = {
  // GPT-2 124M, batch 8 x 1024 positions
  gpt2: [...linear('gpt2-124m', 'qkv', 8192, 768, 2304), ...linear('gpt2-124m', 'attention out', 8192, 768, 768), ...linear('gpt2-124m', 'mlp up', 8192, 768, 3072), ...linear('gpt2-124m', 'mlp down', 8192, 3072, 768), ...linear('gpt2-124m', 'head', 8192, 768, 50257)],
  // the WaveletGPT paper's text8 model, batch 32 x 512 positions
  paper: [...linear('paper-text8', 'qkv', 16384, 128, 384), ...linear('paper-text8', 'attention out', 16384, 128, 128), ...linear('paper-text8', 'mlp up', 16384, 128, 512), ...linear('paper-text8', 'mlp down', 16384, 512, 128), ...linear('paper-text8', 'head dense', 16384, 128, 2048), ...linear('paper-text8', 'head', 16384, 2048, 27)],
  // 6 x 384 (issue #12's middle row), batch 16 x 512 positions
  wide: [...linear('6x384', 'qkv', 8192, 384, 1152), ...linear('6x384', 'attention out', 8192, 384, 384), ...linear('6x384', 'mlp up', 8192, 384, 1536), ...linear('6x384', 'mlp down', 8192, 1536, 384), ...linear('6x384', 'head', 8192, 384, 256)],
  square: [{ model: 'square', layer: '4096^3', product: 'forward', M: 4096, N: 4096, K: 4096, a: 'mk', b: 'kn' }],
};
const shapes: Shape[] = option('--shapes', 'gpt2,paper,square').split(',').flatMap((name) => {
  if (!(name in SHAPES)) throw new Error(`--shapes: unknown '${name}': expected some of ${Object.keys(SHAPES).join(', ')}`);
  return SHAPES[name];
});

if (args.includes('--list')) {
  for (const s of shapes) console.log(JSON.stringify(s));
  process.exit(0);
}

const anchors = new Map<string, { ms: number; torch: string; device: string }>();
const anchorFile = option('--anchor', '');
if (anchorFile) {
  for (const line of readFileSync(anchorFile, 'utf8').split('\n').filter((l) => l.startsWith('{'))) {
    const r = JSON.parse(line);
    anchors.set(`${r.M}x${r.N}x${r.K} ${r.a} ${r.b}`, { ms: r.ms, torch: r.torch, device: r.device });
  }
}

const dawnFlags = option('--dawn-flags', '');
if (dawnFlags) {
  // Dawn made here with the flags asked, installed where createWebGPUBackend looks first.
  const webgpu = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, webgpu.globals);
  const flags = dawnFlags.split(/,(?=[a-z-]+=)/); // flags are name=value,value...; split only before a name
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: webgpu.create(['disable-dawn-features=timestamp_quantization', ...flags]) }, configurable: true, writable: true });
}
const gpu = await createWebGPUBackend();
if (gpu.adapter.software && process.env.WAVELET_BENCH_SOFTWARE_GPU !== '1') {
  console.log(JSON.stringify({ note: `skipped: ${gpu.adapter.description} is a software adapter (WAVELET_BENCH_SOFTWARE_GPU=1 runs it anyway)` }));
  process.exit(0);
}
const device = gpu.device;
const kernels = new GptKernels(device, 64, undefined, [...Object.values(MATMUL_TILINGS), ...explicit.filter((t) => !Object.values(MATMUL_TILINGS).some((m) => matmulTilingLabel(m) === matmulTilingLabel(t)))]);
const random = new SeededRandom(1);
const values = (n: number) => Float32Array.from({ length: n }, () => random.next() * 2 - 1);

const results: object[] = [];
for (const s of shapes) {
  const { M, N, K } = s;
  const a = values(M * K), b = values(K * N);
  const [aBuffer, bBuffer, cBuffer] = [createBuffer(device, 4 * a.length, undefined, a), createBuffer(device, 4 * b.length, undefined, b), createBuffer(device, 4 * M * N)];
  const product: MatmulProduct = {
    M, N, K, accumulate: false,
    a: [aBuffer, 0, ...(s.a === 'mk' ? [K, 1] : [1, M])] as MatmulProduct['a'],
    b: [bBuffer, 0, ...(s.b === 'kn' ? [N, 1] : [1, K])] as MatmulProduct['b'],
    bias: null,
    c: [cBuffer, 0, N],
  };
  const flops = 2 * M * N * K;
  const anchor = anchors.get(`${M}x${N}x${K} ${s.a} ${s.b}`);
  const runs = tilingArgs.map((label) => {
    const tilings = isAuto(label) ? undefined : [parseTiling(label)];
    const enough = label.startsWith('auto<') ? Number(label.slice(5)) : undefined;
    const scratchFloats = matmulScratchFloats(product, tilings, enough);
    const scratch = scratchFloats ? createBuffer(device, 4 * scratchFloats) : undefined;
    const launches = matmulLaunches(kernels, product, scratch, tilings, enough);
    const once = async (repeat: number) => {
      const encoder = device.createCommandEncoder();
      for (let r = 0; r < repeat; r++) record(encoder, launches);
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    return { label, plan: matmulPlan(M, N, K, tilings, enough), scratch, once, fastest: Infinity, repeat: 1, times: [] as number[] };
  });
  // Warm up: every tiling in turn for a second (on the H200 the first tens of milliseconds on new
  // buffers ran up to 5x slower; and one tiling timed for 140 ms after 200 ms of warming ran
  // 4096^3 in 13.9 ms, against 3.8 in every run that timed several tilings in turn for a second or
  // more). Then enough launches a submission to run about 20 ms, so that a submission's latency is
  // noise, from each tiling's fastest warm launch: sized from one early launch, the first tiling
  // (which compiles the shader) got a few launches a submission where the others got hundreds,
  // and read up to 2.7x slower than the same kernel under its own name.
  for (const started = performance.now(); performance.now() - started < 1000; ) {
    for (const run of runs) {
      const launched = performance.now();
      await run.once(1);
      run.fastest = Math.min(run.fastest, performance.now() - launched);
    }
  }
  for (const run of runs) run.repeat = Math.max(1, Math.min(200, Math.round(20 / Math.max(0.01, run.fastest))));
  // Rounds that take every tiling in turn, so that drift in the machine's speed falls on all
  // alike: 7 at least, and a second of timed work at least.
  const rounds = Math.max(7, Math.ceil(1000 / (20 * runs.length)));
  for (let round = 0; round < rounds; round++) {
    for (const run of runs) {
      const started = performance.now();
      await run.once(run.repeat);
      run.times.push((performance.now() - started) / run.repeat);
    }
  }
  for (const { label, plan, scratch, once, times } of runs) {
    const ms = times.sort((x, y) => x - y)[times.length >> 1];
    await once(1); // C as this tiling computes it
    // 64 entries (8 in each of 8 rows) against float64 sums on the CPU, relative to the sum of |terms|.
    let worst = 0;
    for (let probe = 0; probe < 8; probe++) {
      const i = Math.floor(random.next() * M);
      const encoder = device.createCommandEncoder();
      const readRow = recordReadBack(device, encoder, cBuffer, 4 * i * N, 4 * N);
      device.queue.submit([encoder.finish()]);
      const row = await readRow();
      for (let q = 0; q < 8; q++) {
        const j = Math.floor(random.next() * N);
        let sum = 0, magnitude = 0;
        for (let k = 0; k < K; k++) {
          const term = (s.a === 'mk' ? a[i * K + k] : a[k * M + i]) * (s.b === 'kn' ? b[k * N + j] : b[j * K + k]);
          sum += term;
          magnitude += Math.abs(term);
        }
        worst = Math.max(worst, Math.abs(row[j] - sum) / magnitude);
      }
    }
    const tflops = flops / ms / 1e9;
    const row = {
      ...s,
      tiling: isAuto(label) ? `${label} (${matmulTilingLabel(plan.tiling)})` : label,
      splits: plan.splits,
      ms: +ms.toFixed(4),
      tflops: +tflops.toFixed(2),
      ...(peakTflops ? { share_of_peak: +(tflops / peakTflops).toFixed(3) } : {}),
      ...(anchor ? { torch_ms: anchor.ms, vs_torch: +(anchor.ms / ms).toFixed(3) } : {}),
      worst_relative_error: +worst.toExponential(2),
    };
    results.push(row);
    console.error(`${s.model} ${s.layer} ${s.product} (${M}x${N}x${K}) ${row.tiling}: ${ms.toFixed(3)} ms, ${tflops.toFixed(1)} TFLOP/s${anchor ? `, ${row.vs_torch}x torch` : ''}, error ${worst.toExponential(1)}`);
    scratch?.destroy();
    if (worst > 1e-4) throw new Error(`matmul ${label} at ${M}x${N}x${K}: an entry is off by ${worst} of its terms' magnitude`);
  }
  for (const buffer of [aBuffer, bBuffer, cBuffer]) buffer.destroy();
}
await gpu.checkErrors();

// Per tiling: the step's products summed, as a training step runs them (forward + both gradients).
const totals: Record<string, Record<string, { ms: number; torch_ms?: number; vs_torch?: number }>> = {};
for (const r of results as { model: string; tiling: string; ms: number; torch_ms?: number }[]) {
  const tiling = r.tiling.startsWith('auto') ? r.tiling.split(' ')[0] : r.tiling;
  const entry = ((totals[r.model] ??= {})[tiling] ??= { ms: 0, ...(r.torch_ms !== undefined ? { torch_ms: 0 } : {}) });
  entry.ms += r.ms;
  if (entry.torch_ms !== undefined && r.torch_ms !== undefined) entry.torch_ms += r.torch_ms;
}
for (const model of Object.values(totals)) {
  for (const t of Object.values(model)) {
    t.ms = +t.ms.toFixed(3);
    if (t.torch_ms !== undefined) Object.assign(t, { torch_ms: +t.torch_ms.toFixed(3), vs_torch: +(t.torch_ms / t.ms).toFixed(3) });
  }
}
const anchorInfo = [...anchors.values()][0];
const report = {
  bench: 'matmul',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, gpu: gpu.adapter, node: process.versions.node, peak_tflops_fp32: peakTflops || undefined, dawn_flags: dawnFlags || undefined },
  anchor: anchorInfo ? { impl: 'torch.matmul fp32, TF32 off', torch: anchorInfo.torch, device: anchorInfo.device } : undefined,
  totals_per_layer_set: totals,
  results,
};
printReport(report, option('--out', ''));
process.exit(0);
