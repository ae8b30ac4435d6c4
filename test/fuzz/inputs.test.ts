// The fuzz suite (seeded, bounded): checkpoints, WAV files, Hugging Face tokenizer.json and CLI
// arguments, each mutated from a valid one; every input ends in a result or a clear error, within
// its time bound. (MIDI's is in tokenizers/midi.test.ts, the worker's requests in
// bundles/runtimes.test.ts.) The counts and times print at the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConfig } from '../../src/model/config.js';
import { initialParameters, parameterLayout } from '../../src/model/parameters.js';
import { SeededRandom } from '../../src/model/random.js';
import { emptyOptimizerState, OPTIMIZER_SLOTS } from '../../src/kernels/optimizer/ref.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { CHECKPOINT_FORMAT } from '../../src/io/checkpoint.js';
import { WaveletModel } from '../../src/infer/model.js';
import { CharacterTokenizer } from '../../src/tokenizers/characters.js';
import { MuLawTokenizer } from '../../src/tokenizers/mulaw.js';
import { writeWav } from '../../src/audio/wav.js';
import { ranksFromHuggingFace } from '../../src/tokenizers/ranks.js';
import { parseFlags } from '../../src/cli/options.js';
import { TRAIN_FLAGS, trainSettings } from '../../src/cli/train.js';
import { GENERATE_FLAGS } from '../../src/cli/generate.js';
import { QUANTIZE_FLAGS } from '../../src/cli/quantize.js';
import { checkSettings } from '../../src/train/trainer.js';
import { mutateBytes, mutateJson, pick, survives, tally, type Tally } from './fuzz.js';
import { TokenizerInputError, WaveletInputError } from '../../src/errors.js';

const report: Record<string, Tally & { inputs: number; seconds: number }> = {};
async function campaign(name: string, inputs: number, run: (random: SeededRandom, counts: Tally, n: number) => Promise<void>): Promise<void> {
  const counts = tally();
  const random = new SeededRandom(name.length * 7919);
  const started = performance.now();
  for (let n = 0; n < inputs; n++) await run(random, counts, n);
  report[name] = { inputs, ...counts, seconds: +((performance.now() - started) / 1e3).toFixed(2) };
  assert.is(counts.results + counts.errors, inputs);
}

// A small checkpoint as a trainer writes it, its header as JSON and its data after.
const tokenizer = await CharacterTokenizer.fromCorpus('abcdefgh .');
const config = checkConfig({ vocabSize: tokenizer.vocabSize, context: 8, layers: 2, width: 8, heads: 2, feedForward: 8, headDense: 4, wavelet: { form: 'learnable' } });
const layout = parameterLayout(config);
const optimizer = emptyOptimizerState('adamw', layout.count);
const metadata = { format: CHECKPOINT_FORMAT, config: JSON.stringify(config), tokenizer: JSON.stringify(tokenizer.toJSON()), training: JSON.stringify({ step: 1, optimizer: { kind: 'adamw', t: 1 } }) };
const tensors = [
  ...layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: initialParameters(config, layout, 1).slice(t.offset, t.offset + t.size) })),
  ...OPTIMIZER_SLOTS.adamw.map((slot) => ({ name: `adamw.${slot}`, shape: [layout.count], data: optimizer.slots[slot] })),
];
const checkpoint = writeSafetensors(tensors, metadata);
const headerLength = Number(new DataView(checkpoint.buffer).getBigUint64(0, true));
const header = JSON.parse(new TextDecoder().decode(checkpoint.subarray(8, 8 + headerLength)));
const data = checkpoint.subarray(8 + headerLength);

