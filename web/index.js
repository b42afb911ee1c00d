// Nucleus: the public ES-module API. Same code in Node (>= 20) and browsers.
export { NucleusError } from './errors.js';
export { createSampler, Sampler, DEFAULTS } from './sampler.js';
export { compileRuntime, relaxedSimdSupported, simdSupported } from './wasm.js';
import { loadWasm } from './wasm.js';

/** { heapUsed, memoryBytes } of the wasm module (the SIMD build unless { simd: false }). */
export async function memoryUsage(options = {}) {
  return (await loadWasm({ simd: options.simd, relaxed: options.relaxed, url: options.wasmUrl })).memoryUsage();
}
export { loadModel, loadTokenizer, Model, Tokenizer } from './model.js';
