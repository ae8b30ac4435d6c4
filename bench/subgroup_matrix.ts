// Probe of the one tensor-core route WGSL has on the H200 (issue #12): Dawn's experimental
// subgroup matrices (chromium-experimental-subgroup-matrix, under allow_unsafe_apis), which there
// offer only int8 inputs with int32 results. fp32 training could reach them only through an
// emulation that splits each fp32 operand into int8 slices (the Ozaki scheme), costing several
// int8 products per fp32 product; whether that can beat our fp32 kernel depends first on how
// fast an int8 product runs through WGSL. This measures that: C (int32, M x N) = A (int8, M x K
// rows) . B^T (B int8, N x K rows), in tilings given on the command line, against PyTorch's
// torch._int_mm (cuBLASLt int8) and torch.matmul fp32 (TF32 off) from bench/anchors/torch_int8.py
// run in the same command. Each result is checked at 64 entries against exact integer sums on
// the CPU. Prints JSON.
// On the H200 (Dawn from the webgpu package 0.6.2, Vulkan driver 580) products are right only with
// --units words --dawn-features disable_robustness: bench/gpu_training/h200-subgroup-matrix/ says why.
// usage: node --import tsx bench/subgroup_matrix.ts [--tilings direct:4x2/2x4,staged:4x2/2x4/64,...]
//        [--shapes small,4096,gpt2] [--anchor FILE] [--out FILE]
//        A tiling: direct|staged:WMxWN/TMxTN[/BK]: WM x WN subgroups a workgroup, each TM x TN
//        result matrices of 16 x 16; 'direct' loads the matrices from storage buffers, 'staged'
//        stages BK columns of A's and B's tiles in workgroup memory (loads of 16 bytes, the next
//        tiles' held in registers while these are multiplied) and loads the matrices from there;
//        'mma' loads its matrices once and then only multiplies and adds, K / 32 times: not a
//        product (its results are not checked), the ceiling of the multiply-adds alone; 'wgload'
//        stages its first tiles once and then loads its matrices from them K / 32 times: the
//        ceiling with loads from workgroup memory (not checked either).
//        --layout: instead, products of patterned operands (16 x 16 x 32 and 32 x 32 x 64), whose
//        results say which elements the matrix loads read.
//        --dawn-features F,...: more of Dawn's features beside allow_unsafe_apis (disable_robustness)
//        --units elements|stride-words|words: the int8 matrix loads' offset and stride as the
//        proposal states them (int8 elements), or the stride, or both, in i32 words
//        --pad: storage buffers longer than their data, so that Offset + Stride x Rows x Cols of
//        every matrix load and store lies inside the buffer (the bound Dawn's proposal states for
//        them, looser than the matrix's last element)
//        --list: the shapes as JSON lines for the anchor's stdin; --print: the kernels' WGSL.

import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { printReport } from './report.js';
import { createBuffer, recordReadBack } from '../src/runtime/webgpu.js';
import { SeededRandom } from '../src/model/random.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

interface Tiling { label: string; kind: 'direct' | 'staged' | 'mma' | 'wgload'; wm: number; wn: number; tm: number; tn: number; bk: number }
function parseTiling(label: string): Tiling {
  const m = /^(direct|staged|mma|wgload):(\d+)x(\d+)\/(\d+)x(\d+)(?:\/(\d+))?$/.exec(label);
  if (!m) throw new Error(`--tilings: '${label}' is not direct|staged|mma|wgload:WMxWN/TMxTN[/BK] (like staged:4x2/2x4/64)`);
  const [wm, wn, tm, tn] = m.slice(2, 6).map(Number);
  const bk = Number(m[6] ?? 32);
  if (wm * wn * 32 > 1024) throw new Error(`--tilings: '${label}' has ${wm * wn} subgroups of 32, more than 1024 invocations`);
  if (bk % 32) throw new Error(`--tilings: '${label}': BK ${bk} is not a multiple of 32 (the matrices' K)`);
  return { label, kind: m[1] as Tiling['kind'], wm, wn, tm, tn, bk };
}
const units = option('--units', 'elements');
if (!['elements', 'stride-words', 'words'].includes(units)) throw new Error(`--units: expected elements, stride-words or words, found '${units}'`);
const tilings = option('--tilings', 'mma:2x2/2x2,wgload:2x2/2x2/64,direct:2x2/2x4,staged:2x2/2x2/64,staged:4x2/4x2/64,staged:2x4/4x2/64').split(',').map(parseTiling);

