// Selects a TensorFlow.js backend by name, importing its package on first use. tfjs-webgpu
// registers itself only if navigator.gpu exists when it is imported, so in Node we install
// Dawn's GPU object first (ensureNavigatorGpu in ../backends/webgpu.ts) and import it after.

import * as tf from '@tensorflow/tfjs-core';
// The gradients of the core ops: tfjs-core ships them only as extensionless ESM that Node cannot
// load; the union package's Node bundle registers them (it shares our tfjs-core instance).
import '@tensorflow/tfjs';
import { ensureNavigatorGpu } from '../runtime/webgpu.js';
import { BackendUnavailableError } from '../errors.js';

export type TfjsBackendName = 'cpu' | 'wasm' | 'webgpu';

const loaders: Record<TfjsBackendName, () => Promise<unknown>> = {
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
  webgpu: async () => {
    await ensureNavigatorGpu();
    return import('@tensorflow/tfjs-backend-webgpu');
  },
};

export async function useTfjsBackend(name: TfjsBackendName): Promise<void> {
  if (!(name in loaders)) throw new BackendUnavailableError(`tfjs backend: expected one of ${Object.keys(loaders).join(', ')}, found '${name}'`);
  try {
    await loaders[name]();
  } catch (error) {
    // an optional peer dependency, installed by those who use it
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    throw new BackendUnavailableError(`tfjs backend '${name}': ${missing ? `npm install @tensorflow/tfjs-backend-${name}@4.22.0 (an optional peer dependency); ` : ''}${(error as Error).message.split('\n')[0]}`);
  }
  if (!(await tf.setBackend(name))) throw new BackendUnavailableError(`tfjs backend '${name}' failed to initialise on this machine`);
  await tf.ready();
}
