#!/usr/bin/env node
// `make bench`: every figure is a median of repeated batches and is printed next to a
// baseline measured in the same process. Writes build/bench.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SIZES = [32000, 151936];
const SCALES = [10, 3, 0.5];
const SHAPE = { 10: 'peaked', 3: 'medium', 0.5: 'flat' };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function loadBenchWasm(file) {
  const bytes = readFileSync(root + file);
  const { instance } = await WebAssembly.instantiate(bytes, { env: { emscripten_notify_memory_growth() {} } });
  instance.exports._initialize?.();
  return instance.exports;
}

/** Median microseconds per call over 9 batches of `iters` calls. */
function timeLoop(run, iters) {
  // Warm up for 200 ms: V8 first runs wasm in its baseline compiler and tiers hot
  // functions up to the optimising one only after a while.
  for (const start = performance.now(); performance.now() - start < 200; ) run(1);
  const times = [];
  for (let b = 0; b < 9; b++) {
    const start = performance.now();
    run(iters);
    times.push(((performance.now() - start) * 1000) / iters);
  }
  return median(times);
}

async function samplerWasm(file) {
  const e = await loadBenchWasm(file);
  const rows = [];
  const sampler = e.bench_sampler(0.9);
  for (const n of SIZES) {
    const logits = e.malloc(n * 4);
    for (const [k, scale] of SCALES.entries()) {
      e.bench_fill_logits(logits, n, scale, n + k);
      const iters = n > 100000 ? 4 : 16;
      const ours = timeLoop((i) => e.bench_loop_ours(sampler, logits, n, i), iters);
      const fullSort = timeLoop((i) => e.bench_loop_fullsort(logits, n, 0.9, i), Math.max(1, iters >> 2));
      rows.push({ n, scale, oursUs: ours, fullSortUs: fullSort });
    }
    e.free(logits);
  }
  return rows;
}

function samplerNative() {
  const out = execFileSync(root + 'build/bench_native', { encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line));
}

function table(title, rows) {
  console.log(`\n${title}`);
  console.log('vocab    shape   ours (us)  full sort (us)  speed-up');
  for (const r of rows) {
    const ratio = r.fullSortUs / r.oursUs;
    console.log(
      `${String(r.n).padEnd(8)} ${SHAPE[r.scale].padEnd(7)} ${r.oursUs.toFixed(1).padStart(9)} ${r.fullSortUs.toFixed(1).padStart(15)} ${ratio.toFixed(1).padStart(8)}x`,
    );
    r.speedup = ratio;
  }
}

const results = {
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  date: new Date().toISOString(),
  sampler: {
    wasmSimd: await samplerWasm('build/bench-simd.wasm'),
    wasmScalar: await samplerWasm('build/bench.wasm'),
    native: samplerNative(),
  },
};
console.log(`Nucleus bench on ${results.machine.cpu} (${results.machine.cores} cores), Node ${process.version}`);
console.log('Sampler: softmax + top-p 0.9 + draw with the full step report, against a full-sort baseline (same module)');
table('wasm SIMD128 in Node', results.sampler.wasmSimd);
table('wasm scalar in Node', results.sampler.wasmScalar);
table('native', results.sampler.native);
mkdirSync(root + 'build', { recursive: true });
writeFileSync(root + 'build/bench.json', JSON.stringify(results, null, 2) + '\n');
console.log('\nwrote build/bench.json');