interface Shape { name: string; M: number; N: number; K: number }
const SHAPES: Record<string, Shape[]> = {
  small: [{ name: 'small', M: 256, N: 256, K: 64 }],
  '4096': [{ name: '4096^3', M: 4096, N: 4096, K: 4096 }],
  // GPT-2 124M's largest products (batch 8 x 1024): the head's logits (vocabulary padded to 256s)
  // and the MLP's up projection, as x . W^T.
  gpt2: [{ name: 'gpt2 head forward', M: 8192, N: 50432, K: 768 }, { name: 'gpt2 mlp up forward', M: 8192, N: 3072, K: 768 }],
};
const shapes = option('--shapes', 'small,4096,gpt2').split(',').flatMap((name) => {
  if (!(name in SHAPES)) throw new Error(`--shapes: unknown '${name}': expected some of ${Object.keys(SHAPES).join(', ')}`);
  return SHAPES[name];
});
if (args.includes('--print')) {
  // The kernels' WGSL, for reading.
  for (const t of tilings) console.log(`// ${t.label}\n${shader(t)}\n`);
  process.exit(0);
}
if (args.includes('--list')) {
  for (const s of shapes) console.log(JSON.stringify(s));
  process.exit(0);
}
const anchors = new Map<string, { int8_ms: number; fp32_ms: number; torch: string }>();
const anchorFile = option('--anchor', '');
if (anchorFile) {
  for (const line of readFileSync(anchorFile, 'utf8').split('\n').filter((l) => l.startsWith('{'))) {
    const r = JSON.parse(line);
    anchors.set(r.name, r);
  }
}

/**
 * The kernel for one tiling: the matrix types are M16 N16 K32 i8 -> i32, the adapter's config.
 * Every loop over a subgroup's matrices is written out, each matrix a variable of its own: in
 * arrays indexed in loops, more than four accumulators a subgroup ran 15 to 30 times slower
 * (the `mma` kernel at 2 x 4 and 4 x 4: 69 and 33 TOP/s against 1,014 at 2 x 2), as if the
 * arrays had left registers for memory.
 */
