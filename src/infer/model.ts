// A trained model for generation, loaded from a checkpoint's bytes, a URL or (in Node) a file:
//   const model = await WaveletModel.load('runs/main/checkpoint.safetensors');
//   for await (const { text } of model.generate('Call me ', { maxTokens: 200 })) process.stdout.write(text);
// Generation is cached (a backend model's decoder). Past the context, the window slides: the decoder
// starts again from the last half context of tokens.

import { WaveletInputError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { parameterLayout } from '../model/parameters.js';
import { SeededRandom } from '../model/random.js';
import { CharacterTokenizer, tokenizerFromJSON } from '../tokenizers/index.js';
import { tokenizerRuntime } from '../tokenizers/runtime.js';
import { parseCheckpoint } from '../io/checkpoint.js';
import { applyAdapter } from '../io/adapter.js';
import { mergeAdapters } from '../model/adapters.js';
import type { FetchOptions } from '../io/fetch_bytes.js';
import { fetchCached } from '../io/model_cache.js';
import { turnsEvery } from '../runtime/next_turn.js';
import type { WasmSource } from '../runtime/wasm.js';
import type { WebGPUBackend } from '../runtime/webgpu.js';
import type { BackendModel, BackendName, Decoder } from '../backends/model.js';
import { checkBackendName, openModel, type BackendChoice, type ChoiceCache } from '../backends/registry.js';
import { checkSampling, sampleToken, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate (each sequence). Default 200. */
  maxTokens?: number;
  /** Seed of the draws. Default 1. */
  seed?: number;
  /** Stop a sequence when its text ends with one of these (the stop text is not returned). */
  stop?: string[];
  /** Stops generating: the generator throws the signal's reason (an AbortError) before the next token. */
  signal?: AbortSignal;
}

/** A generated token and the text it adds (empty while a character is incomplete), of prompt `index`. */
export interface GeneratedToken {
  index: number;
  token: number;
  text: string;
}

/** The text tokenizers (characters, bytes, BPE): text in, text out. */
interface TextTokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  encode(text: string): Uint32Array;
  decode(ids: ArrayLike<number>): string;
}

/** A URL's download: its timeouts, progress and AbortSignal (io/fetch_bytes.ts); the signal also stops the rest of the load. */
export interface LoadOptions extends FetchOptions {
  /**
   * The backend: 'webgpu' (the GPU), 'wasm' (SIMD kernels), 'js' (plain TypeScript), or 'auto'
   * (default): each that runs here is timed decoding tokens of this model, and the fastest kept
   * (`choice` says why).
   */
  backend?: 'auto' | BackendName;
  /** The WebGPU device to use; by default one is made (and destroyed with the model). */
  gpu?: WebGPUBackend;
  /**
   * Where build/wavelet.wasm is (bytes, a module or a URL) where there is no file system, or both
   * builds, `{ simd, relaxedSimd }` (build/wavelet-relaxed.wasm), the relaxed one used where the engine has it.
   */
  wasm?: WasmSource;
  /** Likewise build/tokenizers.wasm (the tokenizers' kernels). */
  tokenizersWasm?: WasmSource;
  /** Backend 'auto': about how long to time each backend (ms, default 300), and a store of earlier choices. */
  chooseBudgetMs?: number;
  choiceCache?: ChoiceCache;
  /** Backend 'auto': told what is being timed as it starts. */
  onTiming?(message: string): void;
  /**
   * The wasm backend's threads: a count, or 'auto' (the default): where the model is large enough
   * to share out, 1, 2, 4, ... threads are timed and the fastest kept (a page needs cross-origin
   * isolation for threads; without it wasm runs on one and the choice says why).
   */
  threads?: number | 'auto';
  /** build/wavelet-threads.wasm (bytes, a module or a URL, or both builds as for `wasm`) where there is no file system. */
  wasmThreads?: WasmSource;
  /**
   * Keep downloads in the browser's Cache API and load from it next time (clearModelCache()
   * empties it). Default: where the Cache API exists; true where it does not is an error.
   */
  cache?: boolean;
  /** A LoRA adapter file (`train --lora` writes DIR/adapter.safetensors) for this model: bytes, a URL or a path, merged into the weights on load. */
  adapter?: Uint8Array | ArrayBuffer | URL | string;
}

/** Decoders kept for reuse a batch size: as many as run at once in a sequential caller and one beside it. */
const IDLE_DECODERS = 2;

/** A trained model of either architecture (the GPT, WaveletGPT or WaveletLM), loaded for generation. */
export class WaveletModel {
  /** Decoders not in use, by batch size: made once (caches allocated) and reused. */
  private readonly idle = new Map<number, Decoder[]>();

