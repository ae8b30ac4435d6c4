// `wavelet-gpt info`: what this machine offers.

import { probeBackends } from '../backends/probe.js';
import { chooseBackend } from '../backends/registry.js';
import { fileChoiceCache } from '../io/choice_cache.js';
import { presetConfig } from '../model/config.js';
import { initialParameters, parameterLayout } from '../model/parameters.js';
import { DEFAULT_ADAMW } from '../kernels/optimizer/ref.js';

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
  const layout = parameterLayout(config);
  const options = { config, layout, parameters: initialParameters(config, layout, 1), optimizer: DEFAULT_ADAMW };
  for (const work of [{ mode: 'train', batch: 8 }, { mode: 'generate', batch: 1 }] as const) {
    const { model, choice } = await chooseBackend(options, work, { cache: fileChoiceCache() });
    model.dispose();
    console.log(`${work.mode === 'train' ? 'training' : 'generation'} (tiny preset, batch ${work.batch}): ${choice.reason}${choice.cached ? ' (cached)' : ''}`);
  }
}