function shader(t: Tiling): string {
  const { wm, wn, tm, tn, bk } = t;
  const bm = wm * tm * 16, bn = wn * tn * 16;
  const left = 'subgroup_matrix_left<i8, 32, 16>', right = 'subgroup_matrix_right<i8, 16, 32>', result = 'subgroup_matrix_result<i32, 16, 16>';
  const rows = Array.from({ length: tm }, (_, i) => i), cols = Array.from({ length: tn }, (_, j) => j);
  const pairs = rows.flatMap((i) => cols.map((j) => [i, j]));
  const lines = (f: (x: number) => string, xs: number[]) => xs.map(f).join('\n');
  const accumulators = pairs.map(([i, j]) => `  var acc_${i}_${j} = ${result}();`).join('\n');
  // The matrices of A's rows and B's columns at (k offsets into) a source, then every product.
  // The offset and stride as the loads are given them: int8 elements as the proposal says, or,
  // with --units, the stride (or both) in words of the i32 array, which Dawn's SPIR-V was seen to
  // take without dividing by 4 (README of bench/gpu_training/h200-subgroup-matrix).
  const stride4 = (x: string) => (units === 'elements' ? x : `(${x}) / p.word`);
  const offset4 = (x: string) => (units === 'words' ? `(${x}) / p.word` : x);
  const step = (source: { a: string; b: string }, aOffset: (i: number) => string, bOffset: (j: number) => string, stride: string) => [
    lines((i) => `    let l_${i} = subgroupMatrixLoad<${left}, row_major>(${source.a}, ${offset4(aOffset(i))}, ${stride4(stride)});`, rows),
    lines((j) => `    let r_${j} = subgroupMatrixLoad<${right}, col_major>(${source.b}, ${offset4(bOffset(j))}, ${stride4(stride)});`, cols),
    pairs.map(([i, j]) => `    acc_${i}_${j} = subgroupMatrixMultiplyAccumulate(l_${i}, r_${j}, acc_${i}_${j});`).join('\n'),
  ].join('\n');
  const stores = pairs.map(([i, j]) => `  subgroupMatrixStore<row_major>(&c, (row0 + ${i * 16}u) * p.N + col0 + ${j * 16}u, acc_${i}_${j}, p.N);`).join('\n');
  const head = `// Every offset below is the same across a subgroup (it depends on the subgroup's index), which
// the analysis, working at workgroup scope, cannot see. (The rule's name changed between Dawn
// versions; the one a version does not know is a warning.)
diagnostic(off, chromium.subgroup_matrix_uniformity);
diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);
enable chromium_experimental_subgroup_matrix;
struct Params { M: u32, N: u32, K: u32, word: u32 } // word: 4, bytes an i32 (a uniform, so that a stride in words below the matrix's columns is not refused at compile time)
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> c: array<i32>;
`;
  const corner = `  let warp = lane / 32u;
  let row0 = group.y * ${bm}u + warp / ${wn}u * ${tm * 16}u; // this subgroup's first row and column of C
  let col0 = group.x * ${bn}u + warp % ${wn}u * ${tn * 16}u;`;
  if (t.kind === 'mma' || t.kind === 'direct') {
    const global = { a: '&a', b: '&b' };
    const body = t.kind === 'mma'
      ? `${step(global, (i) => `(row0 + ${i * 16}u) * p.K`, (j) => `(col0 + ${j * 16}u) * p.K`, 'p.K').replace(/^ {4}acc_.*$/gm, '')}
  for (var k = 0u; k < p.K; k += 32u) {
${pairs.map(([i, j]) => `    acc_${i}_${j} = subgroupMatrixMultiplyAccumulate(l_${i}, r_${j}, acc_${i}_${j});`).join('\n')}
  }`
      : `  for (var k = 0u; k < p.K; k += 32u) {
${step(global, (i) => `(row0 + ${i * 16}u) * p.K + k`, (j) => `(col0 + ${j * 16}u) * p.K + k`, 'p.K')}
  }`;
    return `${head}
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@compute @workgroup_size(${wm * wn * 32})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
${corner}
${accumulators}
${body}
${stores}
}`;
  }
  // Staged: a row of a tile is BK int8 (BK / 16 vec4<i32>), padded by 16 bytes so that the rows
  // a matrix load reads at once start in different banks.
  const threads = wm * wn * 32;
  const stride = bk + 16; // int8 a staged row
  const vecsA = (bm * bk) / 16, vecsB = (bn * bk) / 16;
  if (vecsA % threads || vecsB % threads) throw new Error(`tiling ${t.label}: its tiles are not a whole number of 16-byte loads an invocation`);
  const loadsA = Array.from({ length: vecsA / threads }, (_, i) => i), loadsB = Array.from({ length: vecsB / threads }, (_, i) => i);
  const fetch = (name: string, operand: string, first: string, n: number[], k: string) => lines((i) => `    ${name}_${i} = ${operand}[(${first} + (lane + ${i * threads}u) / ROW4) * k4 + ${k}(lane + ${i * threads}u) % ROW4];`, n);
  const put = (tile: string, name: string, n: number[]) => lines((i) => `    { let at = (lane + ${i * threads}u) / ROW4 * (STRIDE / 4u) + (lane + ${i * threads}u) % ROW4 * 4u; ${[0, 1, 2, 3].map((e) => `${tile}[at + ${e}u] = ${name}_${i}[${e}];`).join(' ')} }`, n);
  const kSteps = Array.from({ length: bk / 32 }, (_, s) => s * 32);
  // The staged tiles' BK columns, 32 at a time: their matrices loaded and multiplied.
  const multiplies = kSteps.map((kk) => `    {\n${step({ a: '&tile_a', b: '&tile_b' }, (i) => `(wrow + ${i * 16}u) * STRIDE + ${kk}u`, (j) => `(wcol + ${j * 16}u) * STRIDE + ${kk}u`, 'STRIDE').replace(/^ {4}/gm, '      ')}\n    }`).join('\n');
  return `${head}
@group(0) @binding(1) var<storage, read> a: array<vec4<i32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<i32>>;
const STRIDE = ${stride}u;
const ROW4 = ${bk / 16}u; // vec4s a row of a tile
var<workgroup> tile_a: array<i32, ${(bm * stride) / 4}>;
var<workgroup> tile_b: array<i32, ${(bn * stride) / 4}>;
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
${corner}
  let tile_row = group.y * ${bm}u;
  let tile_col = group.x * ${bn}u;
  let wrow = row0 - tile_row; // within the tile
  let wcol = col0 - tile_col;
  let k4 = p.K / 16u; // vec4s a row of A or B
${accumulators}
${lines((i) => `  var next_a_${i}: vec4<i32>;`, loadsA)}
${lines((i) => `  var next_b_${i}: vec4<i32>;`, loadsB)}
  {
${fetch('next_a', 'a', 'tile_row', loadsA, '')}
${fetch('next_b', 'b', 'tile_col', loadsB, '')}
  }
${t.kind === 'wgload' ? `${put('tile_a', 'next_a', loadsA)}
${put('tile_b', 'next_b', loadsB)}
  workgroupBarrier();
  for (var k = 0u; k < p.K; k += ${bk}u) {
${multiplies}
  }
` : `  for (var k = 0u; k < p.K; k += ${bk}u) {
${put('tile_a', 'next_a', loadsA)}
${put('tile_b', 'next_b', loadsB)}
    workgroupBarrier();
    if (k + ${bk}u < p.K) {
      let k_next = (k + ${bk}u) / 16u;
${fetch('next_a', 'a', 'tile_row', loadsA, 'k_next + ')}
${fetch('next_b', 'b', 'tile_col', loadsB, 'k_next + ')}
    }
${multiplies}
    workgroupBarrier();
  }
`}${stores}
}`;
}