  private constructor(readonly config: ModelConfig, readonly tokenizer: TextTokenizer, private readonly model: BackendModel, readonly choice: BackendChoice | undefined) {}

  /** The backend generating: webgpu, wasm or js. */
  get backend(): BackendName {
    return this.model.backend;
  }

  /** From checkpoint bytes, a URL (fetched), or a file path (Node). */
  static async load(source: Uint8Array | ArrayBuffer | URL | string, options: LoadOptions = {}): Promise<WaveletModel> {
    const [bytes, what] = await readSource(source, options);
    if (options.signal?.aborted) throw new WaveletInputError(`${what}: the load was aborted`);
    const parsed = parseCheckpoint(bytes, what);
    let adapted = { config: parsed.config, parameters: parsed.parameters };
    if (options.adapter !== undefined) {
      const [adapterBytes, adapterWhat] = await readSource(options.adapter, options);
      adapted = applyAdapter(adapted, adapterBytes, adapterWhat);
    }
    // Adapters merged into the weights they adapt: generation runs the plain model, no extra layers a token.
    const checkpoint = { ...parsed, ...mergeAdapters(adapted.config, adapted.parameters) };
    if (options.tokenizersWasm) await tokenizerRuntime(options.tokenizersWasm);
    const tokenizer = await tokenizerFromJSON(checkpoint.tokenizer, `${what} tokenizer`);
    if (tokenizer.kind === 'mulaw' || tokenizer.kind === 'midi' || tokenizer.kind === 'pixels' || tokenizer.kind === 'listops') {
      throw new WaveletInputError(`${what}: a ${tokenizer.kind} model; WaveletModel.generate writes text, use a backend model's decoder for token ids`);
    }
    if (tokenizer.vocabSize !== checkpoint.config.vocabSize) throw new WaveletInputError(`${what}: its tokenizer has ${tokenizer.vocabSize} tokens, its model ${checkpoint.config.vocabSize}`);
    const requested = checkBackendName(options.backend ?? 'auto', 'backend');
    const modelOptions = { config: checkpoint.config, layout: parameterLayout(checkpoint.config), parameters: checkpoint.parameters };
    const { model, choice } = await openModel(requested, options.threads, modelOptions, { mode: 'generate', batch: 1 }, {
      gpu: options.gpu, wasm: options.wasm, wasmThreads: options.wasmThreads, budgetMs: options.chooseBudgetMs ?? 300, cache: options.choiceCache, onTiming: options.onTiming,
    });
    return new WaveletModel(checkpoint.config, tokenizer as unknown as TextTokenizer, model, choice);
  }

  /** A decoder for `batch` sequences, at position 0: an idle one, or a new one. */
  private async acquire(batch: number): Promise<Decoder> {
    const idle = this.idle.get(batch)?.pop();
    if (idle) {
      idle.reset();
      return idle;
    }
    return this.model.decoder(batch);
  }

  /** Keeps a finished decoder for the next call of its batch size, up to IDLE_DECODERS; frees the rest (a server's burst of concurrent requests once kept one each for good). */
  private release(batch: number, decoder: Decoder): void {
    const idle = this.idle.get(batch) ?? [];
    this.idle.set(batch, idle);
    if (idle.length < IDLE_DECODERS) idle.push(decoder);
    else decoder.dispose();
  }

  /** Decoders kept for reuse now, of every batch size. */
  get idleDecoders(): number {
    let count = 0;
    for (const list of this.idle.values()) count += list.length;
    return count;
  }

  /** Frees the model's buffers and memory (GPU buffers, the wasm instance); generate() cannot be called after. */
  dispose(): void {
    for (const list of this.idle.values()) for (const decoder of list) decoder.dispose();
    this.idle.clear();
    this.model.dispose();
  }

  /** The prompt's tokens; a character the vocabulary lacks is an error naming it. */
  encode(prompt: string): number[] {
    if (typeof prompt !== 'string' || prompt.length === 0) throw new WaveletInputError('prompt: empty; give at least one character to continue from');
    if (this.tokenizer instanceof CharacterTokenizer) {
      const symbols = new Set(this.tokenizer.symbols);
      if (this.tokenizer.normalization === 'none') {
        const missing = [...new Set(Array.from(prompt))].filter((ch) => !symbols.has(ch));
        if (missing.length) throw new WaveletInputError(`prompt: ${missing.map((ch) => JSON.stringify(ch)).join(', ')} not in the model's ${symbols.size}-character vocabulary`);
      }
    }
    return Array.from(this.tokenizer.encode(prompt));
  }

