// The fused multiply-add of the kernels' inner loops. Built with relaxed SIMD
// (build/wavelet-relaxed.wasm, where the engine has it: Chrome 114+, Node 22+, Deno) it is one
// instruction on CPUs with FMA, twice the multiply-adds a cycle of a multiply then an add, and its
// rounding is the engine's choice (fused or not); the plain SIMD build (build/wavelet.wasm) keeps
// the multiply then the add, the same bits on every machine. ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant, so each build holds only its own form.

/** a * b + c in four lanes. */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** 1 when this module was built with relaxed SIMD (its multiply-adds fused where the CPU can). */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
