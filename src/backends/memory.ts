// Memory planned before it is taken: the bytes a training step of a model at a batch shape needs
// on a backend, computed from the network's description (the buffers model/buffers.ts assigns,
// each layer's saved state, the loss's buffers, the weights, gradients and optimizer slots), and
// checked against what the backend allows: wasm32's 4 GiB, a WebGPU device's largest binding, and
// a budget the user sets. A step that does not fit is refused with the figures and a split into
// micro-batches that does (--micro-batch); planMicroBatch() finds that split.

import { BackendUnavailableError } from '../errors.js';
import { assignBuffers } from '../model/buffers.js';
import type { ModelConfig } from '../model/config.js';
import type { Network } from '../model/network.js';
import { parameterLayout } from '../model/parameters.js';
import { waveletPlanOf } from '../model/parameters.js';
import type { BackendName } from './model.js';

/** wasm32's address space: 65,536 pages of 64 KiB. */
export const WASM32_BYTES = 2 ** 32;
/** Of it, kept for what a plan does not count: the module's static data, the wavelet op's tables, decoders' caches. */
const WASM_RESERVED_BYTES = 64 * 2 ** 20;

export interface TrainingMemory {
  backend: BackendName;
  batch: number;
  context: number;
  /** Bytes by what holds them. */
  parts: { weights: number; gradients: number; optimizer: number; activations: number; layerState: number; loss: number };
  total: number;
  /** The largest single buffer (a GPU binding must hold it whole). */
  largestBuffer: number;
}

export interface MemoryLimits {
  /** Bytes the whole may take. */
  totalBytes?: number;
  /** Bytes one buffer may take. */
  bufferBytes?: number;
  /** Where the limits come from, for the message ("wasm32 holds 4 GiB", "--memory 2"). */
  why: string;
}

/**
 * What `backend` allows: wasm its address space, a WebGPU device its largest binding
 * (`bufferBytes`, from the device's limits), every backend the user's budget where one is set.
 */
export function memoryLimits(backend: BackendName, budgetBytes?: number, bufferBytes?: number, budgetWhy = 'the memory budget is'): MemoryLimits {
  const budget = budgetBytes !== undefined ? { totalBytes: budgetBytes, why: `${budgetWhy} ${formatBytes(budgetBytes)}` } : undefined;
  if (backend === 'wasm') {
    const room = WASM32_BYTES - WASM_RESERVED_BYTES;
    return budget && budget.totalBytes < room ? budget : { totalBytes: room, why: `wasm32 memory holds 4 GiB (${formatBytes(room)} of it for a step)` };
  }
  if (backend === 'webgpu' && bufferBytes !== undefined) return { ...budget, bufferBytes, why: `${budget ? `${budget.why}; ` : ''}this GPU binds at most ${formatBytes(bufferBytes)} a buffer` };
  return budget ?? { why: 'no limit set' };
}

/** A step that needs more memory than the backend allows; the chooser counts the backend out. */
export class MemoryPlanError extends BackendUnavailableError {
  override name = 'MemoryPlanError';
}

export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Floats of the wasm matmul gradients' scratch (assembly/model/layers.ts matmulScratchFloats: 64 rows by 512 channels, 64 by 8, 64 by 4 and a 4 x 8 block). */
const WASM_MATMUL_SCRATCH_FLOATS = 64 * 512 + 64 * 8 + 64 * 4 + 32;

