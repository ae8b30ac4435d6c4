// The bandwidth anchor must copy, or the ratios against it mean nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withErrorScopes } from '../../../src/runtime/webgpu.js';
import { WebGPUCopy } from '../../../src/kernels/copy/webgpu.js';
import { randomArray, seededRandom, webgpuBackend } from '../../helpers.js';

test('copy.wgsl copies every float, also past one row of 65535 workgroups', async () => {
  const gpu = await webgpuBackend();
  if (!gpu) return;
  const copier = new WebGPUCopy(gpu.device);
  for (const floats of [4, 1028, 4 * 256 * 65535 + 8]) {
    const values = randomArray(floats, seededRandom(floats));
    const source = gpu.buffer(4 * floats, undefined, values);
    const destination = gpu.buffer(4 * floats);
    const copied = await withErrorScopes(gpu.device, async () => {
      const encoder = gpu.device.createCommandEncoder();
      copier.encode(encoder, source, destination, floats);
      gpu.device.queue.submit([encoder.finish()]);
      return gpu.read(destination, 4 * floats);
    });
    assert.ok(copied.every((v, i) => v === values[i]), `${floats} floats copied exactly`);
    source.destroy();
    destination.destroy();
  }
  assert.throws(() => copier.encode(gpu.device.createCommandEncoder(), gpu.buffer(24), gpu.buffer(24), 6), /not a multiple of 4/);
});

test.run();
