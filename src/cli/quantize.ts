// `wavelet-gpt quantize`: an int8 inference checkpoint (per-channel scales, infer/quantize.ts)
// from a training checkpoint, with what it costs: the validation loss of both on the run's own
// held-out data, in bits per symbol, and the two files' sizes.

import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { dequantizeTensors, quantizeInt8 } from '../io/int8.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parameterLayout } from '../model/parameters.js';
import { CHECKPOINT_FORMAT } from '../io/checkpoint.js';
import { CHECKPOINT_FILE, holdsTrainingState, loadCheckpoint } from '../train/checkpoint.js';
import { corpusValidationBatches, loadCorpus, type TextTokenizerKind } from '../train/data.js';
import { createModel } from '../backends/registry.js';
import { writeSafetensors } from '../io/safetensors.js';
import { flagsUsage, type Flag, type Options } from './options.js';

export const QUANTIZE_FLAGS: readonly Flag[] = [
  { name: 'checkpoint', value: 'DIR', help: 'required: a training run folder' },
  { name: 'out', value: 'FILE', help: 'required: the int8 checkpoint to write (not the run\'s own checkpoint)' },
  { name: 'eval-batches', value: 'N', type: 'integer', min: 1, default: 8, help: 'held-out batches the cost is measured on' },
  { name: 'batch', value: 'B', type: 'integer', min: 1, default: 8, help: 'sequences a batch' },
];

export const QUANTIZE_USAGE = flagsUsage(
  'quantize --checkpoint DIR --out FILE [options]',
  "an int8 checkpoint for inference (per-channel scales, about a quarter the size); prints the\nvalidation loss of both on the run's held-out data",
  QUANTIZE_FLAGS,
);

export async function runQuantize(options: Options): Promise<void> {
  const [checkpoint, out] = [options.string('checkpoint'), options.string('out')];
  if (!checkpoint || !out) throw new WaveletInputError('quantize: --checkpoint DIR and --out FILE are required');
  // The run's checkpoint holds the optimizer's state too: replacing it would end the run.
  if (resolve(out) === resolve(join(checkpoint, CHECKPOINT_FILE))) throw new WaveletInputError(`quantize --out ${out}: that is the run's own checkpoint (weights and optimizer state); write the int8 file elsewhere, e.g. ${join(checkpoint, 'int8.safetensors')}`);
  if (holdsTrainingState(out)) throw new WaveletInputError(`quantize --out ${out}: a training checkpoint (it holds an optimizer's state) is there; write the int8 file elsewhere`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new WaveletInputError(`quantize --out ${out}: a folder; give the file to write, e.g. ${join(out, 'int8.safetensors')}`);
  if (!existsSync(dirname(resolve(out)))) throw new WaveletInputError(`quantize --out ${out}: the folder ${dirname(out)} does not exist`);
  const source = loadCheckpoint(checkpoint);
  const { config, parameters } = source;
  const layout = parameterLayout(config);
  const tensors = quantizeInt8(layout, parameters);
  const metadata = { format: CHECKPOINT_FORMAT, config: JSON.stringify(config), tokenizer: JSON.stringify(source.tokenizer), training: JSON.stringify({ ...source.training, quantized: 'int8 per-channel' }) };
  writeFileAtomic(out, writeSafetensors(tensors, metadata));

  // The cost, measured: both weight sets on the run's validation crops.
  const settings = (source.training.settings ?? {}) as { data?: string; tokenizer?: TextTokenizerKind };
  const corpus = await loadCorpus(settings.data, settings.tokenizer ?? 'char', config.context, source.tokenizer);
  const batches = corpusValidationBatches(corpus, options.number('batch'), config.context, options.number('eval-batches'));
  const loss = async (weights: Float32Array) => {
    const model = await createModel('wasm', { config, layout, parameters: weights });
    try {
      let sum = 0;
      for (const b of batches) sum += await model.evaluate(b.tokens, b.targets, b.tokens.length / config.context, config.context);
      return sum / batches.length / Math.LN2;
    } finally {
      model.dispose();
    }
  };
  const [full, int8] = [await loss(parameters), await loss(dequantizeTensors(layout, tensors))];
  const sizes = [statSync(join(checkpoint, CHECKPOINT_FILE)).size, statSync(out).size];
  console.log(JSON.stringify({
    checkpoint,
    out,
    bytes: { float32_with_optimizer: sizes[0], int8: sizes[1] },
    validation_bits_per_symbol: { float32: +full.toFixed(4), int8: +int8.toFixed(4), increase: +(int8 - full).toFixed(4) },
    data: corpus.path,
    symbol: corpus.symbol,
  }, null, 2));
}
