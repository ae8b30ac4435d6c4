// A checkpoint is one safetensors file: the parameters under their names (readable by any
// safetensors tool), AdamW's moments, and in the metadata the model config, the tokenizer, the
// step, the random state and the schedule state. Written atomically: a crash leaves the old one.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { GPTConfig } from '../model/config.js';
import { parameterLayout, slice } from '../model/parameters.js';
import type { OptimizerState } from './engine.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from './safetensors.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

export interface TrainingState {
  step: number;
  samplerState: number;
  plateau: unknown;
  settings: unknown;
}

export interface Checkpoint {
  config: GPTConfig;
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
    format: 'wavelet-gpt checkpoint 1',
    config: JSON.stringify(checkpoint.config),
    tokenizer: JSON.stringify(checkpoint.tokenizer),
    training: JSON.stringify({ ...checkpoint.training, adamwT: checkpoint.optimizer.t }),
  };
  writeFileAtomic(join(dir, CHECKPOINT_FILE), writeSafetensors(tensors, metadata));
}

export function loadCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new WaveletInputError(`--resume ${dir}: no ${CHECKPOINT_FILE} there`);
  const { metadata, tensors } = readSafetensors(readFileSync(path), path);
  if (metadata.format !== 'wavelet-gpt checkpoint 1') throw new WaveletInputError(`${path}: not a wavelet-gpt checkpoint (format ${JSON.stringify(metadata.format)})`);
  let config: GPTConfig, tokenizer: unknown, training: TrainingState & { adamwT: number };
  try {
    [config, tokenizer, training] = [JSON.parse(metadata.config), JSON.parse(metadata.tokenizer), JSON.parse(metadata.training)];
  } catch (error) {
    throw new WaveletInputError(`${path}: its metadata is not valid JSON (${(error as Error).message})`);
  }
  const layout = parameterLayout(config);
  const parameters = new Float32Array(layout.count);
  for (const t of layout.tensors) {
    const stored = tensors.get(t.name);
    if (!stored || stored.data.length !== t.size) throw new WaveletInputError(`${path}: tensor '${t.name}' is ${stored ? `of ${stored.data.length} values` : 'missing'}, the config needs ${t.size}`);
    parameters.set(stored.data, t.offset);
  }
  const m = tensors.get('adamw.m')?.data;
  const v = tensors.get('adamw.v')?.data;
  if (!m || !v || m.length !== layout.count || v.length !== layout.count) throw new WaveletInputError(`${path}: the optimizer state is missing or of the wrong size`);
  return { config, tokenizer, parameters, optimizer: { t: training.adamwT, m, v }, training };
}
