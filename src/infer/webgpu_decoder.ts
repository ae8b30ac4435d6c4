// CachedDecoder on WebGPU: the weights, the KV cache and the wavelet structure's running state on
// the GPU; a token is one submission of the training kernels (matmul, LayerNorm, GELU, add, run
// on B rows) and decode.wgsl (embedding, the cache, attention over it, the wavelet state), and
// one read-back of the logits. Same interface and results as CachedDecoder.

import { createBuffer, createWebGPUBackend, readBuffer, type WebGPUBackend } from '../runtime/webgpu.js';
import { matmulLaunches, matmulScratchFloats, type MatmulProduct } from '../kernels/gpt/matmul.js';
import { f32Bits, GptKernels, grid, record, type Dispatch, type Step } from '../kernels/gpt/webgpu.js';
import { waveletGaps, type GPTConfig } from '../model/config.js';
import { tapsName, waveletPlanOf, type ParameterLayout } from '../model/parameters.js';

const FORMS = { haar: 0, learnable: 1, ema: 2 } as const;

export class WebGPUDecoder {
  position = 0;
  private readonly device: GPUDevice;
  private readonly launches: Step[];
  private readonly stepBuffer: GPUBuffer; // [t, tokens]
  private readonly logits: GPUBuffer;
  private readonly states: GPUBuffer[]; // the wavelet state of each gap

  private constructor(readonly gpu: WebGPUBackend, readonly config: GPTConfig, layout: ParameterLayout, params: Float32Array, readonly batch: number) {
    const device = (this.device = gpu.device);
    const { context: T, width: C, heads: NH, feedForward: F, headDense: D, vocabSize: V, layers } = config;
    const B = batch;
    const k = new GptKernels(device, C / NH);
    const offset = (name: string) => layout.byName.get(name)!.offset;
    const buf = (floats: number) => createBuffer(device, 4 * Math.max(1, floats));
    const P = createBuffer(device, 4 * params.length, undefined, params);
    this.stepBuffer = createBuffer(device, 4 * (1 + B));
    const [x, ln, stats, qkv, att, proj, res2, res3, fc, fcGelu, dense, denseGelu] = [B * C, B * C, 2 * B, 3 * B * C, B * C, B * C, B * C, B * C, B * F, B * F, B * D, B * D].map(buf);
    this.logits = buf(B * V);
    const scores = buf(B * NH * T);
    const caches = Array.from({ length: layers }, () => buf(2 * B * T * C));
    const plan = waveletPlanOf(config);
    const depth = plan ? Math.max(1, ...plan.windows) : 1;
    this.states = plan ? Array.from({ length: waveletGaps(config) }, () => buf(B * depth * C + B * C)) : [];
    const planTable = plan
      ? createBuffer(device, 4 * 3 * C, undefined, Uint32Array.from([...plan.windows, ...Array.from(plan.tapOffsets.subarray(0, C)), ...new Uint32Array(plan.alphas.buffer, plan.alphas.byteOffset, C)]))
      : createBuffer(device, 4);

    const decode = (entry: string, uniforms: number[], buffers: GPUBuffer[], workgroups: [number, number, number]): Dispatch => k.dispatch('decode', entry, uniforms, [P, this.stepBuffer, ...buffers], workgroups);
    const rows: [number, number, number] = grid(B * C, 64);
    // A product over a long K (the dense head's 2048) is split along K: one scratch buffer serves all.
    const product = (out: GPUBuffer, inp: GPUBuffer, weight: string, bias: string | null, inC: number, outC: number): MatmulProduct =>
      ({ M: B, N: outC, K: inC, accumulate: false, a: [inp, 0, inC, 1], b: [P, offset(weight), 1, inC], bias: bias ? [P, offset(bias)] : null, c: [out, 0, outC] });
    const shapes: [number, number][] = [[C, 3 * C], [C, C], [C, F], [F, C], [C, D], [D > 0 ? D : C, V]];
    const scratch = buf(Math.max(...shapes.map(([K, N]) => matmulScratchFloats({ M: B, N, K } as MatmulProduct))));
    const linear = (out: GPUBuffer, inp: GPUBuffer, weight: string, bias: string | null, inC: number, outC: number) => matmulLaunches(k, product(out, inp, weight, bias, inC, outC), scratch);
    const layernorm = (out: GPUBuffer, inp: GPUBuffer, name: string) =>
      k.dispatch('layernorm', 'forward', [B, C, offset(`${name}.w`), offset(`${name}.b`)], [inp, P, out, stats, k.unused, k.unusedWritable], [B, 1, 1]);
    const pointwise = (entry: string, n: number, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer) => k.dispatch('pointwise', entry, [n, f32Bits(1), 0, 0], [a, b, out], grid(n, 256));
    const base = [B, T, C, NH];

    // Bindings a launch does not use: writable ones may not alias within a launch, so one each.
    const [none1, none2, none3] = [buf(1), buf(1), buf(1)];
    const launches: Step[] = [decode('embed', [...base, offset('wte'), offset('wpe'), 0, 0], [k.unused, x, none1, none2, planTable], rows)];
    let input = x;
    for (let l = 0; l < layers; l++) {
      launches.push(
        layernorm(ln, input, `h${l}.ln1`),
        ...linear(qkv, ln, `h${l}.qkv.w`, null, C, 3 * C),
        decode('store_kv', [...base, 0, 0, 0, 0], [qkv, none1, caches[l], none2, planTable], rows),
        decode('attend', [...base, 0, 0, 0, 0], [qkv, att, caches[l], scores, planTable], [NH, B, 1]),
        ...linear(proj, att, `h${l}.proj.w`, null, C, C),
        pointwise('add', B * C, input, proj, res2),
        layernorm(ln, res2, `h${l}.ln2`),
        ...linear(fc, ln, `h${l}.fc.w`, `h${l}.fc.b`, C, F),
        pointwise('gelu', B * F, fc, k.unused, fcGelu),
        ...linear(proj, fcGelu, `h${l}.fcproj.w`, `h${l}.fcproj.b`, F, C),
        pointwise('add', B * C, res2, proj, res3),
      );
      if (plan && l < this.states.length) {
        const taps = plan.form === 'learnable' ? offset(tapsName(config, l)) : 0;
        launches.push(decode('wavelet_step', [...base, taps, 0, depth, FORMS[plan.form]], [res3, x, none3, this.states[l], planTable], rows));
        input = x;
      } else {
        // res3 is written again by the next block while it reads its input: copy it into x first.
        launches.push({ copy: [res3, 0, x, 0, 4 * B * C] });
        input = x;
      }
    }
    launches.push(layernorm(ln, input, 'lnf'));
    let head = ln;
    if (D > 0) {
      launches.push(...linear(dense, ln, 'dense.w', 'dense.b', C, D), pointwise('gelu', B * D, dense, k.unused, denseGelu));
      head = denseGelu;
    }
    launches.push(...linear(this.logits, head, 'out.w', null, D > 0 ? D : C, V));
    this.launches = launches;
  }

