// A model with LoRA adapters as a plain model again: each adapted matrix W + (alpha / r) B A, the
// adapters' tensors dropped. Generation runs merged (no extra layers a token); the adapters alone
// are what a fine-tuning run saves apart (io/adapter.ts).

import type { ModelConfig } from './config.js';
import { isLoraTensor, loraTargets, mergeLoraInto } from './lora.js';
import { parameterLayout, slice } from './parameters.js';

/** The config without its adapters. */
export function baseConfig(config: ModelConfig): ModelConfig {
  const { lora: _adapters, ...base } = config;
  return base as ModelConfig;
}

/** Parameters of a model with adapters, merged into the base model's layout (a model without adapters comes back as it is). */
export function mergeAdapters(config: ModelConfig, parameters: Float32Array): { config: ModelConfig; parameters: Float32Array } {
  if (!config.lora) return { config, parameters };
  const layout = parameterLayout(config);
  const base = baseConfig(config);
  const baseLayout = parameterLayout(base);
  // The adapters' tensors come after the model's own (parameters.ts): the base is a prefix.
  const merged = parameters.slice(0, baseLayout.count);
  mergeLoraInto(config.lora, loraTargets(baseLayout.tensors, config.lora), (name) => (isLoraTensor(name) ? slice(parameters, layout, name) : slice(merged, baseLayout, name)));
  return { config: base, parameters: merged };
}

/** The names of a layout's adapter tensors and of the rest (what fine-tuning with adapters freezes). */
export function splitAdapterTensors(config: ModelConfig): { adapters: string[]; base: string[] } {
  const names = parameterLayout(config).tensors.map((t) => t.name);
  return { adapters: names.filter(isLoraTensor), base: names.filter((name) => !isLoraTensor(name)) };
}