  /** Streams the continuations of one or several prompts, token by token. */
  async *generate(prompt: string | string[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    const prompts = (Array.isArray(prompt) ? prompt : [prompt]).map((p) => this.encode(p));
    const sampling = checkSampling(options);
    const maxTokens = options.maxTokens ?? 200;
    if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new WaveletInputError(`maxTokens: expected an integer >= 0, found ${maxTokens}`);
    const decoder = await this.acquire(prompts.length);
    try {
      yield* this.run(decoder, prompts, options, sampling, maxTokens);
    } finally {
      this.release(prompts.length, decoder);
    }
  }

  private async *run(decoder: Decoder, prompts: number[][], options: GenerateOptions, sampling: ReturnType<typeof checkSampling>, maxTokens: number): AsyncGenerator<GeneratedToken> {
    const stops = options.stop ?? [];
    // One generator a sequence, each from the seed: a prompt in a batch gets the text it gets alone.
    const randoms = prompts.map(() => new SeededRandom(options.seed ?? 1));
    const B = prompts.length;
    const T = this.config.context;
    // All sequences advance together: sequence b reads its prompt, then what it generated.
    const sequences = prompts.map((p) => p.slice());
    const seen = prompts.map((p) => new Set(p)); // the repetition penalty's tokens, kept as they come
    const texts = prompts.map(() => new IncrementalText(this.tokenizer, stops));
    const counts = prompts.map(() => 0);
    const done = prompts.map(() => maxTokens === 0);
    let fed = 0; // tokens of each sequence fed to the decoder
    let logits: Float32Array = new Float32Array(0);
    const tokensAt = (at: number) => sequences.map((s) => s[Math.min(at, s.length - 1)]);
    // Every 16 ms the event loop gets a turn: a page paints, a worker hears 'stop', a server answers others.
    const breathe = turnsEvery(16);
    while (!done.every(Boolean)) {
      const pause = breathe();
      if (pause) await pause;
      options.signal?.throwIfAborted();
      logits = await stepInWindow(decoder, T, fed++, tokensAt);
      for (let b = 0; b < B; b++) {
        if (done[b] || fed < prompts[b].length) continue; // still reading its prompt
        const V = this.config.vocabSize;
        const token = sampleToken(logits.subarray(b * V, b * V + V), seen[b], sampling, randoms[b]);
        sequences[b].push(token);
        seen[b].add(token);
        const { text, stopped } = texts[b].push(token, ++counts[b] >= maxTokens);
        if (stopped || counts[b] >= maxTokens) done[b] = true;
        yield { index: b, token, text };
      }
    }
  }

  /**
   * The logits (V) after each token of `ids`: row t predicts token t + 1. Past the context the
   * window slides as in generation (the decoder starts again from the last half context).
   */
  async logits(ids: ArrayLike<number>): Promise<Float32Array[]> {
    const V = this.config.vocabSize;
    const T = this.config.context;
    for (let i = 0; i < ids.length; i++) if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= V) throw new WaveletInputError(`logits: token ${i} is ${ids[i]}, expected an integer id in 0..${V - 1}`);
    const decoder = await this.acquire(1);
    const rows: Float32Array[] = [];
    try {
      for (let t = 0; t < ids.length; t++) rows.push((await stepInWindow(decoder, T, t, (k) => [ids[k]])).slice(0, V));
    } finally {
      this.release(1, decoder);
    }
    return rows;
  }

  /**
   * How likely the model finds `text`: the natural-log probability of each token after the first
   * (given those before it), their mean negative (nats a token), bits a token and perplexity.
   */
  async score(text: string): Promise<{ tokens: number[]; logProbabilities: number[]; natsPerToken: number; bitsPerToken: number; perplexity: number }> {
    const tokens = this.encode(text);
    if (tokens.length < 2) throw new WaveletInputError(`score: ${JSON.stringify(text)} is ${tokens.length} token; at least two are needed (the first is given, the rest are scored)`);
    const rows = await this.logits(tokens.slice(0, -1));
    const logProbabilities = rows.map((row, t) => {
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      return row[tokens[t + 1]] - max - Math.log(sum);
    });
    const nats = -logProbabilities.reduce((a, b) => a + b, 0) / logProbabilities.length;
    return { tokens, logProbabilities, natsPerToken: nats, bitsPerToken: nats / Math.LN2, perplexity: Math.exp(nats) };
  }

  /** The whole continuation of each prompt. */
  async complete(prompt: string, options?: GenerateOptions): Promise<string>;
  async complete(prompt: string[], options?: GenerateOptions): Promise<string[]>;
  async complete(prompt: string | string[], options: GenerateOptions = {}): Promise<string | string[]> {
    return collectTexts(prompt, this.generate(prompt, options));
  }
}

