// `export --format onnx` run in ONNX Runtime (onnxruntime-node, the CPU build): the forward graph's
// logits at every position, and the decoding graph's logits token by token with its states fed
// back, equal the reference (the js backend) for every GPT form and WaveletLM, on odd sizes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../src/model/config.js';
import { parameterLayout } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { emptyOptimizerState } from '../../src/kernels/optimizer/ref.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { TEST_CONFIGS, WAVELET_LM_TEST_CONFIGS } from '../model/configs.js';
import { assertClose, perturbedParameters, referenceLogits } from '../helpers.js';

const CLI = resolve('dist/cli/main.js');
const CASES: [string, ModelConfig][] = [
  ...TEST_CONFIGS.map(([name, config]): [string, ModelConfig] => [`GPT ${name}`, config]),
  ...WAVELET_LM_TEST_CONFIGS.map(([name, config]): [string, ModelConfig] => [`WaveletLM, ${name}`, config]),
];
const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-onnx-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

CASES.forEach(([name, config], index) => {
  test(`ONNX (${name}): the forward graph and the decoding graph give the reference's logits`, async () => {
    const layout = parameterLayout(config);
    const parameters = perturbedParameters(config, 20 + index);
    const random = new SeededRandom(30 + index);
    const run = join(dir, `run-${index}`);
    mkdirSync(run);
    saveCheckpoint(run, { config, tokenizer: { kind: 'test' }, parameters, optimizer: emptyOptimizerState('adamw', layout.count), training: { step: 0, samplerState: 1, plateau: null, settings: {} } });
    const out = join(dir, `model-${index}.onnx`);
    execFileSync(process.execPath, [CLI, 'export', '--checkpoint', run, '--format', 'onnx', '--out', out], { stdio: 'pipe' });

    // Two sequences, T below the context (odd), and the longest window's full length.
    const B = 2, T = config.context - 3;
    const tokens = Int32Array.from({ length: B * T }, () => random.below(config.vocabSize));
    const expected = await referenceLogits(config, parameters, tokens, B, T);

    const forward = await ort.InferenceSession.create(out);
    const result = await forward.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [B, T]) });
    assert.equal(result.logits.dims, [B, T, config.vocabSize]);
    assertClose(result.logits.data as Float32Array, expected, 1e-5, 'forward graph logits');

    const decode = await ort.InferenceSession.create(out.replace(/\.onnx$/, '.decode.onnx'));
    const states: Record<string, ort.Tensor> = {};
    for (const input of decode.inputNames.slice(2)) {
      const meta = decode.inputMetadata.find((m) => m.name === input)!;
      const dims = (meta as unknown as { shape: (number | string)[] }).shape.map((d) => (d === 'batch' ? B : typeof d === 'number' ? d : 0));
      states[input] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    }
    const stepped = new Float32Array(B * T * config.vocabSize);
    for (let t = 0; t < T; t++) {
      const column = BigInt64Array.from({ length: B }, (_, b) => BigInt(tokens[b * T + t]));
      const outputs = await decode.run({ tokens: new ort.Tensor('int64', column, [B, 1]), position: new ort.Tensor('int64', BigInt64Array.of(BigInt(t)), [1]), ...states });
      const logits = outputs.logits.data as Float32Array;
      for (let b = 0; b < B; b++) stepped.set(logits.subarray(b * config.vocabSize, (b + 1) * config.vocabSize), (b * T + t) * config.vocabSize);
      for (const input of Object.keys(states)) states[input] = outputs[`${input}.next`];
    }
    assertClose(stepped, expected, 1e-5, 'decoding graph logits, token by token');
    await forward.release();
    await decode.release();
  });
});

test('export --format onnx refuses what does not apply, naming it', () => {
  const fail = (...args: string[]) => spawnSync(process.execPath, [CLI, 'export', '--checkpoint', join(dir, 'run-0'), '--format', 'onnx', ...args], { encoding: 'utf8' }).stderr;
  assert.match(fail('--out', join(dir, 'model')), /expected a file name ending in \.onnx/);
  assert.match(fail('--out', join(dir, 'm.onnx'), '--dtype', 'float16'), /the graphs are float32; --dtype float16 is for safetensors/);
});

test.run();