// Dawn with the unsafe APIs that expose subgroup matrices; the instance stays referenced for the
// process's life (../shared/gpu/README.md: dawn.node crashes if it is collected).
const webgpu = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: object };
Object.assign(globalThis, webgpu.globals);
const gpu = webgpu.create([`enable-dawn-features=${['allow_unsafe_apis', ...option('--dawn-features', '').split(',').filter(Boolean)].join(',')}`]);
(globalThis as { keepGpu?: GPU }).keepGpu = gpu;
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('no WebGPU adapter');
const info = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: object[] };
const feature = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;
if (!adapter.features.has(feature)) {
  console.log(JSON.stringify({ note: `skipped: ${info.vendor} ${info.device || info.description} does not offer ${feature} (features: ${[...adapter.features].join(', ')})` }));
  process.exit(0);
}
const device = await adapter.requestDevice({
  requiredFeatures: ['subgroups' as GPUFeatureName, feature],
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize, maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize },
});
const errors: string[] = [];
device.addEventListener('uncapturederror', (event) => errors.push((event as GPUUncapturedErrorEvent).error.message));

const random = new SeededRandom(1);
const pad = args.includes('--pad');
/** `slack`: the bytes past the data that --pad adds. */
const buffer = (bytes: number, data?: Int8Array, slack = 0) => createBuffer(device, bytes + (pad ? slack : 0), undefined, data);
async function readInts(b: GPUBuffer, offset: number, bytes: number): Promise<Int32Array> {
  const encoder = device.createCommandEncoder();
  const read = recordReadBack(device, encoder, b, offset, bytes);
  device.queue.submit([encoder.finish()]);
  return new Int32Array((await read()).buffer);
}
/** The tiling's kernel bound to the uniforms and operands: `repeat` launches of a grid of `groups` workgroups, waited for. */
function launcher(t: Tiling, params: GPUBuffer, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, groups: [number, number]): (repeat: number) => Promise<void> {
  const module = device.createShaderModule({ code: shader(t) });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [params, a, b, c].map((resource, i) => ({ binding: i, resource: { buffer: resource } })) });
  return async (repeat) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    for (let r = 0; r < repeat; r++) pass.dispatchWorkgroups(...groups);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
}
/** The uniforms (word: 4, the shader's Params says why). */
function paramsFor(M: number, N: number, K: number): GPUBuffer {
  return createBuffer(device, 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, new Uint32Array([M, N, K, 4]));
}

