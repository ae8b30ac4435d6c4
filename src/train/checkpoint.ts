// A checkpoint is one safetensors file: the parameters under their names (readable by any
// safetensors tool), AdamW's moments, and in the metadata the model config, the tokenizer, the
// step, the random state and the schedule state. Written atomically: a crash leaves the old one.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { ModelConfig } from '../model/config.js';
import { parameterLayout, slice } from '../model/parameters.js';
import type { OptimizerState } from '../backends/model.js';
import { writeSafetensors, type NamedTensor } from '../io/safetensors.js';
import { CHECKPOINT_FORMAT, parseCheckpoint } from '../io/checkpoint.js';

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
  tensors.push({ name: 'adamw.m', shape: [layout.count], data: checkpoint.optimizer.m }, { name: 'adamw.v', shape: [layout.count], data: checkpoint.optimizer.v });
  const metadata = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(checkpoint.config),
    tokenizer: JSON.stringify(checkpoint.tokenizer),
    training: JSON.stringify({ ...checkpoint.training, adamwT: checkpoint.optimizer.t }),
  };
  writeFileAtomic(join(dir, CHECKPOINT_FILE), writeSafetensors(tensors, metadata));
}

export function loadCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new WaveletInputError(`--resume ${dir}: no ${CHECKPOINT_FILE} there`);
  const { config, tokenizer, parameters, tensors, metadata } = parseCheckpoint(readFileSync(path), path);
  let training: TrainingState & { adamwT: number };
  try {
    training = JSON.parse(metadata.training);
  } catch (error) {
    throw new WaveletInputError(`${path}: its training metadata is not valid JSON (${(error as Error).message})`);
  }
  const count = parameters.length;
  const m = tensors.get('adamw.m')?.data;
  const v = tensors.get('adamw.v')?.data;
  if (!(m instanceof Float32Array) || !(v instanceof Float32Array) || m.length !== count || v.length !== count) throw new WaveletInputError(`${path}: the optimizer state is missing or of the wrong size (an inference-only checkpoint, int8, cannot be resumed)`);
  return { config, tokenizer, parameters, optimizer: { t: training.adamwT, m, v }, training };
}
