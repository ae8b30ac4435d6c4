// Sampling from a training engine, for the sample `wavelet-gpt train` prints at the end: each
// token from a full forward pass over the window (the window sliding once the text is longer
// than the context), chosen by sampling.ts at the given temperature. Generation from a
// checkpoint is cached instead: src/infer/model.ts.

import type { TrainingEngine } from '../backends/model.js';
import type { SeededRandom } from '../model/random.js';
import { checkSampling, sampleToken } from './sampling.js';

export async function sampleTokens(engine: TrainingEngine, prompt: ArrayLike<number>, count: number, temperature: number, random: SeededRandom): Promise<number[]> {
  const tokens = Array.from(prompt);
  const context = engine.config.context;
  const settings = checkSampling({ temperature });
  for (let n = 0; n < count; n++) {
    const window = Int32Array.from(tokens.slice(-context));
    tokens.push(sampleToken(await engine.nextLogits(window), [], settings, random));
  }
  return tokens.slice(prompt.length);
}