if (args.includes('--layout')) {
  // Products of patterned operands, C = A . B^T: with one operand a selector (A[r][k] = 1 at one k
  // for each r), C[r][n] is the other operand's element as the kernel read it, and filled with
  // its own row or column index, that element says where the read came from. 16 x 16 x 32 is one
  // matrix product; 32 x 32 x 64 (two by two matrices, two steps along k) adds offsets.
  interface Case { name: string; M: number; N: number; K: number; a: (r: number, k: number) => number; b: (n: number, k: number) => number; expected: (r: number, n: number) => number; tiling: string }
  const cases: Case[] = [
    { name: 'B row read (16x16x32)', M: 16, N: 16, K: 32, a: (r, k) => +(k === r), b: (n) => n, expected: (_, n) => n, tiling: 'direct:1x1/1x1' },
    { name: 'B column read (16x16x32)', M: 16, N: 16, K: 32, a: (r, k) => +(k === r), b: (_, k) => k, expected: (r) => r, tiling: 'direct:1x1/1x1' },
    { name: 'A row read (16x16x32)', M: 16, N: 16, K: 32, a: (r) => r, b: (n, k) => +(k === n), expected: (r) => r, tiling: 'direct:1x1/1x1' },
    { name: 'A column read (16x16x32)', M: 16, N: 16, K: 32, a: (_, k) => k, b: (n, k) => +(k === n), expected: (_, n) => n, tiling: 'direct:1x1/1x1' },
    { name: 'B column read, first k step (32x32x64)', M: 32, N: 32, K: 64, a: (r, k) => +(k === r % 16), b: (_, k) => k, expected: (r) => r % 16, tiling: 'direct:1x1/2x2' },
    { name: 'B column read, second k step (32x32x64)', M: 32, N: 32, K: 64, a: (r, k) => +(k === 32 + (r % 16)), b: (_, k) => k, expected: (r) => 32 + (r % 16), tiling: 'direct:1x1/2x2' },
    { name: 'B row read, second k step (32x32x64)', M: 32, N: 32, K: 64, a: (r, k) => +(k === 32 + (r % 16)), b: (n) => n, expected: (_, n) => n, tiling: 'direct:1x1/2x2' },
    { name: 'A column read, second k step (32x32x64)', M: 32, N: 32, K: 64, a: (_, k) => k, b: (n, k) => +(k === 32 + (n % 16)), expected: (_, n) => 32 + (n % 16), tiling: 'direct:1x1/2x2' },
    { name: 'A row read, second k step (32x32x64)', M: 32, N: 32, K: 64, a: (r) => r, b: (n, k) => +(k === 32 + (n % 16)), expected: (r) => r, tiling: 'direct:1x1/2x2' },
    { name: 'sum of ones (32x32x64)', M: 32, N: 32, K: 64, a: () => 1, b: () => 1, expected: () => 64, tiling: 'direct:1x1/2x2' },
  ];
  const layout: object[] = [];
  for (const c of cases) {
    const a = Int8Array.from({ length: c.M * c.K }, (_, x) => c.a(Math.floor(x / c.K), x % c.K));
    const b = Int8Array.from({ length: c.N * c.K }, (_, x) => c.b(Math.floor(x / c.K), x % c.K));
    const [aBuffer, bBuffer, cBuffer] = [buffer(a.length, a, c.K * 512), buffer(b.length, b, c.K * 512), buffer(4 * c.M * c.N, undefined, 4 * c.N * 256)];
    await launcher(parseTiling(c.tiling), paramsFor(c.M, c.N, c.K), aBuffer, bBuffer, cBuffer, [1, 1])(1);
    const out = await readInts(cBuffer, 0, 4 * c.M * c.N);
    let right = 0;
    for (let r = 0; r < c.M; r++) for (let n = 0; n < c.N; n++) right += +(out[r * c.N + n] === c.expected(r, n));
    layout.push({ name: c.name, right_of: `${right} of ${c.M * c.N}`, ...(right < c.M * c.N ? { rows: Array.from({ length: c.M }, (_, r) => Array.from(out.slice(r * c.N, r * c.N + c.N)).join(' ')) } : {}) });
    console.error(`${c.name}: ${right} of ${c.M * c.N} right`);
  }
  printReport({ bench: 'subgroup_matrix --layout', units, pad, dawnFeatures: option('--dawn-features', ''), adapter: `${info.vendor} ${info.architecture} ${info.device}`, errors, layout }, option('--out', ''));
  process.exit(0);
}