  static async create(config: GPTConfig, layout: ParameterLayout, params: Float32Array, batch = 1, gpu?: WebGPUBackend): Promise<WebGPUDecoder> {
    return new WebGPUDecoder(gpu ?? (await createWebGPUBackend()), config, layout, params, batch);
  }

  reset(): void {
    this.position = 0;
    const encoder = this.device.createCommandEncoder();
    for (const state of this.states) encoder.clearBuffer(state);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Feeds one token to each sequence; the logits (B, V) of the next. */
  async step(tokens: ArrayLike<number>): Promise<Float32Array> {
    const { vocabSize: V, context: T } = this.config;
    const B = this.batch;
    if (tokens.length !== B) throw new Error(`decoder: ${tokens.length} tokens for a batch of ${B}`);
    if (this.position >= T) throw new Error(`decoder: the context of ${T} tokens is full; reset and feed the last tokens again`);
    for (const token of Array.from(tokens)) if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`decoder: token ${token} outside the vocabulary of ${V}`);
    this.device.queue.writeBuffer(this.stepBuffer, 0, Uint32Array.from([this.position, ...Array.from(tokens)]));
    const encoder = this.device.createCommandEncoder();
    record(encoder, this.launches);
    this.device.queue.submit([encoder.finish()]);
    this.position++;
    return readBuffer(this.device, this.logits, 4 * B * V);
  }
}
