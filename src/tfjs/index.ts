/// <reference types="@webgpu/types" preserve="true" />
// wavelet-gpt/tfjs: the wavelet structure as a TensorFlow.js op, backend selection, and the
// network in TensorFlow.js (the gradient oracle). TensorFlow.js is an optional peer dependency
// (about 300 MB that the rest of the package never loads): this entry looks for it first and, when
// it is absent, says what to install, rather than failing on an import deep inside.

import type * as WaveletOp from './wavelet_op.js';
import type * as Backends from './backends.js';
import type * as Network from './network.js';

export const TFJS_PACKAGES = '@tensorflow/tfjs@4.22.0 @tensorflow/tfjs-core@4.22.0';

async function load(): Promise<[typeof WaveletOp, typeof Backends, typeof Network]> {
  try {
    await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs');
  } catch (error) {
    throw new Error(`wavelet-gpt/tfjs needs TensorFlow.js, an optional peer dependency: npm install ${TFJS_PACKAGES} (and @tensorflow/tfjs-backend-wasm or -webgpu for those backends) (${(error as Error).message.split('\n')[0]})`);
  }
  return Promise.all([import('./wavelet_op.js'), import('./backends.js'), import('./network.js')]);
}

const [op, backends, network] = await load();
export const { waveletFilter, registerWaveletOp, WAVELET_FILTER, WAVELET_TAP_GRADIENT } = op;
export const { useTfjsBackend } = backends;
export const { tfjsLoss, tfjsParameters } = network;
export type { TfjsBackendName } from './backends.js';
export type { TfjsParameters } from './network.js';