/** The bytes of a training step of `config` at (B, T) on `backend`, with `slots` optimizer slots a parameter. */
export function trainingMemory(backend: BackendName, config: ModelConfig, network: Network, slots: number, B: number, T: number): TrainingMemory {
  const N = B * T;
  const P = parameterLayout(config).count;
  const V = config.vocabSize;
  const assignment = assignBuffers(network, 'train');
  let activations = 0;
  let largestBuffer = 4 * N * V;
  for (const width of assignment.widths) {
    activations += 4 * width * N;
    largestBuffer = Math.max(largestBuffer, 4 * width * N);
  }
  // What layers keep between forward and backward beyond their activations.
  let layerState = 0;
  for (const layer of network.layers) {
    let floats = 0;
    if (layer.kind === 'layernorm') floats = 2 * N; // mean and 1/std a row
    if (layer.kind === 'attention') floats = backend === 'webgpu' ? B * layer.heads * T : B * layer.heads * T * T + (network.widths.get(layer.out)! / layer.heads + 4) * Math.ceil(T / 8) * 8; // log-sum-exp a row (flash attention), or the probabilities and a thread's scratch (assembly: attentionScratchFloats)
    if (layer.kind === 'hadamard') floats = network.widths.get(layer.out)!;
    if (layer.kind === 'running_mean') floats = 2 * network.widths.get(layer.out)!;
    if (layer.kind === 'wavelet' && layer.taps) floats = waveletPlanOf(config)?.tapCount ?? 0;
    layerState += 4 * floats;
    largestBuffer = Math.max(largestBuffer, 4 * floats);
  }
  // wasm: the matmul gradients' packed panels, one for all the layers (a thread's: assembly's matmulScratchFloats)
  if (backend === 'wasm' && network.layers.some((layer) => layer.kind === 'linear')) layerState += 4 * WASM_MATMUL_SCRATCH_FLOATS;
  const loss = 4 * (2 * N + 2 * N * V); // tokens, targets, probabilities, their gradient
  // beside the slots, a byte a parameter: whether weight decay applies to it
  const parts = { weights: 4 * P, gradients: 4 * P, optimizer: 4 * P * slots + P, activations, layerState, loss };
  largestBuffer = Math.max(largestBuffer, 4 * P);
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { backend, batch: B, context: T, parts, total, largestBuffer };
}

/** The plan of a step at (B, T) as a function of B (the network's buffers assigned once): what the checks and the micro-batch search ask of. */
export function stepPlan(backend: BackendName, config: ModelConfig, network: Network, slots: number, T: number): (B: number) => TrainingMemory {
  return (B) => trainingMemory(backend, config, network, slots, B, T);
}

/** Why `plan` does not fit `limits`, or undefined when it does. */
export function memoryShortfall(plan: TrainingMemory, limits: MemoryLimits): string | undefined {
  if (limits.totalBytes !== undefined && plan.total > limits.totalBytes) {
    const { weights, gradients, optimizer, activations, layerState, loss } = plan.parts;
    return `a step at batch ${plan.batch} (context ${plan.context}) needs ${formatBytes(plan.total)} on ${plan.backend} (weights, gradients and optimizer ${formatBytes(weights + gradients + optimizer)}, activations ${formatBytes(activations + layerState + loss)}); ${limits.why}`;
  }
  if (limits.bufferBytes !== undefined && plan.largestBuffer > limits.bufferBytes) {
    return `a step at batch ${plan.batch} (context ${plan.context}) needs a buffer of ${formatBytes(plan.largestBuffer)} on ${plan.backend}; ${limits.why}`;
  }
  return undefined;
}

/**
 * The largest micro-batch dividing `batch` whose step fits, or undefined when not even one
 * sequence does. Equal micro-batches keep a step's gradient the mean over the whole batch.
 */
export function planMicroBatch(batch: number, fits: (micro: number) => boolean): number | undefined {
  for (let micro = batch; micro >= 1; micro--) if (batch % micro === 0 && fits(micro)) return micro;
  return undefined;
}

/** Throws MemoryPlanError naming the figures when a step does not fit; the message offers the split that does. */
export function checkTrainingMemory(plan: (B: number) => TrainingMemory, B: number, limits: MemoryLimits): void {
  const shortfall = memoryShortfall(plan(B), limits);
  if (!shortfall) return;
  const micro = planMicroBatch(B, (m) => memoryShortfall(plan(m), limits) === undefined);
  const advice = micro ? `; --micro-batch ${micro} (or auto) splits the batch into ${B / micro} micro-batches of ${micro} that fit, the same step` : '; not even one sequence fits: a smaller model or context';
  throw new MemoryPlanError(`${shortfall}${advice}`);
}

/** A backend model's check before it lays out a training step at (B, T): refuses what will not fit. */
export function checkStepMemory(backend: BackendName, config: ModelConfig, network: Network, slots: number, B: number, T: number, budgetBytes?: number, bufferBytes?: number): void {
  checkTrainingMemory(stepPlan(backend, config, network, slots, T), B, memoryLimits(backend, budgetBytes, bufferBytes));
}
