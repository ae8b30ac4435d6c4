// esbuild's binary loader gives a .wasm file's bytes.
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
