// The wavelet op on the WebAssembly SIMD backend (assembly/wavelet.ts). A WasmWaveletOp binds a
// plan to one module instance: the plan's tables are written into wasm memory once, and forward
// and backward then run on buffers that already live there (byte offsets), copying nothing.
// forward/backward with typed arrays are the copying convenience for tests and tfjs.

import type { WasmBackend } from '../../runtime/wasm.js';
import { checkActivation, type ActivationShape, type WaveletPlan } from '../../model/wavelet_plan.js';
import type { WaveletGradients } from './ref.js';

const PLAN_STRUCT_BYTES = 24; // assembly/wavelet.ts `Plan`: six 4-byte fields

/**
 * The Haar or EMA filter over B sequences of T rows of E channels (assembly/wavelet.ts
 * streamingFilter): `state` is E float64 for each thread that may run it. The wasm engine passes
 * one that shares the sequences out across its threads.
 */
export type StreamingFilter = (ema: number, reverse: number, plan: number, x: number, y: number, B: number, T: number, E: number, state: number) => void;

export class WasmWaveletOp {
  private readonly planPtr: number;
  private readonly tapOffsetsPtr: number;
  private readonly statePtr: number;
  private readonly packedPtr: number;
  private readonly packedGradPtr: number;
  private readonly packedCount: number;

  private readonly streamingFilter: StreamingFilter;

  constructor(readonly backend: WasmBackend, readonly plan: WaveletPlan, streamingFilter?: StreamingFilter) {
    const { arena, kernels } = backend;
    const E = plan.channels;
    const windows = arena.put(plan.windows);
    const invWindows = arena.put(Float64Array.from(plan.windows, (f) => (f > 0 ? 1 / f : 0)));
    const alphas = arena.put(Float64Array.from(plan.alphas));
    const runs = arena.alloc(12 * E);
    const runCount = kernels.planRuns(windows, E, runs);
    this.planPtr = arena.alloc(PLAN_STRUCT_BYTES);
    arena.i32(this.planPtr, 6).set([E, windows, invWindows, alphas, runs, runCount]);
    this.tapOffsetsPtr = arena.put(plan.tapOffsets);
    this.statePtr = arena.alloc(8 * E * (backend.pool?.threads ?? 1)); // a running state a thread
    this.streamingFilter = streamingFilter ?? ((ema, reverse, plan, x, y, B, T, _E, state) => kernels.streamingFilter(ema, reverse, plan, x, y, B, T, state));
    // Packed taps: per group of four channels, as many v128 as its longest window.
    let packedVectors = 0;
    if (plan.form === 'learnable') {
      const runTable = arena.i32(runs, 3 * runCount);
      for (let r = 0; r < runCount; r++) {
        if (!runTable[3 * r + 2]) continue;
        for (let c = runTable[3 * r]; c + 4 <= runTable[3 * r + 1]; c += 4) packedVectors += Math.max(...plan.windows.subarray(c, c + 4));
      }
    }
    this.packedCount = packedVectors;
    this.packedPtr = arena.alloc(16 * packedVectors);
    this.packedGradPtr = arena.alloc(16 * packedVectors);
  }

  /** y = filter(x); x, y, taps are byte offsets of (B, T, E) and tapCount float32 in wasm memory. */
  forwardAt(shape: ActivationShape, x: number, y: number, taps = 0): void {
    this.filterAt(false, shape, x, y, taps);
  }

  /** dx = filter^T(dy) and, for the learnable form, dTaps; all byte offsets in wasm memory. */
  backwardAt(shape: ActivationShape, x: number, dy: number, dx: number, taps = 0, dTaps = 0): void {
    this.filterAt(true, shape, dy, dx, taps);
    if (this.plan.form === 'learnable') this.tapGradientAt(shape, x, dy, dTaps);
  }

  /** dTaps[c, k] = sum_{b, t} dy[t, c] x[t - k, c] (learnable form); byte offsets in wasm memory. */
  tapGradientAt(shape: ActivationShape, x: number, dy: number, dTaps: number): void {
    const { batch, time } = shape;
    this.backend.kernels.learnableTapGradient(this.planPtr, x, dy, batch, time, this.tapOffsetsPtr, this.packedCount, this.packedGradPtr, dTaps);
  }

  /** output = filter(input), or filter^T(input) (the backward pass for x) when `reverse`. */
  filterAt(reverse: boolean, shape: ActivationShape, input: number, output: number, taps: number): void {
    const { kernels } = this.backend;
    const { batch: B, time: T } = shape;
    if (this.plan.form === 'learnable') {
      kernels.packTaps(this.planPtr, taps, this.tapOffsetsPtr, this.packedPtr, 1);
      kernels.learnableFilter(+reverse, this.planPtr, input, output, B, T, taps, this.tapOffsetsPtr, this.packedPtr);
    } else {
      this.streamingFilter(+(this.plan.form === 'ema'), +reverse, this.planPtr, input, output, B, T, this.plan.channels, this.statePtr);
    }
  }

  forward(shape: ActivationShape, x: Float32Array, taps?: Float32Array): Float32Array {
    return this.filter(false, shape, x, taps);
  }

  /** Copies in, runs filterAt, copies out. */
  filter(reverse: boolean, shape: ActivationShape, input: Float32Array, taps?: Float32Array): Float32Array {
    checkActivation(this.plan, shape, input.length, 'input', taps);
    const { arena } = this.backend;
    const mark = arena.mark();
    try {
      const inPtr = arena.put(input);
      const outPtr = arena.alloc(input.byteLength);
      this.filterAt(reverse, shape, inPtr, outPtr, taps ? arena.put(taps) : 0);
      return arena.f32(outPtr, input.length).slice();
    } finally {
      arena.release(mark);
    }
  }

  backward(shape: ActivationShape, x: Float32Array, dy: Float32Array, taps?: Float32Array): WaveletGradients {
    checkActivation(this.plan, shape, x.length, 'x', taps);
    checkActivation(this.plan, shape, dy.length, 'dy', taps);
    const { arena } = this.backend;
    const mark = arena.mark();
    try {
      const xPtr = arena.put(x);
      const dyPtr = arena.put(dy);
      const dxPtr = arena.alloc(x.byteLength);
      const tapsPtr = taps ? arena.put(taps) : 0;
      const dTapsPtr = arena.alloc(4 * this.plan.tapCount);
      this.backwardAt(shape, xPtr, dyPtr, dxPtr, tapsPtr, dTapsPtr);
      return { dx: arena.f32(dxPtr, x.length).slice(), dTaps: arena.f32(dTapsPtr, this.plan.tapCount).slice() };
    } finally {
      arena.release(mark);
    }
  }
}
