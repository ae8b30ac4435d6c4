// What a smaller weight file costs: the validation loss of each weight set on the run's own
// held-out data, in bits per symbol (quantize and export print it beside the file sizes).

import { createModel } from '../backends/registry.js';
import { parameterLayout } from '../model/parameters.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { corpusValidationBatches, loadCorpus, type TextTokenizerKind } from '../train/data.js';

export async function validationBits(source: Checkpoint, weightSets: Float32Array[], batch: number, evalBatches: number): Promise<{ bits: number[]; data: string; symbol: string }> {
  const { config } = source;
  const layout = parameterLayout(config);
  const settings = (source.training.settings ?? {}) as { data?: string; tokenizer?: TextTokenizerKind };
  const corpus = await loadCorpus(settings.data, settings.tokenizer ?? 'char', config.context, source.tokenizer);
  const batches = corpusValidationBatches(corpus, batch, config.context, evalBatches);
  const bits: number[] = [];
  for (const weights of weightSets) {
    const model = await createModel('wasm', { config, layout, parameters: weights });
    try {
      let sum = 0;
      for (const b of batches) sum += await model.evaluate(b.tokens, b.targets, b.tokens.length / config.context, config.context);
      bits.push(sum / batches.length / Math.LN2);
    } finally {
      model.dispose();
    }
  }
  return { bits, data: corpus.path, symbol: corpus.symbol };
}
