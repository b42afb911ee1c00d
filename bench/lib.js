// Helpers shared by the bench sections in Node: the bench wasm modules, and (from timing.js)
// medians and warmed-up timing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiateBench } from './timing.js';

export const root = fileURLToPath(new URL('..', import.meta.url));

export { median, timeLoop } from './timing.js';

/** build/bench-simd.wasm or build/bench.wasm: the library plus the bench loops, no imports but one. */
export async function loadBenchWasm(file) {
  return instantiateBench(readFileSync(root + file));
}

export const pad = (value, width) => String(value).padStart(width);
export const fixed = (x, digits = 1) => (x == null || !Number.isFinite(x) ? '-' : x.toFixed(digits));
