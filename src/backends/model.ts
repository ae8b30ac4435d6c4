// What the trainer needs of a backend: forward and backward on a micro-batch with gradients
// accumulated, one optimizer update, evaluation, next-token logits, and its state in and out
// for checkpoints. Each backend (js, wasm, webgpu) implements it over its own buffers.

import type { GPTConfig } from '../model/config.js';
import type { ParameterLayout } from '../model/parameters.js';
import type { AdamWSettings } from '../kernels/adamw/ref.js';

export type BackendName = 'js' | 'wasm' | 'webgpu';

export interface OptimizerState {
  /** Updates taken so far (AdamW's t). */
  t: number;
  m: Float32Array;
  v: Float32Array;
}

/**
 * A model's training and evaluation on one backend. Calls may be made without awaiting the one
 * before (a step's micro-batches and its update, then one await): an engine does the work of
 * each call in call order, so the GPU engine waits for the CPU once a step.
 */
export interface TrainingEngine {
  readonly backend: BackendName;
  readonly config: GPTConfig;
  readonly layout: ParameterLayout;
  /** Forward and backward on tokens (B, T) predicting targets (B, T); adds scale * gradient; returns the mean loss. */
  forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number>;
  /** Clips, takes one AdamW step at rate lr, zeroes the gradients; returns the gradient norm before clipping. */
  update(lr: number): Promise<number>;
  /** The mean loss, no gradient. */
  evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number>;
  /** Logits (V) of the token after the sequence. */
  nextLogits(tokens: Int32Array): Promise<Float32Array>;
  parameters(): Promise<Float32Array>;
  optimizerState(): Promise<OptimizerState>;
  load(parameters: Float32Array, optimizer: OptimizerState): Promise<void>;
}

export interface EngineOptions {
  config: GPTConfig;
  layout: ParameterLayout;
  parameters: Float32Array;
  adamw: AdamWSettings;
}
