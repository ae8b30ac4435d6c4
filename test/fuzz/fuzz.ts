// The fuzz suite's tools: seeded mutations of valid inputs (bytes and JSON), and the check that an
// input ends in a result or in one of the package's own errors (a message a user can act on),
// within a time bound: never a TypeError or RangeError from deep inside, never a hang.
import * as assert from 'uvu/assert';
import { BackendUnavailableError, TokenizerInputError, WaveletInputError } from '../../src/errors.js';
import { SeededRandom } from '../../src/model/random.js';

const OURS = [WaveletInputError, TokenizerInputError, BackendUnavailableError];

export interface Tally {
  results: number;
  errors: number;
  slowestMs: number;
}

export function tally(): Tally {
  return { results: 0, errors: 0, slowestMs: 0 };
}

/** Runs `attempt` on one input: a result, or one of our errors; at most `boundMs`. `what` names the input in a failure. */
export async function survives(counts: Tally, what: string, attempt: () => unknown, boundMs = 2000): Promise<void> {
  const started = performance.now();
  try {
    await attempt();
    counts.results++;
  } catch (error) {
    if (!OURS.some((kind) => error instanceof kind)) assert.unreachable(`${what}: ${(error as Error)?.stack ?? error}`);
    counts.errors++;
  }
  const ms = performance.now() - started;
  counts.slowestMs = Math.max(counts.slowestMs, ms);
  assert.ok(ms < boundMs, `${what}: ${ms.toFixed(0)} ms, above the bound of ${boundMs} ms`);
}

/** Values a hostile file puts where a field was. */
const ODD_VALUES: unknown[] = [null, true, 0, -1, 1.5, 1e9, -1e300, 2 ** 53, '', 'x', '1e9', [], [1, 2], {}, { a: 1 }, 'NaN'];

export function pick<T>(random: SeededRandom, values: readonly T[]): T {
  return values[random.below(values.length)];
}

/** The paths of every value inside `value` (object keys and array indices). */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      if (out.length < 5000) paths(inner, path, out);
    }
  }
  return out;
}

/** A copy of `value` with one field replaced by an odd value or deleted (any: the result may be any shape). */
export function mutateJson(value: unknown, random: SeededRandom): any {
  const copy = structuredClone(value);
  const all = paths(copy);
  if (all.length === 0) return pick(random, ODD_VALUES);
  const path = pick(random, all);
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  if (random.next() < 0.2 && !Array.isArray(parent)) delete parent[key];
  else parent[key] = pick(random, ODD_VALUES);
  return copy;
}

/** A copy of `bytes` with bytes flipped, zeroed, cut, repeated or inserted. */
export function mutateBytes(bytes: Uint8Array, random: SeededRandom, region = bytes.length): Uint8Array {
  const at = random.below(Math.max(1, Math.min(region, bytes.length)));
  switch (random.below(5)) {
    case 0: {
      const copy = bytes.slice();
      copy[at] ^= 1 << random.below(8);
      return copy;
    }
    case 1: {
      const copy = bytes.slice();
      copy.fill(pick(random, [0, 255]), at, at + 1 + random.below(8));
      return copy;
    }
    case 2:
      return bytes.slice(0, at);
    case 3: {
      const piece = bytes.slice(at, at + 1 + random.below(64));
      return Uint8Array.from([...bytes.subarray(0, at), ...piece, ...bytes.subarray(at)]);
    }
    default: {
      const noise = Uint8Array.from({ length: 1 + random.below(16) }, () => random.below(256));
      return Uint8Array.from([...bytes.subarray(0, at), ...noise, ...bytes.subarray(at)]);
    }
  }
}
