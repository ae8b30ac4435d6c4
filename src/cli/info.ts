// `wavelet-gpt info`: what this machine offers.

import { probeBackends } from '../backends/probe.js';
import { dispatch, engineOptions } from '../dispatch.js';
import { presetConfig } from '../model/config.js';
import { initialParameters, parameterLayout } from '../model/parameters.js';
import { DEFAULT_ADAMW } from '../kernels/adamw/ref.js';

export async function runInfo(version: string): Promise<void> {
  console.log(`wavelet-gpt ${version} (Node ${process.versions.node}, ${process.platform}-${process.arch})`);
  console.log('backends:');
  for (const probe of await probeBackends()) {
    console.log(`  ${probe.name.padEnd(7)} ${probe.available ? 'yes' : 'no '}  ${probe.summary}`);
    if (probe.adapter) {
      const a = probe.adapter;
      console.log(`          features: ${a.features.join(', ') || 'none'}`);
      console.log(`          max storage binding ${(a.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, workgroup x <= ${a.maxComputeWorkgroupSizeX}`);
    }
  }
  // What `train --backend auto` would pick for the default model, and why.
  const config = presetConfig('tiny', { form: 'haar' }, { vocabSize: 84 });
  const { decision } = await dispatch(engineOptions(config, initialParameters(config, parameterLayout(config), 1), DEFAULT_ADAMW), 8);
  console.log(`training dispatch (tiny preset, batch 8): ${decision.reason}${decision.cached ? ' (cached)' : ''}`);
}
