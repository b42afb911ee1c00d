#!/usr/bin/env node
// `make bench`: every figure is a median of repeated runs, printed next to a baseline measured
// in the same run (ratios). Writes build/bench.json.
//   node bench/run.js [--only sampler,kernels,e2e,browser,size,large,scale]
// Sections: 1 sampler, 2 kernels, 3 end to end in Node and native, 4 + 5 in the browser with
// wllama as the same-run peer, 6 size, 7 a real-size model (bench/large.js), 8 the stories110M
// shape at 1 and 2 threads against wllama (bench/scale.js).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { printBrowser, runBrowser } from './browser.js';
import { printE2e, runE2e } from './e2e.js';
import { PER_BYTE, clockMHz, printKernels, runKernels } from './kernels.js';
import { printLarge, runLarge } from './large.js';
import { loadBenchWasm, root, timeLoop } from './lib.js';
import { printScale, runScale, scaleTargets } from './scale.js';
import { printSize, runSize } from './size.js';

const SIZES = [32000, 151936];
const SCALES = [10, 3, 0.5];
const SHAPE = { 10: 'peaked', 3: 'medium', 0.5: 'flat' };
// Draws over which the peers are checked against ours (the same coin must give our token or a
// neighbour within 0.01 in logit, bench_peer_agreement), and the share that must pass.
const AGREE_DRAWS = 64;
const AGREE_MIN = 0.9;

