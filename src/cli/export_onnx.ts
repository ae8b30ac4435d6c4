// `wavelet-gpt export --format onnx`: a checkpoint's model as two ONNX graphs for ONNX Runtime
// (Node, web, servers): FILE.onnx, logits of a whole sequence, and FILE.decode.onnx, one token a
// step with the KV caches and the wavelet and lifting states as inputs and outputs
// (io/onnx/network_graph.ts). LoRA adapters are merged into their weights first.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { onnxModel } from '../io/onnx/onnx.js';
import { networkGraph } from '../io/onnx/network_graph.js';
import { packageInfo } from '../io/package_files.js';
import { mergeAdapters } from '../model/adapters.js';
import { readCheckpointAt } from '../train/checkpoint.js';
import type { Options } from './options.js';

/** FILE.decode.onnx beside FILE.onnx. */
export function decodeGraphPath(out: string): string {
  return out.replace(/\.onnx$/, '.decode.onnx');
}

export function exportOnnx(checkpoint: string, out: string, options: Options): void {
  if (!out.endsWith('.onnx')) throw new WaveletInputError(`export --format onnx --out ${out}: expected a file name ending in .onnx (the decoding graph goes beside it, as .decode.onnx)`);
  if (options.has('dtype') && options.string('dtype') !== 'float32') throw new WaveletInputError(`export --format onnx: the graphs are float32; --dtype ${options.string('dtype')} is for safetensors`);
  for (const flag of ['batch', 'eval-batches']) if (options.has(flag)) throw new WaveletInputError(`export --format onnx: --${flag} is for measuring a lean checkpoint's cost; leave it out`);
  if (!existsSync(dirname(resolve(out)))) throw new WaveletInputError(`export --out ${out}: the folder ${dirname(out)} does not exist`);
  const read = readCheckpointAt(checkpoint, 'export --checkpoint');
  const { config, parameters } = mergeAdapters(read.config, read.parameters);
  const version = `wavelet-gpt ${packageInfo().version}`;
  const written: string[] = [];
  for (const [mode, path] of [['forward', out], ['decode', decodeGraphPath(out)]] as const) {
    const bytes = onnxModel(networkGraph({ config, parameters, mode }), version);
    if (bytes.length > 2 ** 31 - 1) throw new WaveletInputError(`export --format onnx: the ${mode} graph is ${bytes.length} bytes, over protobuf's 2 GiB; weights as external data are not written yet`);
    writeFileAtomic(path, bytes);
    written.push(`${path} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`);
  }
  console.error(`wrote ${written.join(' and ')}`);
}
