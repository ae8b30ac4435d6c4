// `wavelet-gpt quantize`: an int8 inference checkpoint (per-channel scales, infer/quantize.ts)
// from a training checkpoint, with what it costs: the validation loss of both on the run's own
// held-out data, in bits per symbol, and the two files' sizes.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { dequantizeTensors, quantizeInt8 } from '../io/int8.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parameterLayout } from '../model/parameters.js';
import { CHECKPOINT_FORMAT } from '../io/checkpoint.js';
import { CHECKPOINT_FILE, loadCheckpoint } from '../train/checkpoint.js';
import { corpusValidationBatches, loadCorpus, type TextTokenizerKind } from '../train/data.js';
import { WasmModel } from '../backends/wasm/model.js';
import { writeSafetensors } from '../io/safetensors.js';
import { number } from './train.js';

export const QUANTIZE_OPTIONS = ['checkpoint', 'out', 'eval-batches', 'batch'];
export const QUANTIZE_USAGE = `  quantize --checkpoint DIR --out FILE [--eval-batches 8] [--batch 8]
                           an int8 checkpoint for inference (per-channel scales, about a quarter the
                           size); prints the validation loss of both on the run's held-out data`;

export async function runQuantize(options: Record<string, string>): Promise<void> {
  if (!options.checkpoint || !options.out) throw new WaveletInputError('quantize: --checkpoint DIR and --out FILE are required');
  const source = loadCheckpoint(options.checkpoint);
  const { config, parameters } = source;
  const layout = parameterLayout(config);
  const tensors = quantizeInt8(layout, parameters);
  const metadata = { format: CHECKPOINT_FORMAT, config: JSON.stringify(config), tokenizer: JSON.stringify(source.tokenizer), training: JSON.stringify({ ...source.training, quantized: 'int8 per-channel' }) };
  writeFileAtomic(options.out, writeSafetensors(tensors, metadata));

  // The cost, measured: both weight sets on the run's validation crops.
  const settings = (source.training.settings ?? {}) as { data?: string; tokenizer?: TextTokenizerKind };
  const corpus = await loadCorpus(settings.data, settings.tokenizer ?? 'char', config.context, source.tokenizer);
  const batches = corpusValidationBatches(corpus, number(options, 'batch', 8), config.context, number(options, 'eval-batches', 8));
  const loss = async (weights: Float32Array) => {
    const model = await WasmModel.create({ config, layout, parameters: weights });
    try {
      let sum = 0;
      for (const b of batches) sum += await model.evaluate(b.tokens, b.targets, b.tokens.length / config.context, config.context);
      return sum / batches.length / Math.LN2;
    } finally {
      model.dispose();
    }
  };
  const [full, int8] = [await loss(parameters), await loss(dequantizeTensors(layout, tensors))];
  const sizes = [statSync(join(options.checkpoint, CHECKPOINT_FILE)).size, statSync(options.out).size];
  console.log(JSON.stringify({
    checkpoint: options.checkpoint,
    out: options.out,
    bytes: { float32_with_optimizer: sizes[0], int8: sizes[1] },
    validation_bits_per_symbol: { float32: +full.toFixed(4), int8: +int8.toFixed(4), increase: +(int8 - full).toFixed(4) },
    data: corpus.path,
    symbol: corpus.symbol,
  }, null, 2));
}