const SECTIONS = ['sampler', 'kernels', 'e2e', 'browser', 'size', 'large', 'scale'];
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
      const peer = (which) => timeLoop((i) => e.bench_loop_peer(which, logits, n, 0.9, i), Math.max(1, iters >> 2));
      // The baselines must draw what ours draws from the same coin.
      const agree = [0, 1].map((which) => e.bench_peer_agreement(which, sampler, logits, n, 0.9, AGREE_DRAWS) / AGREE_DRAWS);
      if (Math.min(...agree) < AGREE_MIN) throw new Error(`${file}: a peer sampler draws other tokens than ours (${n} ${SHAPE[scale]}: ${agree})`);
      rows.push({ n, scale, oursUs: ours, llama2cUs: peer(0), llamacppUs: peer(1), agree });
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
  console.log('vocab    shape   ours (us)  llama2.c (us)  vs llama2.c  llama.cpp (us)  vs llama.cpp');
  for (const r of rows) {
    r.vsLlama2c = r.llama2cUs / r.oursUs;
    r.vsLlamacpp = r.llamacppUs / r.oursUs;
    console.log(
      `${String(r.n).padEnd(8)} ${SHAPE[r.scale].padEnd(7)} ${r.oursUs.toFixed(1).padStart(9)} ${r.llama2cUs.toFixed(1).padStart(14)} ${r.vsLlama2c.toFixed(1).padStart(11)}x` +
      ` ${r.llamacppUs.toFixed(1).padStart(15)} ${r.vsLlamacpp.toFixed(1).padStart(12)}x`,
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

const sectionSeconds = {};
let mark = performance.now();
const lap = (name) => {
  sectionSeconds[name] = (performance.now() - mark) / 1000;
  mark = performance.now();
};

if (only.includes('sampler')) {
  results.sampler = {
    wasmSimd: await samplerWasm('build/bench-simd.wasm'),
    wasmScalar: await samplerWasm('build/bench.wasm'),
    native: samplerNative(),
  };
  console.log('\n1. Sampler: softmax + top-p 0.9 + draw with the full step report, against llama2.c\'s and llama.cpp\'s top-p');
  console.log('   (bench/peers.c: their published algorithms, the same logits, the same module, this run)');
  table('wasm SIMD128 in Node', results.sampler.wasmSimd);
  table('wasm scalar in Node', results.sampler.wasmScalar);
  table('native', results.sampler.native);
  lap('sampler');
}
if (only.includes('kernels')) {
  results.kernels = await runKernels();
  printKernels(results.kernels);
  lap('kernels');
}
if (only.includes('e2e')) {
  results.e2e = runE2e(log);
  printE2e(results.e2e);
  lap('e2e');
}
if (only.includes('browser')) {
  results.browser = await runBrowser(log);
  printBrowser(results.browser);
  lap('browser');
}
if (only.includes('size')) {
  results.size = runSize();
  printSize(results.size);
  lap('size');
}
if (only.includes('large')) {
  results.large = await runLarge(log);
  printLarge(results.large);
  lap('large');
}
if (only.includes('scale')) {
  results.scale = await runScale(log);
  printScale(results.scale);
  lap('scale');
}

/** The issue's targets, each with the figure of this run it is judged on. */
function targets(r) {
  const rows = [];
  const add = (what, value, goal, unit, pass) => rows.push({ what, value, goal, unit, pass: Number.isFinite(value) && pass(value) });
  const simd = r.sampler?.wasmSimd;
  // Judged against the faster of the two peers in each case.
  const cell = (n, shape) => {
    const x = simd?.find((y) => y.n === n && SHAPE[y.scale] === shape);
    return x && Math.min(x.vsLlama2c, x.vsLlamacpp);
  };
  if (simd) {
    add('sampler vs the faster peer, 32000 peaked (wasm SIMD)', cell(32000, 'peaked'), '>= 3x', 'x', (v) => v >= 3);
    add('sampler vs the faster peer, 32000 medium', cell(32000, 'medium'), '>= 10x', 'x', (v) => v >= 10);
    add('sampler vs the faster peer, 32000 flat', cell(32000, 'flat'), '>= 5x', 'x', (v) => v >= 5);
    add('sampler vs the faster peer, 151936 medium', cell(151936, 'medium'), '>= 10x', 'x', (v) => v >= 10);
  }
  const e2e15 = r.e2e?.find((x) => x.model === 'stories15M-q8_0');
  const ours = r.browser?.ours['stories15M-q8_0'];
  if (ours) {
    add('decode stories15M Q8_0 greedy, browser worker', ours.greedy.tokS, '>= 320 tok/s', 'tok/s', (v) => v >= 320);
    add('decode stories15M Q8_0 top-p 0.9, browser worker', ours.topP.tokS, '>= 200 tok/s', 'tok/s', (v) => v >= 200);
  }
  if (e2e15) {
    add('decode stories15M Q8_0 greedy, Node API', e2e15.api.greedy.tokS, '>= 320 tok/s', 'tok/s', (v) => v >= 320);
    add('decode stories15M Q8_0 top-p 0.9, Node API', e2e15.api.topP.tokS, '>= 200 tok/s', 'tok/s', (v) => v >= 200);
    add('wasm SIMD / native decode, stories15M Q8_0 greedy', e2e15.api.greedy.tokS / e2e15.native.greedy.tokS, '>= 0.7x', 'x', (v) => v >= 0.7);
  }
  const peer = r.browser?.wllama['stories15M-q8_0'];
  if (ours && peer) {
    add('ours / wllama, stories15M Q8_0 greedy', ours.greedy.tokS / peer.greedy.tokS, '>= 1.5x', 'x', (v) => v >= 1.5);
    add('ours / wllama, stories15M Q8_0 top-p 0.9', ours.topP.tokS / peer.topP.tokS, '>= 1.5x', 'x', (v) => v >= 1.5);
  }
  const q8 = r.kernels?.rows.filter((x) => x.type === 'Q8_0');
  if (q8) add('Q8_0 kernel SIMD / scalar wasm (lowest shape)', Math.min(...q8.map((x) => x.simdOverScalar)), '>= 2x', 'x', (v) => v >= 2);
  const perByte = r.kernels?.rows.filter((x) => x.perByteVsQ8_0 != null && x.type !== 'Q8_0');
  for (const [key, build] of PER_BYTE) {
    if (!perByte?.some((x) => x[key] != null)) continue;
    const worst = perByte.reduce((a, b) => (b[key] > a[key] ? b : a));
    add(`worst kernel time per weight byte / Q8_0's (${worst.type} ${worst.shape}, ${build})`, worst[key], '<= 1.5x', 'x', (v) => v <= 1.5);
  }
  if (r.size) {
    add('runtime a page loads, gzip (SIMD + threaded wasm + web/*.js)', r.size.threadedPage.gzip / 1024, '<= 300 KB', 'KB', (v) => v <= 300);
    add('package runtime, gzip (all five wasm builds + web/*.js)', r.size.total.gzip / 1024, '<= 300 KB', 'KB', (v) => v <= 300);
  }
  if (r.scale) scaleTargets(r.scale, add);
  if (r.browser?.slider) add('p slider -> repainted frame, vocab 32000', r.browser.slider.latencyMs, '< 16 ms', 'ms', (v) => v < 16);
  return rows;
}

results.targets = targets(results);
if (results.targets.length) {
  console.log('\nTargets (figures of this run)');
  for (const t of results.targets) {
    const value = Number.isFinite(t.value) ? t.value.toFixed(t.unit === 'x' ? 2 : 1) : '-';
    console.log(`${t.pass ? 'met ' : 'MISS'}  ${t.what.padEnd(60)} ${`${value} ${t.unit}`.padStart(13)}  target ${t.goal}`);
  }
}

results.machine.loadAverageAtEnd = loadavg()[0];
results.seconds = (performance.now() - started) / 1000;
results.sectionSeconds = sectionSeconds;
mkdirSync(root + 'build', { recursive: true });
writeFileSync(root + 'build/bench.json', JSON.stringify(results, null, 2) + '\n');
const laps = Object.entries(sectionSeconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ');
console.log(`\nwrote build/bench.json (${results.seconds.toFixed(0)} s: ${laps}; load average at the end ${loadavg()[0].toFixed(2)})`);
