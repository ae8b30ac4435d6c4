// `wavelet-gpt quantize`: a lean inference checkpoint from a training checkpoint, the weights alone
// as int8 (per-channel scales, io/int8.ts), bf16, f16 or f32, with what it costs: the validation
// loss of both on the run's own held-out data, in bits per symbol, and the two files' sizes.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { quantizeInt8 } from '../io/int8.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parameterLayout, slice } from '../model/parameters.js';
import { mergeAdapters } from '../model/adapters.js';
import { checkpointMetadata, parseCheckpoint } from '../io/checkpoint.js';
import { CHECKPOINT_FILE, holdsTrainingState, loadCheckpoint } from '../train/checkpoint.js';
import { validationBits } from './weights_cost.js';
import { exportOnnx } from './export_onnx.js';
import { writeSafetensors } from '../io/safetensors.js';
import { flagsUsage, type Flag, type Options } from './options.js';

export const QUANTIZE_FLAGS: readonly Flag[] = [
  { name: 'checkpoint', value: 'DIR', help: 'required: a training run folder' },
  { name: 'out', value: 'FILE', help: 'required: the int8 checkpoint to write (not the run\'s own checkpoint)' },
  { name: 'eval-batches', value: 'N', type: 'integer', min: 1, default: 8, help: 'held-out batches the cost is measured on' },
  { name: 'batch', value: 'B', type: 'integer', min: 1, default: 8, help: 'sequences a batch' },
  { name: 'dtype', value: 'int8|bf16|f16|f32', choices: ['int8', 'bf16', 'f16', 'f32', 'bfloat16', 'float16', 'float32'], default: 'int8', help: 'the weights\' type: int8 with per-channel scales, half precision, or float32 (all without the optimizer\'s state)' },
];

/** `export`: the same command, for the weights alone at a float type (float32 by default). */
export const EXPORT_FLAGS: readonly Flag[] = [
  ...QUANTIZE_FLAGS.map((f) => (f.name === 'dtype' ? { ...f, value: 'float32|float16|bfloat16|int8', default: 'float32' } : f)),
  { name: 'format', value: 'safetensors|onnx', choices: ['safetensors', 'onnx'], default: 'safetensors', help: 'onnx: FILE.onnx, the forward model, and FILE.decode.onnx, one token a step with its state (float32)' },
];

export const EXPORT_USAGE = flagsUsage(
  'export --checkpoint DIR --out FILE [--dtype float32|float16|bfloat16|int8] [--format safetensors|onnx]',
  "the weights alone (no optimizer state) as a safetensors checkpoint for inference (quantize's\ncommand with float32 by default), or the model as ONNX graphs for ONNX Runtime",
  EXPORT_FLAGS,
);

export const QUANTIZE_USAGE = flagsUsage(
  'quantize --checkpoint DIR --out FILE [options]',
  "a lean checkpoint for inference: the weights alone (no optimizer state), int8 with per-channel\nscales (about a twelfth of the training checkpoint), bf16 or f16 (a sixth) or f32 (a third);\nprints the validation loss of both on the run's held-out data",
  QUANTIZE_FLAGS,
);

export async function runQuantize(options: Options, command = 'quantize'): Promise<void> {
  const [checkpoint, out] = [options.string('checkpoint'), options.string('out')];
  if (!checkpoint || !out) throw new WaveletInputError(`${command}: --checkpoint DIR and --out FILE are required`);
  if (command === 'export' && options.string('format') === 'onnx') return exportOnnx(checkpoint, out, options);
  // The run's checkpoint holds the optimizer's state too: replacing it would end the run.
  if (resolve(out) === resolve(join(checkpoint, CHECKPOINT_FILE))) throw new WaveletInputError(`${command} --out ${out}: that is the run's own checkpoint (weights and optimizer state); write the int8 file elsewhere, e.g. ${join(checkpoint, 'int8.safetensors')}`);
  if (holdsTrainingState(out)) throw new WaveletInputError(`${command} --out ${out}: a training checkpoint (it holds an optimizer's state) is there; write the int8 file elsewhere`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new WaveletInputError(`${command} --out ${out}: a folder; give the file to write, e.g. ${join(out, 'int8.safetensors')}`);
  if (!existsSync(dirname(resolve(out)))) throw new WaveletInputError(`${command} --out ${out}: the folder ${dirname(out)} does not exist`);
  const checkpointRead = loadCheckpoint(checkpoint);
  // A run with LoRA adapters is written merged: a plain model, as fast as its base.
  const source = { ...checkpointRead, ...mergeAdapters(checkpointRead.config, checkpointRead.parameters) };
  const { config, parameters } = source;
  const layout = parameterLayout(config);
  const named = options.string('dtype')!;
  const aliases: Record<string, string> = { bfloat16: 'bf16', float16: 'f16', float32: 'f32' };
  const dtype = (aliases[named] ?? named) as 'int8' | 'bf16' | 'f16' | 'f32';
  const tensors = dtype === 'int8' ? quantizeInt8(layout, parameters) : layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: slice(parameters, layout, t.name) }));
  const metadata = checkpointMetadata(config, source.tokenizer, { ...source.training, quantized: dtype === 'int8' ? 'int8 per-channel' : dtype });
  const floatType = ({ int8: 'F32', f32: 'F32', f16: 'F16', bf16: 'BF16' } as const)[dtype];
  writeFileAtomic(out, writeSafetensors(tensors, metadata, floatType));

  // The cost, measured: both weight sets, the written one as it reads back, on the run's validation crops.
  const written = parseCheckpoint(readFileSync(out), out).parameters;
  const { bits: [full, lean], data, symbol } = await validationBits(source, [parameters, written], options.number('batch'), options.number('eval-batches'));
  const sizes = [statSync(join(checkpoint, CHECKPOINT_FILE)).size, statSync(out).size];
  console.log(JSON.stringify({
    checkpoint,
    out,
    bytes: { float32_with_optimizer: sizes[0], [dtype]: sizes[1] },
    validation_bits_per_symbol: { float32: +full.toFixed(4), [dtype]: +lean.toFixed(4), increase: +(lean - full).toFixed(4) },
    data,
    symbol,
  }, null, 2));
}
