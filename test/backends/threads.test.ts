// The wasm backend on several threads (runtime/wasm_threads.ts, backends/wasm/parallel.ts): every
// kernel shared out (the thresholds at 1, so that the small shapes here split too), a training
// step, an evaluation and decoding at batch 1 and 3 give the same bits at 1, 2 and 3 threads, on
// odd shapes (width 66: not a multiple of 4 or 8; 25 positions; output widths not a multiple of
// four). The 1-thread engine is itself held to the js backend by the model tables.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { WasmModel } from '../../src/backends/wasm/model.js';
import { PARALLEL_KERNELS, parallelKernels, chunkThresholds, splitRange, weightGradientBlocks, causalPieces } from '../../src/backends/wasm/parallel.js';
import { createThreadedWasmBackend, type WasmBackend } from '../../src/runtime/wasm.js';
import { DEFAULT_ADAMW } from '../../src/kernels/optimizer/ref.js';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { redrawWeights, WASM_BUILDS } from '../helpers.js';

const source = readFileSync(WASM_BUILDS[0].file);
const append = (list: number[], values: ArrayLike<number>) => {
  for (let i = 0; i < values.length; i++) list.push(values[i]);
};
const threadsSource = readFileSync(WASM_BUILDS[0].threadsFile);

test('splitRange: near-equal pieces on aligned boundaries, covering the range once', () => {
  assert.equal(splitRange(10, 3), [[0, 3], [3, 6], [6, 10]]);
  assert.equal(splitRange(10, 3, 4), [[0, 4], [4, 8], [8, 10]]);
  assert.equal(splitRange(2, 4), [[0, 1], [1, 2]]);
  assert.equal(splitRange(1, 3, 4), [[0, 1]]);
});

test('weightGradientBlocks: at most the count asked, on fours of output channels and eights of inputs, covering the gradient once', () => {
  for (const [OC, C, most] of [[30, 45, 4], [7, 133, 3], [128, 512, 8], [384, 128, 8], [27, 128, 16], [3, 5, 8], [512, 128, 1]]) {
    const blocks = weightGradientBlocks(OC, C, most);
    assert.ok(blocks.length >= 1 && blocks.length <= most, `${OC} x ${C}: ${blocks.length} blocks for at most ${most}`);
    const covered = new Uint8Array(OC * C);
    for (const [ocStart, ocEnd, cStart, cEnd] of blocks) {
      assert.ok(ocStart % 4 === 0 && cStart % 8 === 0 && ocEnd > ocStart && cEnd > cStart, `block ${[ocStart, ocEnd, cStart, cEnd]}`);
      for (let oc = ocStart; oc < ocEnd; oc++) for (let c = cStart; c < cEnd; c++) covered[oc * C + c]++;
    }
    assert.ok(covered.every((n) => n === 1), `${OC} x ${C}: an element in no block or in two`);
  }
  // few output channels by many inputs: cut both ways, not into thin strips down every input
  assert.ok(weightGradientBlocks(128, 512, 8).some(([, , cStart]) => cStart > 0));
});

test('causalPieces: ranges of queries or keys on fours covering 0..T once, each with about the same (query, key) pairs', () => {
  for (const [T, pieces, of] of [[25, 2, 'queries'], [512, 2, 'queries'], [512, 4, 'keys'], [1024, 10, 'queries'], [1024, 10, 'keys'], [3, 4, 'keys'], [8, 8, 'queries'], [510, 3, 'keys']] as const) {
    const ranges = causalPieces(T, pieces, of);
    assert.ok(ranges.length >= 1 && ranges.length <= pieces);
    assert.is(ranges[0][0], 0);
    assert.is(ranges.at(-1)![1], T);
    ranges.forEach(([start, end], i) => {
      assert.ok(end > start && start % 4 === 0 && (end % 4 === 0 || end === T), `range ${i}: ${start}..${end}`);
      if (i > 0) assert.is(start, ranges[i - 1][1]);
    });
    if (T >= 64 * pieces) {
      // pairs (t, u <= t) of a range of queries, or of keys: T(T + 1) / 2 in all
      const before = (end: number) => (of === 'queries' ? (end * (end + 1)) / 2 : (T * (T + 1)) / 2 - ((T - end) * (T - end + 1)) / 2);
      const work = ranges.map(([start, end]) => before(end) - before(start));
      const even = (T * (T + 1)) / 2 / pieces;
      assert.ok(work.every((w) => Math.abs(w - even) < 0.05 * even), `${T} in ${pieces}: ${work} against ${even} each`);
    }
  }
});

