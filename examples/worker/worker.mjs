// A Cloudflare-style worker (workerd) that generates text: POST {"prompt": "...", "maxTokens": 50,
// "temperature": 0.8, "seed": 1} and get {"text": "...", "backend": "wasm"}. The checkpoint and the
// two wasm modules are modules of the worker (see test/bundles/runtimes.test.ts for a config):
// workers may not compile wasm from bytes, so the compiled modules are handed to loadModel.
//
// A server stays up under any request: the body, the prompt and the tokens asked for are capped
// (LIMITS; a request over them is refused with the cap named), one prompt a request, and tokens
// are generated one at a time across requests, least served first: a new short request runs
// ahead of long ones already under way (they have had their share), so its latency stays near an
// idle server's; a request whose client has gone stops generating. At most 16 requests generate
// at once (64 more wait, the rest are refused with 503), and the model keeps two decoders for reuse
// and frees the rest, so a burst costs bounded memory, taken once and reused.
import { loadModel } from './wavelet-gpt.mjs';
import checkpoint from './checkpoint.bin';
import waveletModule from './wavelet.wasm';
import tokenizersModule from './tokenizers.wasm';

// concurrent: requests generating at once (each holds a decoder); queued: requests waiting for one of those places.
const LIMITS = { bodyBytes: 16_384, promptCharacters: 4_000, maxTokens: 1_000, concurrent: 16, queued: 64 };

let model;

// The turn-taking: before each token a request waits for its turn: no token of another request in
// progress, and no request generating with fewer tokens so far (ties: the earlier one). Each
// request polls with its own timer: workerd cancels a request whose promise another request
// resolves.
const generating = new Set();
let busy = false;
let arrivals = 0;
async function turn(state) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 0)); // a new task: requests that arrived meanwhile are in the set
    if (busy) continue;
    let least = state;
    for (const other of generating) if (other.served < least.served || (other.served === least.served && other.arrived < least.arrived)) least = other;
    if (least === state) return void (busy = true);
  }
}
function endTurn(state) {
  state.served++;
  busy = false;
}

// Admission: at most LIMITS.concurrent requests generate at once, the next ones wait in arrival
// order, and past LIMITS.queued waiting a request is refused (503) rather than held: memory stays
// bounded by the concurrency, whatever the burst.
const queue = [];
async function admit() {
  if (generating.size < LIMITS.concurrent && queue.length === 0) return;
  if (queue.length >= LIMITS.queued) throw new BadRequest(`the server is busy: ${LIMITS.concurrent} requests generating and ${LIMITS.queued} waiting; try again shortly`, 503);
  const ticket = {};
  queue.push(ticket);
  try {
    while (!(generating.size < LIMITS.concurrent && queue[0] === ticket)) await new Promise((resolve) => setTimeout(resolve, 1));
  } finally {
    queue.splice(queue.indexOf(ticket), 1);
  }
}

const reply = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

class BadRequest extends Error {
  constructor(message, status = 400) {
    super(message);
    this.status = status;
  }
}

async function readBody(request) {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > LIMITS.bodyBytes) throw new BadRequest(`the body is ${declared} bytes; at most ${LIMITS.bodyBytes}`, 413);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > LIMITS.bodyBytes) throw new BadRequest(`the body is ${bytes.length} bytes; at most ${LIMITS.bodyBytes}`, 413);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new BadRequest(`the request body is not JSON (${error.message})`);
  }
}

/** The request's fields, checked: what is wrong is named, with what was expected and found. */
function generationRequest(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body: expected a JSON object {"prompt": "...", "maxTokens": 50}');
  const { prompt, maxTokens = 50, temperature, seed, topP, topK } = body;
  const found = (value) => (Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value);
  if (typeof prompt !== 'string') throw new BadRequest(`prompt: expected a string, found ${found(prompt)}`);
  if (prompt.length > LIMITS.promptCharacters) throw new BadRequest(`prompt: ${prompt.length} characters; at most ${LIMITS.promptCharacters}`);
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > LIMITS.maxTokens) throw new BadRequest(`maxTokens: expected an integer from 1 to ${LIMITS.maxTokens}, found ${JSON.stringify(maxTokens)}`);
  if (seed !== undefined && !Number.isInteger(seed)) throw new BadRequest(`seed: expected an integer, found ${JSON.stringify(seed)}`);
  for (const [name, value] of Object.entries({ temperature, topP, topK })) {
    if (value !== undefined && typeof value !== 'number') throw new BadRequest(`${name}: expected a number, found ${found(value)}`);
  }
  return { prompt, options: { maxTokens, temperature, seed, topP, topK } };
}

export default {
  async fetch(request) {
    if (request.method !== 'POST') return reply(405, { error: 'POST a JSON body: {"prompt": "...", "maxTokens": 50}' });
    try {
      const { prompt, options } = generationRequest(await readBody(request));
      model ??= await loadModel(new Uint8Array(checkpoint), { wasm: waveletModule, tokenizersWasm: tokenizersModule });
      let text = '';
      const tokens = model.generate(prompt, options);
      await admit();
      const state = { served: 0, arrived: arrivals++ };
      generating.add(state);
      try {
        for (;;) {
          await turn(state);
          let next;
          try {
            next = await tokens.next();
          } finally {
            endTurn(state);
          }
          if (next.done) break;
          text += next.value.text;
          if (request.signal?.aborted) return reply(499, { error: 'the client went away' });
        }
      } finally {
        generating.delete(state);
        await tokens.return(); // the decoder goes back to the model
      }
      return reply(200, { text, backend: model.backend });
    } catch (error) {
      return reply(error.status ?? 400, { error: error.message });
    }
  },
};