const results: object[] = [];
for (const s of shapes) {
  const { M, N, K } = s;
  const a = Int8Array.from({ length: M * K }, () => Math.floor(random.next() * 255) - 127);
  const b = Int8Array.from({ length: N * K }, () => Math.floor(random.next() * 255) - 127);
  const [aBuffer, bBuffer, cBuffer] = [buffer(M * K, a, K * 512), buffer(N * K, b, K * 512), buffer(4 * M * N, undefined, 4 * N * 256)];
  const params = paramsFor(M, N, K);
  const anchor = anchors.get(s.name);
  interface Run { t: Tiling; skipped?: string; once?: (repeat: number) => Promise<void>; fastest: number; repeat: number; times: number[] }
  const runs: Run[] = [];
  const scopes: Promise<GPUError | null>[] = [];
  for (const t of tilings) {
    const run: Run = { t, fastest: Infinity, repeat: 1, times: [] };
    runs.push(run);
    const bm = t.wm * t.tm * 16, bn = t.wn * t.tn * 16;
    if (M % bm || N % bn || K % t.bk) {
      run.skipped = `${M}x${N}x${K} is not a whole number of ${bm}x${bn}x${t.bk} tiles`;
      continue;
    }
    device.pushErrorScope('validation');
    run.once = launcher(t, params, aBuffer, bBuffer, cBuffer, [N / bn, M / bm]);
    // A tiling the compiler refuses is reported and left out, so that one run can try several.
    scopes.push(device.popErrorScope().then((error) => {
      if (error) run.skipped = `refused: ${error.message.slice(0, 2000)}`;
      return error;
    }));
  }
  await Promise.all(scopes);
  const live = runs.filter((run): run is Run & { once: NonNullable<Run['once']> } => !!run.once && !run.skipped);
  // Warm up every tiling in turn for a second, then enough launches a submission for ~20 ms, then
  // rounds over all tilings (bench/matmul.ts says why each).
  for (const started = performance.now(); performance.now() - started < 1000; ) {
    for (const run of live) {
      const launched = performance.now();
      await run.once(1);
      run.fastest = Math.min(run.fastest, performance.now() - launched);
    }
  }
  for (const run of live) run.repeat = Math.max(1, Math.min(200, Math.round(20 / Math.max(0.01, run.fastest))));
  for (let round = 0; round < 7; round++) {
    for (const run of live) {
      const started = performance.now();
      await run.once(run.repeat);
      run.times.push((performance.now() - started) / run.repeat);
    }
  }
  for (const run of runs) {
    if (!run.once || run.skipped) {
      results.push({ ...s, tiling: run.t.label, skipped: run.skipped });
      continue;
    }
    const ms = run.times.sort((x, y) => x - y)[run.times.length >> 1];
    await run.once(1);
    // 'mma' and 'wgload' multiply the same tiles again and again: no product to check.
    const checked = run.t.kind === 'direct' || run.t.kind === 'staged';
    let wrong = 0;
    let firstWrong: object | undefined;
    for (let probe = 0; probe < (checked ? 8 : 0); probe++) {
      const i = Math.floor(random.next() * M);
      const row = await readInts(cBuffer, 4 * i * N, 4 * N);
      for (let q = 0; q < 8; q++) {
        const j = Math.floor(random.next() * N);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a[i * K + k] * b[j * K + k];
        if (row[j] !== sum) {
          wrong++;
          // What the kernel may have computed instead: operands read as unsigned, or the first
          // 32 k only.
          let unsigned = 0, first32 = 0;
          for (let k = 0; k < K; k++) unsigned += (a[i * K + k] & 255) * (b[j * K + k] & 255);
          for (let k = 0; k < 32; k++) first32 += a[i * K + k] * b[j * K + k];
          firstWrong ??= { i, j, got: row[j], expected: sum, unsigned, first32, neighbours: Array.from(row.slice(Math.max(0, j - 2), j + 3)) };
        }
      }
    }
    const tops = (2 * M * N * K) / ms / 1e9;
    const row = {
      ...s, tiling: run.t.label, ms: +ms.toFixed(4), tops: +tops.toFixed(1), ...(checked ? { wrong_of_64: wrong } : { checked: false }), ...(firstWrong ? { first_wrong: firstWrong } : {}),
      ...(anchor ? { torch_int8_ms: anchor.int8_ms, vs_torch_int8: +(anchor.int8_ms / ms).toFixed(3), torch_fp32_ms: anchor.fp32_ms, vs_torch_fp32: +(anchor.fp32_ms / ms).toFixed(3) } : {}),
    };
    results.push(row);
    console.error(`${s.name} ${run.t.label}: ${ms.toFixed(3)} ms, ${tops.toFixed(0)} TOP/s, ${checked ? `${wrong} of 64 entries wrong` : 'not checked'}${anchor ? `, ${row.vs_torch_int8}x torch int8, ${row.vs_torch_fp32}x torch fp32` : ''}`);
  }
  [aBuffer, bBuffer, cBuffer, params].forEach((x) => x.destroy());
}
if (errors.length) throw new Error(`WebGPU errors: ${errors.join('; ')}`);
printReport({
  bench: 'subgroup_matrix',
  date: new Date().toISOString(),
  units,
  pad,
  dawnFeatures: option('--dawn-features', ''),
  machine: { cpu: cpus()[0]?.model, adapter: `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim(), node: process.versions.node },
  subgroupMatrixConfigs: (info.subgroupMatrixConfigs as { componentType: string; resultComponentType: string; M: number; N: number; K: number }[] | undefined)?.map(({ componentType, resultComponentType, M, N, K }) => ({ componentType, resultComponentType, M, N, K })),
  anchor: anchors.size ? [...anchors.values()][0].torch : null,
  results,
}, option('--out', ''));
// A product with a wrong entry fails the run once its figures are printed: they are a finding
// (which units this Dawn takes), not a speed to quote.
const wrongProducts = results.filter((r) => ((r as { wrong_of_64?: number }).wrong_of_64 ?? 0) > 0).length;
if (wrongProducts) {
  console.error(`${wrongProducts} products had wrong entries: run --layout (with the same --units and --dawn-features) to see where the matrix loads read`);
  process.exitCode = 1;
}
