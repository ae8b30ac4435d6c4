// A Cloudflare-style worker (workerd) that generates text: POST {"prompt": "...", "maxTokens": 50,
// "temperature": 0.8, "seed": 1} and get {"text": "...", "backend": "wasm"}. The checkpoint and the
// two wasm modules are modules of the worker (see test/bundles/runtimes.test.ts for a config):
// workers may not compile wasm from bytes, so the compiled modules are handed to loadModel.
//
// A server stays up under any request: the body, the prompt and the tokens asked for are capped
// (LIMITS; a request over them is refused with the cap named), one prompt a request, and the
// generation yields to other requests after every token, so a long request cannot starve a short
// one; a request whose client has gone stops generating.
import { loadModel } from './wavelet-gpt.mjs';
import checkpoint from './checkpoint.bin';
import waveletModule from './wavelet.wasm';
import tokenizersModule from './tokenizers.wasm';

const LIMITS = { bodyBytes: 16_384, promptCharacters: 4_000, maxTokens: 1_000 };

let model;

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
      for await (const token of model.generate(prompt, options)) {
        text += token.text;
        if (request.signal?.aborted) return reply(499, { error: 'the client went away' });
        await new Promise((resolve) => setTimeout(resolve, 0)); // let other requests take their turn
      }
      return reply(200, { text, backend: model.backend });
    } catch (error) {
      return reply(error.status ?? 400, { error: error.message });
    }
  },
};
