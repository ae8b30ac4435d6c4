// The layers of src/ and the direction of their imports: a file imports its own folder or a
// folder of a lower layer, never a higher one nor a sibling of its own layer (train/ and infer/
// know nothing of each other). A new folder must be placed here, so the layering cannot rot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LAYERS: string[][] = [
  ['errors.ts', 'heap.ts', 'generated'],
  ['model'], // configs, parameters, the network descriptions, the wavelet plan
  ['io', 'audio', 'report'], // file formats, atomic writes, plots
  ['runtime'], // the wasm module and the WebGPU device
  ['kernels', 'tokenizers'], // each op's reference, wasm call and WGSL launcher; the tokenizers' faces
  ['backends', 'data'], // each backend's model running a network; datasets
  ['train', 'infer', 'tfjs'], // the training loop; generation; the TensorFlow.js op and model
  ['replicate', 'bench'], // the paper's replication; the benchmark suite
  ['cli', 'index.ts', 'node.ts'],
];

const rank = new Map(LAYERS.flatMap((names, level) => names.map((name) => [name, level] as const)));
const topOf = (file: string) => relative('src', file).split('/')[0];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

test('every folder of src/ has a layer', () => {
  const unplaced = [...new Set(sources('src').map(topOf))].filter((top) => !rank.has(top));
  assert.equal(unplaced, [], 'place these in LAYERS');
});

test('imports point down: no file imports a higher layer or a sibling of its own', () => {
  const wrong: string[] = [];
  for (const file of sources('src')) {
    const from = topOf(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const to = topOf(relative('.', resolve(dirname(file), spec)));
      if (to === from) continue;
      if (rank.get(to)! >= rank.get(from)!) wrong.push(`${file} -> ${spec} (${from}, layer ${rank.get(from)}, imports ${to}, layer ${rank.get(to)})`);
    }
  }
  assert.equal(wrong, []);
});

test.run();
