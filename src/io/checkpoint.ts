// A checkpoint read from bytes, anywhere (browser, worker, Node): the model config, the tokenizer
// and the weights. The training state it also holds (optimizer moments, step) is read by
// train/checkpoint.ts, which finds the bytes on disk.

import { WaveletInputError } from '../errors.js';
import { checkConfig, type ModelConfig } from '../model/config.js';
import { parameterLayout } from '../model/parameters.js';
import { portableNetwork } from '../model/portable.js';
import { readSafetensors, type NamedTensor } from './safetensors.js';
import { dequantizeInt8, SCALES_SUFFIX } from './int8.js';

export const CHECKPOINT_FORMAT = 'wavelet-gpt checkpoint 1';

/**
 * A checkpoint's metadata: the format, the model config and the tokenizer (what this package
 * reads back), the network as a portable description (what the PyTorch package and the ONNX
 * exporter run: model/portable.ts), and `training`, the trainer's state or what was exported.
 */
export function checkpointMetadata(config: ModelConfig, tokenizer: unknown, training: object): Record<string, string> {
  return {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(config),
    tokenizer: JSON.stringify(tokenizer),
    network: JSON.stringify(portableNetwork(config)),
    training: JSON.stringify(training),
  };
}

export interface ModelCheckpoint {
  config: ModelConfig;
  /** The tokenizer as saved (tokenizerFromJSON rebuilds it). */
  tokenizer: unknown;
  parameters: Float32Array;
  /** Every stored tensor (the optimizer's state for the trainer) and the metadata. */
  tensors: Map<string, NamedTensor>;
  /** Whether the weights were stored as int8 (infer/quantize.ts). */
  quantized: boolean;
  metadata: Record<string, string>;
}

/** Parses a checkpoint; `what` names it in errors (a path or URL). */
export function parseCheckpoint(bytes: Uint8Array, what: string): ModelCheckpoint {
  const { metadata, tensors } = readSafetensors(bytes, what);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new WaveletInputError(`${what}: not a wavelet-gpt checkpoint (format ${JSON.stringify(metadata.format)})`);
  let config: ModelConfig, tokenizer: unknown;
  try {
    [config, tokenizer] = [JSON.parse(metadata.config), JSON.parse(metadata.tokenizer)];
  } catch (error) {
    throw new WaveletInputError(`${what}: its metadata is not valid JSON (${(error as Error).message})`);
  }
  config = checkConfig(config);
  const layout = parameterLayout(config);
  // Every tensor checked against the config before the parameters are allocated (their size is the config's word).
  for (const t of layout.tensors) {
    const stored = tensors.get(t.name);
    if (!stored || stored.data.length !== t.size) throw new WaveletInputError(`${what}: tensor '${t.name}' is ${stored ? `of ${stored.data.length} values` : 'missing'}, the config needs ${t.size}`);
  }
  const parameters = new Float32Array(layout.count);
  let quantized = false;
  for (const t of layout.tensors) {
    const stored = tensors.get(t.name)!;
    if (stored.data instanceof Int8Array) {
      const scales = tensors.get(t.name + SCALES_SUFFIX)?.data;
      if (!(scales instanceof Float32Array) || scales.length !== t.shape[0]) throw new WaveletInputError(`${what}: int8 tensor '${t.name}' needs '${t.name}${SCALES_SUFFIX}', ${t.shape[0]} float32 scales`);
      parameters.set(dequantizeInt8(stored.data, scales, t.shape), t.offset);
      quantized = true;
    } else {
      parameters.set(stored.data, t.offset);
    }
  }
  // NaN or infinite weights generate garbage without a word (one model wrote newlines and exited 0).
  for (let i = 0; i < parameters.length; i++) {
    if (!Number.isFinite(parameters[i])) {
      const t = layout.tensors.find((tensor) => i >= tensor.offset && i < tensor.offset + tensor.size)!;
      throw new WaveletInputError(`${what}: tensor '${t.name}' holds ${parameters[i]} at index ${i - t.offset}; the weights must be finite (a diverged or damaged model)`);
    }
  }
  return { config, tokenizer, parameters, tensors, metadata, quantized };
}
