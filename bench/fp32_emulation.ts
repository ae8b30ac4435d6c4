// How accurate an fp32 matmul emulated by int8 products (the Ozaki scheme) would be, against
// the fp32 product our kernels compute, both measured against float64 (issue #12: the H200's
// only tensor cores WGSL reaches are int8 ones; bench/subgroup_matrix.ts measures their speed).
//
// The scheme, for C = A . B^T: each row of A (and of B) is scaled by a power of two that puts
// its largest magnitude below 1, then cut into S int8 digits of 7 bits each (a = sum_s d_s 2^-7s,
// d_s in -127..127, the remainder after each digit carried to the next). The products of digit
// matrices are exact in int32 (K x 127^2 < 2^31 for K < 133,000); C is the sum of the products
// D_s . E_t^T with s + t <= S + 1 (the others fall below the last digit), scaled back. So S
// digits cost S (S + 1) / 2 int8 products, and an entry's error is bounded relative to its row's
// largest magnitude (a block floating point of 7 S bits), where fp32's is relative to each term.
// Rows with one outlier are its weak case; they are one of the distributions measured.
//
// Prints JSON: for each shape, distribution and S, the median and worst error of an entry
// relative to sum_k |a_k b_k| (the scale of fp32's own bound), beside fp32's.
// usage: node --import tsx bench/fp32_emulation.ts [--digits 2,3,4] [--out FILE]

import { cpus } from 'node:os';
import { printReport } from './report.js';
import { SeededRandom } from '../src/model/random.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const digitCounts = option('--digits', '2,3,4').split(',').map(Number);
if (digitCounts.some((s) => !Number.isInteger(s) || s < 1 || s > 6)) throw new Error(`--digits: expected whole numbers from 1 to 6, found '${option('--digits', '')}'`);

/** A matrix's rows as int8 digits: digits[s][row * K + k], and each row's power-of-two scale. */
function sliceRows(x: Float32Array, rows: number, K: number, digits: number): { digits: Int8Array[]; scales: Float64Array } {
  const out = Array.from({ length: digits }, () => new Int8Array(rows * K));
  const scales = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let largest = 0;
    for (let k = 0; k < K; k++) largest = Math.max(largest, Math.abs(x[r * K + k]));
    // 2^e > largest, so that every scaled value lies in (-1, 1).
    const scale = largest === 0 ? 1 : 2 ** (Math.floor(Math.log2(largest)) + 1);
    scales[r] = scale;
    for (let k = 0; k < K; k++) {
      let rest = x[r * K + k] / scale;
      for (let s = 0; s < digits; s++) {
        const d = Math.trunc(rest * 128);
        out[s][r * K + k] = d;
        rest = rest * 128 - d;
      }
    }
  }
  return { digits: out, scales };
}

/** C = A . B^T from `digits` int8 digits of each, the integer products exact, summed in float64. */
function emulatedProduct(a: Float32Array, b: Float32Array, M: number, N: number, K: number, digits: number): Float64Array {
  const A = sliceRows(a, M, K, digits), B = sliceRows(b, N, K, digits);
  const c = new Float64Array(M * N);
  for (let s = 0; s < digits; s++) {
    for (let t = 0; s + t < digits; t++) {
      const weight = 2 ** (-7 * (s + t + 2));
      const [ds, et] = [A.digits[s], B.digits[t]];
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let sum = 0; // an int32 on the GPU: exact
          for (let k = 0; k < K; k++) sum += ds[i * K + k] * et[j * K + k];
          c[i * N + j] += sum * weight;
        }
      }
    }
  }
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) c[i * N + j] *= A.scales[i] * B.scales[j];
  return c;
}

const random = new SeededRandom(7);
const normal = () => random.normal();
const distributions: Record<string, (rows: number, K: number) => Float32Array> = {
  normal: (rows, K) => Float32Array.from({ length: rows * K }, normal),
  // Student's t with 3 degrees of freedom: heavy tails, like activations and gradients.
  'student-t3': (rows, K) => Float32Array.from({ length: rows * K }, () => normal() / Math.sqrt((normal() ** 2 + normal() ** 2 + normal() ** 2) / 3)),
  // One entry a row 1000 times the rest: the case block scaling handles worst.
  'row outlier x1000': (rows, K) => {
    const x = Float32Array.from({ length: rows * K }, normal);
    for (let r = 0; r < rows; r++) x[r * K + Math.floor(random.next() * K)] *= 1000;
    return x;
  },
};

const shapes = [{ M: 32, N: 32, K: 768 }, { M: 16, N: 16, K: 8192 }];
const results: object[] = [];
for (const { M, N, K } of shapes) {
  for (const [name, make] of Object.entries(distributions)) {
    const a = make(M, K), b = make(N, K);
    const exact = new Float64Array(M * N), magnitude = new Float64Array(M * N), fp32 = new Float64Array(M * N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0, size = 0, single = 0;
        for (let k = 0; k < K; k++) {
          const term = a[i * K + k] * b[j * K + k];
          sum += term;
          size += Math.abs(term);
          single = Math.fround(single + Math.fround(term)); // fp32, one term after another
        }
        [exact[i * N + j], magnitude[i * N + j], fp32[i * N + j]] = [sum, size, single];
      }
    }
    const errors = (c: Float64Array) => {
      const e = Array.from(c, (v, x) => Math.abs(v - exact[x]) / magnitude[x]).sort((p, q) => p - q);
      return { median: +e[e.length >> 1].toExponential(2), worst: +e[e.length - 1].toExponential(2) };
    };
    const row: Record<string, unknown> = { M, N, K, distribution: name, fp32: errors(fp32) };
    for (const digits of digitCounts) row[`int8 x ${digits} digits (${(digits * (digits + 1)) / 2} products)`] = errors(emulatedProduct(a, b, M, N, K, digits));
    results.push(row);
    console.error(JSON.stringify(row));
  }
}
printReport({ bench: 'fp32_emulation', date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, node: process.versions.node }, results }, option('--out', ''));
