// Errors a user can act on. The CLI prints their message alone (one line, no stack), so each
// message names the field or file at fault and what was expected against what was found.

/** Bad input to a wavelet op or plan: a shape, an option, a missing parameter. */
export class WaveletInputError extends Error {
  override name = 'WaveletInputError';
}

/** A backend that cannot run here (no adapter, no SIMD, a device lost). */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** Bad input to a tokenizer: an id out of range, a refused special token, a file that is not a tokenizer. */
export class TokenizerInputError extends Error {
  override name = 'TokenizerInputError';
}
