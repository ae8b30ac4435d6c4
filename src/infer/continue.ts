// Token ids continued by a decoder, one sequence: the sample `wavelet-gpt train` prints, and any
// caller with ids rather than text (audio, MIDI). Past the context the window slides by one token:
// the decoder starts again on the context - 1 tokens before the new one, so each token sees exactly
// the `context` tokens up to it, as a full forward pass over the window would.

import type { Decoder } from '../backends/model.js';
import type { SeededRandom } from '../model/random.js';
import { sampleToken, type checkSampling } from './sampling.js';

export async function continueTokens(decoder: Decoder, context: number, prompt: ArrayLike<number>, count: number, sampling: ReturnType<typeof checkSampling>, random: SeededRandom): Promise<number[]> {
  const tokens = Array.from(prompt);
  decoder.reset();
  let logits: Float32Array = new Float32Array(0);
  for (const token of tokens.slice(-context)) logits = await decoder.step([token]);
  for (let n = 0; n < count; n++) {
    const next = sampleToken(logits, [], sampling, random);
    tokens.push(next);
    if (decoder.position === context) {
      decoder.reset();
      for (const token of tokens.slice(-context, -1)) await decoder.step([token]);
    }
    if (n + 1 < count) logits = await decoder.step([next]);
  }
  return tokens.slice(prompt.length);
}
