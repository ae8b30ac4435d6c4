// The classification datasets: ListOps labels against a direct evaluation of each expression's
// text (a stack machine over its symbols, independent of the generator's tree), LRA's shape of
// the expressions, MNIST pooling against the package's own pixels, and the rows and batches that
// put the class at the last position.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { classificationRows, mnistImages } from '../../src/data/datasets.js';
import { generateListOps, LRA_LISTOPS } from '../../src/data/listops.js';
import { SeededRandom } from '../../src/model/random.js';
import { batchSampler, corpusValidationBatches, type Corpus } from '../../src/train/data.js';
import { ListOpsTokenizer } from '../../src/tokenizers/listops.js';

/** Evaluates `[MAX 4 3 [MIN 2 3 ] 1 0 ]` by reading it left to right with a stack. */
function evaluateText(symbols: string[]): number {
  const stack: { op: string; values: number[] }[] = [];
  let result: number | undefined;
  for (const s of symbols) {
    if (s.startsWith('[')) stack.push({ op: s.slice(1), values: [] });
    else if (s === ']') {
      const { op, values } = stack.pop()!;
      const sorted = values.slice().sort((a, b) => a - b);
      const value =
        op === 'MIN' ? sorted[0] : op === 'MAX' ? sorted[sorted.length - 1] : op === 'SM' ? values.reduce((a, b) => a + b, 0) % 10
        : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : Math.floor((sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2);
      if (stack.length) stack[stack.length - 1].values.push(value);
      else result = value;
    } else if (stack.length) stack[stack.length - 1].values.push(Number(s));
    else result = Number(s);
  }
  assert.is(stack.length, 0, 'balanced brackets');
  return result!;
}

test('ListOps: every label equals a direct evaluation of the expression text', () => {
  const short = generateListOps(300, 5, { ...LRA_LISTOPS, minLength: 10, maxLength: 64 });
  for (const { symbols, value } of short) {
    assert.ok(symbols.length >= 10 && symbols.length <= 64, `length ${symbols.length}`);
    assert.is(value, evaluateText(symbols), symbols.join(' '));
  }
  const labels = new Set(short.map((e) => e.value));
  assert.is(labels.size, 10, 'all ten classes occur');
  assert.ok(short.some((e) => e.symbols.includes('[MED')) && short.some((e) => e.symbols.includes('[SM')));
});

test("ListOps at LRA's settings: 500 to 2000 symbols, depth at most 10, lists of 2 to 10 arguments", () => {
  for (const { symbols, value } of generateListOps(5, 9)) {
    assert.ok(symbols.length >= 500 && symbols.length <= 2000, `length ${symbols.length}`);
    let depth = 0;
    let deepest = 0;
    const counts: number[] = [];
    for (const s of symbols) {
      if (s.startsWith('[')) {
        if (counts.length) counts[counts.length - 1]++;
        counts.push(0);
        deepest = Math.max(deepest, ++depth);
      } else if (s === ']') {
        const args = counts.pop()!;
        assert.ok(args >= 2 && args <= 10, `a list of ${args} arguments`);
        depth--;
      } else counts[counts.length - 1]++;
    }
    assert.ok(deepest <= 10, `depth ${deepest}`);
    assert.is(value, evaluateText(symbols));
  }
  assert.equal(generateListOps(3, 9), generateListOps(3, 9), 'deterministic');
});

test('ListOps tokenizer: digits are their own ids; unknown symbols named', () => {
  const tokenizer = new ListOpsTokenizer();
  assert.equal(Array.from(tokenizer.encode('[SM 7 3 ]')), [13, 7, 3, 14]);
  assert.is(tokenizer.decode(tokenizer.encode('[MAX 4 [MIN 2 3 ] ]')), '[MAX 4 [MIN 2 3 ] ]');
  assert.throws(() => tokenizer.encode('[MAX 4 x ]'), /symbol 2 'x' is not one of/);
});

test('MNIST: 2 x 2 means of the package pixels, 8-bit; all ten digits', () => {
  const require = createRequire(import.meta.url);
  const raw = (JSON.parse(readFileSync(join(dirname(require.resolve('mnist/package.json')), 'src', 'digits', '3.json'), 'utf8')) as { data: number[] }).data.slice(0, 784);
  const images = mnistImages(2);
  assert.is(images.length, 10000);
  const three = images.find((image) => image.label === 3 && image.pixels.every((p, i) => {
    const [y, x] = [Math.floor(i / 14), i % 14];
    const mean = (raw[2 * y * 28 + 2 * x] + raw[2 * y * 28 + 2 * x + 1] + raw[(2 * y + 1) * 28 + 2 * x] + raw[(2 * y + 1) * 28 + 2 * x + 1]) / 4;
    return p === Math.round(255 * mean);
  }));
  assert.ok(three, "the package's first 3 is among the images, pooled");
  assert.is(new Set(images.slice(-1000).map((i) => i.label)).size, 10, 'the held-out tenth has every digit');
});

test('classification rows and batches: inputs left-padded, the class the last position target, the rest ignored', () => {
  const rows = classificationRows([{ tokens: [5, 6], label: 1 }, { tokens: [7, 8, 9], label: 2 }, { tokens: [4], label: 3 }, { tokens: [1, 2, 3], label: 0 }, { tokens: [3], label: 1 }, { tokens: [2], label: 2 }, { tokens: [8], label: 3 }, { tokens: [9], label: 0 }, { tokens: [6], label: 1 }, { tokens: [5, 5], label: 2 }], 3, 15);
  assert.is(rows.exampleLength, 3);
  assert.equal(Array.from(rows.train.subarray(0, 8)), [15, 5, 6, 1, 7, 8, 9, 2]);
  assert.equal(Array.from(rows.validation), [15, 5, 5, 2]);
  const corpus: Corpus = { path: 'test', tokenizer: new ListOpsTokenizer(), symbol: 'example', ...rows };
  const batch = batchSampler(corpus, 4, 3, new SeededRandom(1)).next();
  for (let b = 0; b < 4; b++) {
    assert.equal(Array.from(batch.targets.subarray(b * 3, b * 3 + 2)), [-1, -1]);
    const row = Array.from({ length: 9 }, (_, r) => Array.from(rows.train.subarray(r * 4, r * 4 + 4))).find((r) => r.slice(0, 3).join() === Array.from(batch.tokens.subarray(b * 3, b * 3 + 3)).join());
    assert.ok(row, 'each batch row is a training example');
    assert.is(batch.targets[b * 3 + 2], row![3]);
  }
  assert.throws(() => corpusValidationBatches(corpus, 2, 3, 1), /1 validation examples, fewer than one batch of 2; use a smaller --batch/);
});

test.run();
