// The network of a config, whichever its architecture: what backends and the tfjs model run.

import { isWaveletLM, type ModelConfig } from './config.js';
import { gptNetwork } from './gpt.js';
import type { Network } from './network.js';
import { waveletLmNetwork } from './wavelet_lm.js';

export function networkOf(config: ModelConfig): Network {
  return isWaveletLM(config) ? waveletLmNetwork(config) : gptNetwork(config);
}
