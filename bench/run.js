#!/usr/bin/env node
// `make bench`: every figure is a median of repeated runs, printed next to a baseline measured
// in the same run (ratios). Writes build/bench.json.
//   node bench/run.js [--only sampler,kernels,e2e,browser,size]
// Sections: 1 sampler, 2 kernels, 3 end to end in Node and native, 4 + 5 in the browser with
// wllama as the same-run peer, 6 size.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { printBrowser, runBrowser } from './browser.js';
import { printE2e, runE2e } from './e2e.js';
import { clockMHz, printKernels, runKernels } from './kernels.js';
import { loadBenchWasm, root, timeLoop } from './lib.js';
import { printSize, runSize } from './size.js';

const SIZES = [32000, 151936];
const SCALES = [10, 3, 0.5];
const SHAPE = { 10: 'peaked', 3: 'medium', 0.5: 'flat' };
// llama2.c's sample_topp (microseconds per call) from the issue: measured on these machines,
// not in this run.
const PEER = { '32000 peaked': 198, '32000 medium': 2270, '32000 flat': 9770, '151936 medium': 11900 };

const SECTIONS = ['sampler', 'kernels', 'e2e', 'browser', 'size'];
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? process.argv[onlyArg + 1].split(',') : SECTIONS;
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section "${s}" (${SECTIONS.join(', ')})`);

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
  const out = execFileSync(root + 'build/bench_native', ['sampler'], { encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line));
}

function table(title, rows) {
  console.log(`\n${title}`);
  console.log('vocab    shape   ours (us)  full sort (us)  speed-up   llama2.c* (us)  vs llama2.c*');
  for (const r of rows) {
    const ratio = r.fullSortUs / r.oursUs;
    const peer = PEER[`${r.n} ${SHAPE[r.scale]}`];
    r.speedup = ratio;
    if (peer) r.vsLlama2c = peer / r.oursUs;
    console.log(
      `${String(r.n).padEnd(8)} ${SHAPE[r.scale].padEnd(7)} ${r.oursUs.toFixed(1).padStart(9)} ${r.fullSortUs.toFixed(1).padStart(15)} ${ratio.toFixed(1).padStart(8)}x` +
      (peer ? ` ${String(peer).padStart(16)} ${r.vsLlama2c.toFixed(1).padStart(12)}x` : ''),
    );
  }
}

function cpuModel() {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? cpus()[0]?.model;
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const started = performance.now();
const results = {
  machine: { cpu: cpuModel(), mhz: clockMHz(), cores: cpus().length, node: process.version, loadAverageAtStart: loadavg()[0] },
  date: new Date().toISOString(),
};
const log = (line) => process.stderr.write(line + '\n');
console.log(`Nucleus bench on ${results.machine.cpu} at ${results.machine.mhz ?? '?'} MHz (${results.machine.cores} cores), Node ${process.version}, load average ${loadavg()[0].toFixed(2)}`);

if (only.includes('sampler')) {
  results.sampler = {
    wasmSimd: await samplerWasm('build/bench-simd.wasm'),
    wasmScalar: await samplerWasm('build/bench.wasm'),
    native: samplerNative(),
  };
  console.log('\n1. Sampler: softmax + top-p 0.9 + draw with the full step report, against a full-sort baseline (same module)');
  console.log('   * llama2.c sample_topp: peer figure measured on these machines, not in this run (the issue\'s numbers)');
  table('wasm SIMD128 in Node', results.sampler.wasmSimd);
  table('wasm scalar in Node', results.sampler.wasmScalar);
  table('native', results.sampler.native);
}
if (only.includes('kernels')) {
  results.kernels = await runKernels();
  printKernels(results.kernels);
}
if (only.includes('e2e')) {
  results.e2e = runE2e(log);
  printE2e(results.e2e);
}
if (only.includes('browser')) {
  results.browser = await runBrowser(log);
  printBrowser(results.browser);
}
if (only.includes('size')) {
  results.size = runSize();
  printSize(results.size);
}

results.machine.loadAverageAtEnd = loadavg()[0];
results.seconds = (performance.now() - started) / 1000;
mkdirSync(root + 'build', { recursive: true });
writeFileSync(root + 'build/bench.json', JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote build/bench.json (${results.seconds.toFixed(0)} s, load average at the end ${loadavg()[0].toFixed(2)})`);
