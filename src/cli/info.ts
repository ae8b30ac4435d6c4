// `wavelet-gpt info`: what this machine offers.

import { probeBackends } from '../backends/probe.js';

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
}
