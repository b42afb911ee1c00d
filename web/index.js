// Nucleus: the public ES-module API. Same code in Node (>= 20) and browsers.
export { NucleusError } from './errors.js';
export { createSampler, Sampler, DEFAULTS } from './sampler.js';
export { simdSupported } from './wasm.js';
export { loadModel, loadTokenizer, Model, Tokenizer } from './model.js';
