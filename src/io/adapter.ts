// A LoRA adapter file: the adapters' tensors alone (a fine-tuning run's change to a model, a few
// hundredths of its size), the LoRA settings, and the config of the model they adapt, so that
// applying them to another model is refused by name rather than run as nonsense. A safetensors
// file, as PEFT's adapter_model.safetensors; the names are ours (h0.qkv.lora_a, ...).

import { WaveletInputError } from '../errors.js';
import { baseConfig } from '../model/adapters.js';
import { checkConfig, type ModelConfig } from '../model/config.js';
import { checkLora, isLoraTensor } from '../model/lora.js';
import { parameterLayout, slice } from '../model/parameters.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

export const ADAPTER_FORMAT = 'wavelet-gpt lora adapter 1';
export const ADAPTER_FILE = 'adapter.safetensors';

/** The adapter file of a model with adapters (config.lora), from its parameters. */
export function writeAdapter(config: ModelConfig, parameters: Float32Array): Uint8Array {
  if (!config.lora) throw new WaveletInputError('writeAdapter: the model has no LoRA adapters (config.lora)');
  const layout = parameterLayout(config);
  const tensors = layout.tensors.filter((t) => isLoraTensor(t.name)).map((t) => ({ name: t.name, shape: t.shape, data: slice(parameters, layout, t.name) }));
  return writeSafetensors(tensors, { format: ADAPTER_FORMAT, lora: JSON.stringify(config.lora), base: JSON.stringify(baseConfig(config)) });
}

/**
 * The model with the adapter of `bytes` (named `what` in errors) beside its weights: a config with
 * its LoRA settings and parameters laid out for it. The base must be the model the adapter was
 * trained on, in every size.
 */
export function applyAdapter(base: { config: ModelConfig; parameters: Float32Array }, bytes: Uint8Array, what: string): { config: ModelConfig; parameters: Float32Array } {
  const { metadata, tensors } = readSafetensors(bytes, what);
  if (metadata.format !== ADAPTER_FORMAT) throw new WaveletInputError(`${what}: not a wavelet-gpt LoRA adapter (format ${JSON.stringify(metadata.format)})`);
  if (base.config.lora) throw new WaveletInputError(`${what}: the model it would adapt has adapters of its own; merge them first (wavelet-gpt export)`);
  let lora: unknown, trainedOn: ModelConfig;
  try {
    [lora, trainedOn] = [JSON.parse(metadata.lora), JSON.parse(metadata.base)];
  } catch (error) {
    throw new WaveletInputError(`${what}: its metadata is not valid JSON (${(error as Error).message})`);
  }
  checkConfig(trainedOn);
  const field = differingField(trainedOn as unknown as Record<string, unknown>, base.config as unknown as Record<string, unknown>);
  if (field) throw new WaveletInputError(`${what}: an adapter for another model: '${field}' is ${JSON.stringify((trainedOn as unknown as Record<string, unknown>)[field])} there, ${JSON.stringify((base.config as unknown as Record<string, unknown>)[field])} in the model given`);
  const config = checkConfig({ ...base.config, lora: checkLora(lora) });
  const layout = parameterLayout(config);
  const parameters = new Float32Array(layout.count);
  parameters.set(base.parameters);
  for (const t of layout.tensors.filter((tensor) => isLoraTensor(tensor.name))) {
    const stored = tensors.get(t.name)?.data;
    if (!(stored instanceof Float32Array) || stored.length !== t.size) throw new WaveletInputError(`${what}: tensor '${t.name}' is ${stored ? `of ${stored.length} values` : 'missing'}, the adapter's settings need ${t.size}`);
    if (!stored.every(Number.isFinite)) throw new WaveletInputError(`${what}: tensor '${t.name}' holds a value that is not finite`);
    parameters.set(stored, t.offset);
  }
  return { config, parameters };
}

/** The first field in which two configs differ (by value), or undefined. */
function differingField(a: Record<string, unknown>, b: Record<string, unknown>): string | undefined {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  fields.delete('architecture'); // absent and 'gpt' say the same
  if ((a.architecture ?? 'gpt') !== (b.architecture ?? 'gpt')) return 'architecture';
  return [...fields].find((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
}