const gpt = checkConfig({ vocabSize: 29, context: 25, layers: 2, width: 66, heads: 3, feedForward: 130, headDense: 37, wavelet: { form: 'learnable' } });
for (const [name, config, build] of [
  ['GPT with learnable wavelets and a dense head', gpt, WASM_BUILDS[0]],
  ['GPT with learnable wavelets and a dense head, relaxed SIMD', gpt, WASM_BUILDS[1]],
  ['GPT with Haar wavelets (sequences shared out)', checkConfig({ ...gpt, wavelet: { form: 'haar' } }), WASM_BUILDS[0]],
  ['GPT with EMA wavelets (sequences shared out)', checkConfig({ ...gpt, wavelet: { form: 'ema' } }), WASM_BUILDS[1]],
  ['WaveletLM', checkConfig({ architecture: 'wavelet-lm', vocabSize: 29, context: 25, layers: 2, width: 66, levels: 2, mlpExpansion: 2, lowRank: 3, liftingSharing: 'shared' }), WASM_BUILDS[0]],
] as const) {
  test(`${name}: training, evaluation and decoding give the same bits at 1, 2 and 3 threads`, async () => {
    const saved = { ...chunkThresholds };
    Object.assign(chunkThresholds, { macs: 1, elements: 1 });
    try {
      const layout = parameterLayout(config);
      const random = new SeededRandom(11);
      const parameters = redrawWeights(initialParameters(config, layout, 4), layout, random, 0.3);
      const [B, T] = [3, 25];
      const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
      const targets = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
      const runs: number[][] = [];
      for (const threads of [1, 2, 3]) {
        const model = await WasmModel.create({ config, layout, parameters, optimizer: DEFAULT_ADAMW, threads }, readFileSync(build.file), readFileSync(build.threadsFile));
        assert.is(model.threads, threads);
        assert.is(model.relaxedSimd, build.relaxed);
        const seen: number[] = [];
        for (let step = 0; step < 2; step++) {
          seen.push(await model.forwardBackward(tokens, targets, B, T, 1));
          append(seen, await model.gradients());
          seen.push(await model.update(1e-2));
        }
        append(seen, await model.parameters());
        seen.push(await model.evaluate(tokens, targets, B, T));
        for (const batch of [1, 3]) {
          const decoder = await model.decoder(batch);
          for (let t = 0; t < 6; t++) append(seen, await decoder.step(Array.from({ length: batch }, (_, b) => tokens[b * T + t])));
          decoder.dispose();
        }
        model.dispose();
        runs.push(seen);
      }
      for (const threads of [2, 3]) {
        const run = runs[threads - 1];
        assert.is(run.length, runs[0].length);
        const first = run.findIndex((value, i) => !Object.is(value, runs[0][i]));
        assert.is(first, -1, `${threads} threads: value ${first} is ${run[first]}, one thread's ${runs[0][first]}`);
      }
    } finally {
      Object.assign(chunkThresholds, saved);
    }
  });
}

/**
 * Runs `body` on a backend of `threads` threads with chunkThresholds set to `thresholds` (smaller
 * work shared out than a model would), then disposes the pool and restores the thresholds.
 */
async function withThreads(threads: number, thresholds: Partial<typeof chunkThresholds>, body: (wasm: WasmBackend) => Promise<void> | void): Promise<void> {
  const saved = { ...chunkThresholds };
  Object.assign(chunkThresholds, thresholds);
  let wasm: WasmBackend | undefined;
  try {
    wasm = await createThreadedWasmBackend(threads, PARALLEL_KERNELS, threadsSource);
    await body(wasm);
  } finally {
    wasm?.pool?.dispose();
    Object.assign(chunkThresholds, saved);
  }
}

test('threads: the gradients\' squared norm is the float64 sum of squares, the same bits at 1, 2 and 3 threads', async () => {
  const saved = { ...chunkThresholds };
  chunkThresholds.elements = 1;
  const pools = await Promise.all([2, 3].map((threads) => createThreadedWasmBackend(threads, PARALLEL_KERNELS, threadsSource)));
  try {
    const random = new SeededRandom(11);
    const block = pools[0].kernels.squaresBlock();
    for (const n of [1, 7, block - 1, block + 5, 3 * block + 3]) {
      const values = Float32Array.from({ length: n }, () => random.normal() * 3);
      let expected = 0;
      for (const v of values) expected += v * v;
      const sums = pools.map((wasm) => {
        const x = wasm.arena.put(values);
        const blocks = wasm.arena.alloc(8 * Math.ceil(n / block));
        // one thread: the same kernel, every block in one call
        const alone = Object.assign(Object.create(null), wasm, { pool: undefined });
        return [parallelKernels(alone).sumSquares(x, n, blocks), parallelKernels(wasm).sumSquares(x, n, blocks)];
      }).flat();
      assert.ok(Math.abs(sums[0] - expected) <= 1e-12 * expected, `n ${n}: ${sums[0]} against ${expected}`);
      for (const sum of sums) assert.ok(Object.is(sum, sums[0]), `n ${n}: ${sums.join(', ')}`);
    }
  } finally {
    for (const wasm of pools) wasm.pool!.dispose();
    Object.assign(chunkThresholds, saved);
  }
});

