// The tokenizer kernels of wavelet-gpt, compiled with SIMD to build/tokenizers.wasm.
export { pieceEnd, buildTable, encode, decode } from './bpe';
export { encodeCharacters, mulawEncode, mulawDecode } from './symbols';
