// A Cloudflare-style worker (workerd) that generates text: POST {"prompt": "...", "maxTokens": 50,
// "temperature": 0.8, "seed": 1} and get {"text": "...", "backend": "wasm"}. The checkpoint and the
// two wasm modules are modules of the worker (see test/bundles/runtimes.test.ts for a config):
// workers may not compile wasm from bytes, so the compiled modules are handed to loadModel.
import { loadModel } from './wavelet-gpt.mjs';
import checkpoint from './checkpoint.bin';
import waveletModule from './wavelet.wasm';
import tokenizersModule from './tokenizers.wasm';

let model;

const reply = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export default {
  async fetch(request) {
    if (request.method !== 'POST') return reply(405, { error: 'POST a JSON body: {"prompt": "...", "maxTokens": 50}' });
    let body;
    try {
      body = await request.json();
    } catch (error) {
      return reply(400, { error: `the request body is not JSON (${error.message})` });
    }
    try {
      model ??= await loadModel(new Uint8Array(checkpoint), { wasm: waveletModule, tokenizersWasm: tokenizersModule });
      const text = await model.complete(body?.prompt, { maxTokens: body?.maxTokens ?? 50, temperature: body?.temperature, seed: body?.seed, topP: body?.topP, topK: body?.topK });
      return reply(200, { text, backend: model.backend });
    } catch (error) {
      return reply(400, { error: error.message });
    }
  },
};