function withHeader(value: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const load = async (bytes: Uint8Array) => (await WaveletModel.load(bytes, { backend: 'js' })).complete('ab', { maxTokens: 2 });

test('checkpoints: 3,000 with a field of the header or of the config, tokenizer and training metadata replaced, 2,000 with bytes mutated', async () => {
  await survives(tally(), 'the valid checkpoint', () => load(checkpoint));
  await campaign('checkpoint headers', 3000, async (random, counts, n) => {
    const field = pick(random, ['header', 'config', 'tokenizer', 'training'] as const);
    const mutated = field === 'header' ? mutateJson(header, random) : structuredClone(header);
    if (field !== 'header') mutated.__metadata__[field] = random.next() < 0.1 ? 'null' : JSON.stringify(mutateJson(JSON.parse(header.__metadata__[field]), random));
    await survives(counts, `header mutation ${n} (${field}): ${JSON.stringify(mutated).slice(0, 200)}`, () => load(withHeader(mutated)));
  });
  await campaign('checkpoint bytes', 2000, async (random, counts, n) => {
    const bytes = mutateBytes(checkpoint, random, 8 + headerLength + 64); // mostly the header, where lengths and offsets are
    await survives(counts, `byte mutation ${n}`, () => load(bytes));
  });
});

test('checkpoints that once gave a stack trace or generated garbage: each a one-line error naming the field', async () => {
  const config = JSON.parse(header.__metadata__.config);
  const meta = (fields: object) => ({ ...header, __metadata__: { ...header.__metadata__, ...fields } });
  const cases: [string, unknown, RegExp][] = [
    ['a null header', null, /not a safetensors file \(its header is null, not an object of tensors\)/],
    ['a null tensor entry', { ...header, wte: null }, /tensor 'wte' is null, expected \{dtype, shape, data_offsets\}/],
    ['a null metadata', { ...header, __metadata__: null }, /not a wavelet-gpt checkpoint \(format undefined\)/],
    ['metadata of numbers', { ...header, __metadata__: { format: 1 } }, /__metadata__ must be an object of strings/],
    ['a config of "null"', meta({ config: 'null' }), /model config: expected an object, found null/],
    ['a context of 1e9', meta({ config: JSON.stringify({ ...config, context: 1e9 }) }), /model config 'context': expected an integer from 1 to 1,048,576, found 1000000000/],
    ['a window of 1e9', meta({ config: JSON.stringify({ ...config, wavelet: { form: 'haar', maxWindow: 1e9 } }) }), /'wavelet.maxWindow': expected an integer from 2 to 1,048,576, found 1000000000/],
    ['a tokenizer of another vocabulary', meta({ tokenizer: JSON.stringify({ type: 'characters', symbols: ['x', 'y'], unknown: 'error' }) }), /its tokenizer has 2 tokens, its model 10/],
  ];
  for (const [what, value, pattern] of cases) {
    const error = await load(withHeader(value)).then(() => undefined, (e: Error) => e);
    assert.ok(error instanceof WaveletInputError || error instanceof TokenizerInputError, `${what}: ${error?.stack ?? 'loaded'}`);
    assert.match(error!.message, pattern, what);
  }
  const nan = checkpoint.slice();
  new DataView(nan.buffer).setFloat32(8 + headerLength + header.wte.data_offsets[0] + 4 * 5, NaN, true);
  await load(nan).then(() => assert.unreachable('NaN weights loaded'), (e: Error) => assert.match(e.message, /tensor 'wte' holds NaN at index 5; the weights must be finite/));
});

test('WAV: 4,000 files with bytes of the header or the data mutated, through the mu-law tokenizer', async () => {
  const mulaw = await MuLawTokenizer.create();
  const wavs = [
    writeWav({ sampleRate: 16000, channels: [Float32Array.from({ length: 400 }, (_, i) => Math.sin(i / 5))] }),
    writeWav({ sampleRate: 44100, channels: [new Float32Array(300), new Float32Array(300)] }, 'float32'),
  ];
  await campaign('WAV files', 4000, async (random, counts, n) => {
    const bytes = mutateBytes(pick(random, wavs), random, 64);
    await survives(counts, `WAV mutation ${n}`, () => mulaw.encodeWav(bytes, `fuzz${n}.wav`));
  });
});

test('tokenizer.json: 3,000 byte-level BPE files with a field replaced or deleted', async () => {
  const alphabet = (byte: number) => String.fromCodePoint(byte >= 33 && byte <= 126 ? byte : 256 + byte);
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[alphabet(b)] = b;
  Object.assign(vocab, { ab: 256, abc: 257 });
  const json = { version: '1.0', added_tokens: [{ id: 258, content: '<|end|>', special: true }], model: { type: 'BPE', vocab, merges: ['a b', 'ab c'] } };
  await survives(tally(), 'the valid tokenizer.json', () => ranksFromHuggingFace(JSON.stringify(json)));
  await campaign('tokenizer.json', 3000, async (random, counts, n) => {
    // mostly the small parts (merges, added tokens, the model's fields), not the 256 letters
    const target = random.next() < 0.7 ? { ...json, model: { ...json.model, vocab: { ab: 256, abc: 257, a: 97, b: 98, c: 99 } } } : json;
    const mutated = mutateJson(target, random);
    await survives(counts, `tokenizer.json mutation ${n}: ${JSON.stringify(mutated).slice(0, 160)}`, () => ranksFromHuggingFace(JSON.stringify(mutated), `fuzz${n}.json`));
  });
});

test('CLI arguments: 6,000 random argument lists, parsed and checked as train, generate and quantize read them', async () => {
  const commands = { train: TRAIN_FLAGS, generate: GENERATE_FLAGS, quantize: QUANTIZE_FLAGS };
  const values = ['', '0', '-1', '1', '1.5', '1e9', 'abc', 'auto', 'true', '--steps', 'NaN', 'Infinity', '0x10', ' 3', 'haar', 'wasm', 'adamw', '∞'];
  await campaign('CLI arguments', 6000, async (random, counts, n) => {
    const command = pick(random, Object.keys(commands) as (keyof typeof commands)[]);
    const flags = commands[command];
    const args: string[] = [];
    for (let k = random.below(6); k > 0; k--) {
      const flag = random.next() < 0.9 ? `--${pick(random, flags).name}` : pick(random, ['--', '-x', 'stray', '--unknown-flag']);
      if (random.next() < 0.3) args.push(`${flag}=${pick(random, values)}`);
      else args.push(flag, ...(random.next() < 0.9 ? [pick(random, values)] : []));
    }
    await survives(counts, `${command} ${args.join(' ')}`, () => {
      const options = parseFlags(command, args, flags);
      if (command === 'train') checkSettings(trainSettings(options));
      for (const flag of flags) if (flag.type === 'number' || flag.type === 'integer') if (!flag.words || options.string(flag.name) !== 'auto') options.number(flag.name);
    }, 200);
  });
});

test.after(() => {
  console.log(`\nfuzz: ${JSON.stringify(report)}`);
});

test.run();