/** The texts a generation of `prompt` streams, put together: one string, or one a prompt. */
export async function collectTexts(prompt: string | string[], stream: AsyncIterable<GeneratedToken>): Promise<string | string[]> {
  const texts = (Array.isArray(prompt) ? prompt : [prompt]).map(() => '');
  for await (const { index, text } of stream) texts[index] += text;
  return Array.isArray(prompt) ? texts : texts[0];
}

/**
 * Feeds the tokens at position `at` (`tokensAt(k)`: the batch's tokens at k), sliding the window
 * first when the context is full: the decoder starts again from the last half context, positions
 * from 0. Generation and scoring both step through this.
 */
async function stepInWindow(decoder: Decoder, T: number, at: number, tokensAt: (k: number) => ArrayLike<number>): Promise<Float32Array> {
  if (decoder.position === T) {
    decoder.reset();
    for (let k = at - Math.floor(T / 2); k < at; k++) await decoder.step(tokensAt(k));
  }
  return decoder.step(tokensAt(at));
}

/**
 * A sequence's text as tokens arrive, decoding only the new tokens (generation stays linear in its
 * length): tokens whose bytes end inside a character wait for the rest (up to 4 tokens, then they
 * are shown as they are); text that may begin a stop sequence is held back until it cannot; a stop
 * sequence ends the text before it.
 */
export class IncrementalText {
  private tail: number[] = [];
  /** Decoded, not yet shown: it may begin a stop sequence. */
  private pending = '';

  constructor(private readonly tokenizer: { kind: string; decode(ids: ArrayLike<number>): string }, private readonly stops: string[]) {}

  /** The text that `token` adds (possibly empty), and whether a stop sequence ended it. `last`: no token follows; all is shown. */
  push(token: number, last = false): { text: string; stopped: boolean } {
    this.tail.push(token);
    const piece = this.tokenizer.decode(this.tail);
    const incomplete = piece.endsWith('\ufffd') && this.tokenizer.kind !== 'characters' && this.tail.length < 4;
    if (!incomplete) {
      this.pending += piece;
      this.tail = [];
    }
    let cut = -1;
    for (const stop of this.stops) {
      const at = stop ? this.pending.indexOf(stop) : -1;
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      const text = this.pending.slice(0, cut);
      this.pending = '';
      return { text, stopped: true };
    }
    if (last) {
      const text = this.pending + (this.tail.length ? piece : '');
      [this.pending, this.tail] = ['', []];
      return { text, stopped: false };
    }
    const held = heldBack(this.pending, this.stops);
    const text = this.pending.slice(0, this.pending.length - held);
    this.pending = this.pending.slice(this.pending.length - held);
    return { text, stopped: false };
  }
}

/** The length of the longest end of `text` that begins a stop sequence. */
function heldBack(text: string, stops: string[]): number {
  let held = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > held; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        held = k;
        break;
      }
    }
  }
  return held;
}

async function readSource(source: Uint8Array | ArrayBuffer | URL | string, options: FetchOptions & { cache?: boolean }): Promise<[Uint8Array, string]> {
  if (source instanceof Uint8Array) return [source, 'checkpoint bytes'];
  if (source instanceof ArrayBuffer) return [new Uint8Array(source), 'checkpoint bytes'];
  const text = String(source);
  const node = typeof process !== 'undefined' && Boolean(process.versions?.node);
  if (source instanceof URL || /^(https?|file|blob|data):/.test(text)) {
    if (text.startsWith('file:') && node) return readFile(new URL(text));
    return [await fetchCached(text, options), text];
  }
  if (node) return readFile(text);
  // Elsewhere a path is an address relative to the page (a browser) or nothing to resolve it against.
  const base = (globalThis as { location?: { href: string } }).location?.href;
  if (!base) throw new WaveletInputError(`${text}: a path, with no file system and no page to resolve it against here; give a full URL or the bytes`);
  return [await fetchCached(new URL(text, base).href, options), text];
}

async function readFile(path: string | URL): Promise<[Uint8Array, string]> {
  const { readFile: read, stat } = await import('node:fs/promises');
  const what = String(path);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new WaveletInputError(`${what}: no such file`);
  // A run's folder stands for its checkpoint.
  if (info.isDirectory()) return readFile(`${what.replace(/\/$/, '')}/checkpoint.safetensors`);
  return [new Uint8Array(await read(path)), what];
}

/** The earlier name of WaveletModel (from before WaveletLM), kept so that code using it still runs. */
export const WaveletGPT = WaveletModel;
export type WaveletGPT = WaveletModel;