test('threads: a wake-up that comes after its section has run does not run that section again', async () => {
  // run() bumps the generation, then notifies; a worker that found the bump while spinning can
  // have run its share and be asleep again when that notify lands. Here the late notify is sent
  // by hand while the workers sleep, after a section that accumulates (GELU's backward adds into
  // dinp): running it again would change dinp, and counting it done twice would let the next
  // section return before its workers finish.
  await withThreads(3, { elements: 1 }, async (wasm) => {
    const n = 301;
    const random = new SeededRandom(5);
    const [dinp, inp, dout, out] = [0, 1, 2, 3].map(() => wasm.arena.alloc(4 * n));
    wasm.arena.f32(inp, n).set(Float32Array.from({ length: n }, () => random.normal()));
    wasm.arena.f32(dout, n).set(Float32Array.from({ length: n }, () => random.normal()));
    wasm.arena.f32(dinp, n).fill(0);
    const par = parallelKernels(wasm);
    par.geluBackward(dinp, inp, dout, n, 0);
    const once = Float32Array.from(wasm.arena.f32(dinp, n));
    assert.ok(once.some((v) => v !== 0));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(200); // the workers stop spinning and sleep in Atomics.wait
    const control = (wasm.pool as unknown as { control: Int32Array }).control; // the generation is its first int
    assert.ok(Atomics.notify(control, 0) > 0, 'no worker was asleep to wake');
    await sleep(200);
    assert.equal(Array.from(wasm.arena.f32(dinp, n)), Array.from(once), 'a worker ran its GELU share again');
    wasm.arena.f32(out, n).fill(-1);
    par.residualForward(out, inp, dout, n);
    const sums = wasm.arena.f32(out, n);
    const [a, b] = [wasm.arena.f32(inp, n), wasm.arena.f32(dout, n)];
    for (let i = 0; i < n; i++) assert.is(sums[i], Math.fround(a[i] + b[i]), `out[${i}] when the next section returned`);
  });
});

/**
 * A product's random dout, inp and w in `wasm`'s memory, and a function giving its gradients
 * [dinp, dw, dbias], from buffers of 0.5s, by this thread alone or shared out (fresh 1: dinp
 * written, not added into).
 */
function matmulGradients(wasm: WasmBackend, N: number, C: number, OC: number, random: SeededRandom): (parallel: boolean, fresh: number) => number[] {
  const a = wasm.arena;
  const filled = (n: number) => {
    const ptr = a.alloc(4 * n);
    a.f32(ptr, n).set(Float32Array.from({ length: n }, () => random.normal()));
    return ptr;
  };
  const [dout, inp, w] = [filled(N * OC), filled(N * C), filled(OC * C)];
  const k = wasm.kernels;
  return (parallel, fresh) => {
    const [dinp, dw, dbias] = [a.alloc(4 * N * C), a.alloc(4 * OC * C), a.alloc(4 * OC)];
    for (const [ptr, n] of [[dinp, N * C], [dw, OC * C], [dbias, OC]]) a.f32(ptr, n).fill(0.5);
    const scratch = a.alloc(4 * k.matmulScratchFloats() * (wasm.pool?.threads ?? 1));
    if (parallel) parallelKernels(wasm).matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, fresh);
    else k.matmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC, scratch, fresh);
    return [...a.f32(dinp, N * C), ...a.f32(dw, OC * C), ...a.f32(dbias, OC)];
  };
}

test('threads: chunks a thread takes from another thread\'s run give the bits their owner would, with its own scratch', async () => {
  // Workers asleep take some hundred microseconds to wake, and this thread, done with its own run
  // of tiny chunks, takes theirs meanwhile: taken chunks must run on the taker's scratch (the
  // matmul gradients pack into it) and write what one thread writes.
  await withThreads(3, { macs: 1, elements: 1 }, async (wasm) => {
    const [N, C, OC] = [37, 21, 30];
    const gradients = matmulGradients(wasm, N, C, OC, new SeededRandom(9));
    const alone = [gradients(false, 0), gradients(false, 1)];
    let taken = 0;
    for (let attempt = 0; attempt < 20 && taken === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the workers go to sleep
      const fresh = attempt % 2;
      const before = wasm.pool!.chunksTakenFromOthers;
      const shared = gradients(true, fresh);
      taken = wasm.pool!.chunksTakenFromOthers - before;
      const first = shared.findIndex((value, i) => !Object.is(value, alone[fresh][i]));
      assert.is(first, -1, `fresh ${fresh}, value ${first}: ${shared[first]} against one thread's ${alone[fresh][first]}`);
    }
    assert.ok(taken > 0, 'no chunk was ever taken from another thread\'s run');
  });
});

