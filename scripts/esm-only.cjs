// What require('wavelet-gpt') gives: wavelet-gpt is an ES module only. It loads its WebAssembly
// and WebGPU kernels with top-level await, which CommonJS cannot wait for, so there is no
// CommonJS build; this says how to load it instead.
throw new Error(
  "wavelet-gpt is an ES module (its kernels load with top-level await, which CommonJS cannot wait for): " +
    "use `import { WaveletModel } from 'wavelet-gpt'`, or from CommonJS `const { WaveletModel } = await import('wavelet-gpt')`",
);
