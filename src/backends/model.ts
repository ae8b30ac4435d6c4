// What every backend's model object offers. One object a model and backend owns the kernels
// (compiled pipelines, the wasm instance), the parameters and their offsets; training (forward,
// backward, update) and generation (decoders with their caches) are two modes of it, so the
// weights live once and nothing is compiled twice. dispose() frees what it holds.

import type { ModelConfig } from '../model/config.js';
import type { OptimizerSettings, OptimizerState } from '../kernels/optimizer/ref.js';
import type { Network } from '../model/network.js';
import { tensorRanges, type ParameterLayout } from '../model/parameters.js';

/** The backends, fastest first where each runs: the one place their names are written. */
export const BACKEND_NAMES = ['webgpu', 'wasm', 'js'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export type { OptimizerState };

export interface ModelOptions {
  config: ModelConfig;
  layout: ParameterLayout;
  parameters: Float32Array;
  /** The optimizer and its settings; without them the model is for generation only (no gradients or optimizer state allocated). */
  optimizer?: OptimizerSettings;
  /**
   * The network to run instead of the config's (networkOf(config)), on parameters laid out by
   * `layout`: how the per-layer tests run one layer on every backend.
   */
  network?: Network;
  /** Bytes a training step may take in all (backends/memory.ts); a step planned above it is refused with the figures. */
  memoryBudget?: number;
  /**
   * Parameters the optimizer leaves exactly as they are, by tensor name (fine-tuning part of a
   * model, LoRA's base weights): their gradients are zeroed before the norm and the update, and
   * their optimizer state is held at zero.
   */
  frozen?: readonly string[];
  /** wasm: threads sharing the work (workers over one shared memory); 1, the default, runs on this thread alone. */
  threads?: number;
}

/** The ranges of the parameters `options.frozen` names (checked against the layout). */
export function frozenRanges(options: ModelOptions): [number, number][] {
  return tensorRanges(options.layout, options.frozen ?? []);
}

/**
 * Generation with state kept between tokens: each layer's keys and values (a KV cache) and the
 * wavelet structure's ring of recent inputs, so a token costs O(context) attention and O(1)
 * wavelet work. B sequences advance together.
 */
export interface Decoder {
  readonly batch: number;
  /** Tokens each sequence holds so far. */
  readonly position: number;
  /** Feeds one token to each sequence; the logits (B, V) of the token after it. */
  step(tokens: ArrayLike<number>): Promise<Float32Array>;
  /** Back to position 0 (the cache's contents are ignored from then on). */
  reset(): void;
  dispose(): void;
}

/**
 * A model on one backend. Training calls may be made without awaiting the one before (a step's
 * micro-batches and its update, then one await): a backend does the work of each call in call
 * order, so the GPU waits for the CPU once a step.
 */
export interface BackendModel {
  readonly backend: BackendName;
  readonly config: ModelConfig;
  readonly layout: ParameterLayout;
  /** Forward and backward on tokens (B, T) predicting targets (B, T); adds scale * gradient; returns the mean loss. */
  forwardBackward(tokens: Int32Array, targets: Int32Array, B: number, T: number, scale: number): Promise<number>;
  /** Clips, takes one step of the optimizer at rate lr, zeroes the gradients; returns the gradient norm before clipping. */
  update(lr: number): Promise<number>;
  /** The mean loss, no gradient. */
  evaluate(tokens: Int32Array, targets: Int32Array, B: number, T: number): Promise<number>;
  /** Logits (V) of the token after the sequence, from a full forward pass. */
  nextLogits(tokens: Int32Array): Promise<Float32Array>;
  parameters(): Promise<Float32Array>;
  /** The gradients accumulated since the last update (laid out as the parameters). */
  gradients(): Promise<Float32Array>;
  optimizerState(): Promise<OptimizerState>;
  /** New parameters, and the optimizer's state to continue from (its kind must be the model's); without it the state restarts at zero. */
  load(parameters: Float32Array, optimizer?: OptimizerState): Promise<void>;
  /** A decoder for `batch` sequences on this model's weights and kernels, at position 0. */
  decoder(batch: number): Promise<Decoder>;
  /** Frees buffers, pipelines and memory; the model (and its decoders) cannot be used after. */
  dispose(): void;
}

/** A training call on a model made for generation only. */
export function trainingUnavailable(backend: BackendName): Error {
  return new Error(`${backend} model: made for generation (no optimizer settings); create it with 'optimizer' settings to train`);
}

/** What a backend gives to make a decoder: its step at a position, and its state's clearing and freeing. */
export interface DecoderParts {
  /** Runs one position for the B tokens (checked); gives (or promises) the logits (B, V). */
  run(tokens: ArrayLike<number>, position: number): Float32Array | Promise<Float32Array>;
  /** Clears the state kept between positions. */
  reset(): void;
  dispose(): void;
}

/** A decoder over a backend's parts: the position, the checks, reset and dispose, for every backend alike. */
export function makeDecoder(config: ModelConfig, batch: number, parts: DecoderParts): Decoder {
  let position = 0;
  return {
    batch,
    get position() {
      return position;
    },
    async step(tokens) {
      checkDecoderStep(config, batch, position, tokens);
      const logits = parts.run(tokens, position);
      position++; // before the logits arrive: a step issued without awaiting the last runs at the next position
      return logits;
    },
    reset() {
      position = 0;
      parts.reset();
    },
    dispose: () => parts.dispose(),
  };
}

function checkDecoderStep(config: ModelConfig, batch: number, position: number, tokens: ArrayLike<number>): void {
  if (tokens.length !== batch) throw new Error(`decoder: ${tokens.length} tokens for a batch of ${batch}`);
  if (position >= config.context) throw new Error(`decoder: the context of ${config.context} tokens is full; reset and feed the last tokens again`);
  for (let b = 0; b < batch; b++) {
    const token = tokens[b];
    if (!Number.isInteger(token) || token < 0 || token >= config.vocabSize) throw new Error(`decoder: token ${token} outside the vocabulary of ${config.vocabSize}`);
  }
}

/** An optimizer state given to load(): of this model's optimizer, every slot of its parameters' size. */
export function checkOptimizerState(backend: BackendName, settings: OptimizerSettings | undefined, count: number, state: OptimizerState): void {
  if (!settings) throw trainingUnavailable(backend);
  if (state.kind !== settings.kind) throw new Error(`${backend} model: an optimizer state of ${state.kind} given to a model training with ${settings.kind}`);
  for (const [name, slot] of Object.entries(state.slots)) {
    if (slot.length !== count) throw new Error(`${backend} model: optimizer slot '${name}' holds ${slot.length} values, the model ${count} parameters`);
  }
}
