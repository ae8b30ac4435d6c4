// A checkpoint is one safetensors file: the parameters under their names (readable by any
// safetensors tool), the optimizer's state (`adamw.m`, `adamw.v` or `adagrad.sum`), and in the
// metadata the model config, the tokenizer, the step, the random state and the schedule state.
// Written atomically: a crash leaves the old one.

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { ModelConfig } from '../model/config.js';
import { parameterLayout, slice } from '../model/parameters.js';
import { OPTIMIZER_KINDS, OPTIMIZER_SLOTS, type OptimizerKind, type OptimizerState } from '../kernels/optimizer/ref.js';
import { writeSafetensors, type NamedTensor } from '../io/safetensors.js';
import { checkpointMetadata, parseCheckpoint, type ModelCheckpoint } from '../io/checkpoint.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

export interface TrainingState {
  step: number;
  samplerState: number;
  plateau: unknown;
  settings: unknown;
}

export interface Checkpoint {
  config: ModelConfig;
  tokenizer: unknown;
  parameters: Float32Array;
  optimizer: OptimizerState;
  training: TrainingState;
}

export function saveCheckpoint(dir: string, checkpoint: Checkpoint): void {
  const layout = parameterLayout(checkpoint.config);
  const tensors: NamedTensor[] = layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: slice(checkpoint.parameters, layout, t.name) }));
  const { kind, t, slots } = checkpoint.optimizer;
  for (const slot of OPTIMIZER_SLOTS[kind]) tensors.push({ name: `${kind}.${slot}`, shape: [layout.count], data: slots[slot] });
  const metadata = checkpointMetadata(checkpoint.config, checkpoint.tokenizer, { ...checkpoint.training, optimizer: { kind, t } });
  writeFileAtomic(join(dir, CHECKPOINT_FILE), writeSafetensors(tensors, metadata));
}

/**
 * The checkpoint at `path`, a run folder (its checkpoint.safetensors) or a checkpoint file, lean
 * exports too; `flag` names the path in the error when there is none.
 */
export function readCheckpointAt(path: string, flag: string): ModelCheckpoint {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, CHECKPOINT_FILE) : path;
  if (!existsSync(file)) throw new WaveletInputError(`${flag} ${path}: no such file${file !== path ? ` (a run folder holds ${CHECKPOINT_FILE})` : ''}`);
  return parseCheckpoint(readFileSync(file), file);
}

export function loadCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new WaveletInputError(`--resume ${dir}: no ${CHECKPOINT_FILE} there`);
  const { config, tokenizer, parameters, tensors, metadata } = parseCheckpoint(readFileSync(path), path);
  // Checkpoints from before Adagrad say `adamwT` instead of `optimizer`.
  let training: TrainingState & { optimizer?: { kind: OptimizerKind; t: number }; adamwT?: number };
  try {
    training = JSON.parse(metadata.training);
  } catch (error) {
    throw new WaveletInputError(`${path}: its training metadata is not valid JSON (${(error as Error).message})`);
  }
  const { kind, t } = training.optimizer ?? { kind: 'adamw', t: training.adamwT ?? 0 };
  if (!OPTIMIZER_KINDS.includes(kind)) throw new WaveletInputError(`${path}: optimizer '${kind}' in its training metadata; expected one of ${OPTIMIZER_KINDS.join(', ')}`);
  const count = parameters.length;
  const slots: Record<string, Float32Array> = {};
  for (const slot of OPTIMIZER_SLOTS[kind]) {
    const data = tensors.get(`${kind}.${slot}`)?.data;
    if (!(data instanceof Float32Array) || data.length !== count) throw new WaveletInputError(`${path}: the optimizer state is missing or of the wrong size (${kind}.${slot}; an inference-only checkpoint, int8, cannot be resumed)`);
    slots[slot] = data;
  }
  return { config, tokenizer, parameters, optimizer: { kind, t, slots }, training };
}

/**
 * Whether `path` is a checkpoint holding an optimizer's state (a run's checkpoint, which a writer
 * must not replace): read from the safetensors header alone.
 */
export function holdsTrainingState(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const fd = openSync(path, 'r');
  try {
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) < 8) return false;
    const length = Number(size.readBigUInt64LE());
    if (length > 100e6) return false;
    const header = Buffer.alloc(length);
    if (readSync(fd, header, 0, length, 8) < length) return false;
    const names = Object.keys(JSON.parse(header.toString('utf8')) as object);
    return OPTIMIZER_KINDS.some((kind) => OPTIMIZER_SLOTS[kind].every((slot) => names.includes(`${kind}.${slot}`)));
  } catch {
    return false; // not a safetensors file: not a checkpoint either
  } finally {
    closeSync(fd);
  }
}
