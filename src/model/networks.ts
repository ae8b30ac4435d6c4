// The network of a config, whichever its architecture: what backends and the tfjs model run.

import { isWaveletLM, type ModelConfig } from './config.js';
import { gptNetwork } from './gpt.js';
import type { Network } from './network.js';
import { waveletLmNetwork } from './wavelet_lm.js';
import { loraTargets, withLora } from './lora.js';
import { parameterLayout } from './parameters.js';

export function networkOf(config: ModelConfig): Network {
  const network = isWaveletLM(config) ? waveletLmNetwork(config) : gptNetwork(config);
  if (!config.lora) return network;
  return withLora(network, config.lora, loraTargets(parameterLayout(config).tensors, config.lora).map((t) => t.name));
}