test('threads: the matmul gradients with the weights\' gradient cut both ways give one thread\'s bits (odd widths, dbias once)', async () => {
  await withThreads(4, { macs: 1, elements: 1 }, async (wasm) => {
    for (const [N, C, OC] of [[37, 45, 30], [5, 133, 7], [9, 64, 8]]) {
      assert.ok(weightGradientBlocks(OC, C, 4).some(([, , cStart]) => cStart > 0), `${OC} x ${C} is not cut by inputs: pick another shape`);
      const gradients = matmulGradients(wasm, N, C, OC, new SeededRandom(N));
      const alone = gradients(false, 0);
      const shared = gradients(true, 0);
      const first = shared.findIndex((value, i) => !Object.is(value, alone[i]));
      assert.is(first, -1, `${N} x ${C} -> ${OC}, value ${first}: ${shared[first]} against one thread's ${alone[first]}`);
    }
  });
});

test('threads: a profiled section accounts for each thread\'s time: inside chunks, before the first, after the last, between', async () => {
  await withThreads(3, {}, async (wasm) => {
    const kernels = wasm.kernels as unknown as Record<string, (...args: number[]) => unknown>;
    const floats = 1 << 20;
    const big = wasm.arena.alloc(4 * floats);
    const chunks = splitRange(floats, 12, 4).map(([start, end]) => [big + 4 * start, end - start]);
    wasm.pool!.run(kernels, 'zeroFloats', chunks); // not profiled
    wasm.pool!.startProfiling();
    for (let i = 0; i < 5; i++) wasm.pool!.run(kernels, 'zeroFloats', chunks);
    const profiles = wasm.pool!.stopProfiling();
    wasm.pool!.run(kernels, 'zeroFloats', chunks);
    assert.equal(Object.keys(profiles), ['zeroFloats']);
    const { sections, wallMs, busyMs, startMs, tailMs } = profiles.zeroFloats;
    assert.is(sections, 5);
    assert.ok(busyMs > 0 && startMs >= 0 && tailMs >= 0, JSON.stringify(profiles.zeroFloats));
    // three threads' time: the parts are each inside it, and together no more than it (clocks read a microsecond apart)
    assert.ok(busyMs + startMs + tailMs <= 3 * wallMs + 0.01, JSON.stringify(profiles.zeroFloats));
    assert.equal(wasm.pool!.stopProfiling(), {}, 'profiling went on after stopProfiling');
  });
});

test('threads: a chunk that fails in a worker fails its section with the worker\'s message, and the next section runs', async () => {
  await withThreads(2, {}, async (wasm) => {
    const kernels = wasm.kernels as unknown as Record<string, (...args: number[]) => unknown>;
    const floats = 1 << 22;
    const big = wasm.arena.alloc(4 * floats);
    wasm.arena.f32(big, floats).fill(1);
    wasm.pool!.run(kernels, 'zeroFloats', [[big, 4], [big + 16, 4]]); // the worker is awake and spinning
    // chunk 0 (this thread's) takes milliseconds, so the worker runs chunk 1, past the memory's end
    const error = (() => {
      try {
        wasm.pool!.run(kernels, 'zeroFloats', [[big, floats], [0xffffff00, 64]]);
      } catch (e) {
        return e as Error;
      }
    })();
    assert.match(error?.message ?? 'no error', /^wasm threads: 'zeroFloats' failed on thread 1: .*out of bounds/);
    assert.is(wasm.arena.f32(big, floats).some((v) => v !== 0), false, 'this thread\'s chunk did not finish');
    wasm.arena.f32(big, 8).fill(1);
    wasm.pool!.run(kernels, 'zeroFloats', [[big, 4], [big + 16, 4]]);
    assert.equal(Array.from(wasm.arena.f32(big, 8)), [0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

test('threads: a count that is not a positive integer is refused by name', async () => {
  const config = checkConfig({ vocabSize: 5, context: 4, layers: 1, width: 8, heads: 2, feedForward: 8, headDense: 0, wavelet: null });
  const layout = parameterLayout(config);
  for (const threads of [0, 1.5, -2]) {
    const error = await WasmModel.create({ config, layout, parameters: initialParameters(config, layout, 1), threads }, source, threadsSource).then(() => undefined, (e: Error) => e);
    assert.match(error?.message ?? '', new RegExp(`threads: expected an integer >= 1, found ${threads}`));
  }
});

test.run();
