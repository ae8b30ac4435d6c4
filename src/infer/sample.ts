// Plain sampling from a training engine: temperature, the window sliding once the text is longer
// than the context. (Cached generation, top-k/top-p and the rest arrive with the inference work.)

import type { TrainingEngine } from '../train/engine.js';
import type { SeededRandom } from '../model/random.js';

export async function sampleTokens(engine: TrainingEngine, prompt: ArrayLike<number>, count: number, temperature: number, random: SeededRandom): Promise<number[]> {
  const tokens = Array.from(prompt);
  const context = engine.config.context;
  for (let n = 0; n < count; n++) {
    const window = Int32Array.from(tokens.slice(-context));
    const logits = await engine.nextLogits(window);
    let max = -Infinity;
    for (const l of logits) max = Math.max(max, l);
    const weights = Array.from(logits, (l) => Math.exp((l - max) / Math.max(temperature, 1e-6)));
    let r = random.next() * weights.reduce((a, b) => a + b, 0);
    let choice = 0;
    while (choice < weights.length - 1 && (r -= weights[choice]) > 0) choice++;
    tokens.push(choice);
  }
  return tokens.slice(prompt.length);
}
