// Section 3: end to end, one thread. For each model: native (bench_native decode: nu_forward
// + the sampler in C) and wasm SIMD in Node, through the public API (loadModel + generate) and
// through a C decode loop in the bench module. Decode tokens/s (greedy and top-p 0.9), time to
// first token (the 5-token prompt prefilled plus the first draw), load time, peak wasm memory.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { root } from './lib.js';

// [model, tokens per run, runs]: medians over the runs. The stories110M shape is section 8's.
export const E2E_MODELS = [
  ['stories260K-f32', 128, 5], ['stories260K-q8_0', 128, 5], ['stories260K-q4_0', 128, 5],
  ['stories15M-f32', 128, 5], ['stories15M-q8_0', 128, 5], ['stories15M-q4_0', 128, 5],
];

function json(command, args) {
  return JSON.parse(execFileSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 }).trim());
}

export function runE2e(log = () => {}) {
  const rows = [];
  for (const [name, tokens, repeats] of E2E_MODELS) {
    const file = `models/${name}.gguf`;
    if (!existsSync(root + file)) throw new Error(`${file} is missing: run make models`);
    log(`   ${name}...`);
    const native = json(root + 'build/bench_native', ['decode', file, String(tokens), String(repeats)]);
    const wasm = json(process.execPath, ['bench/e2e_wasm.js', file, String(tokens), String(repeats)]);
    rows.push({ model: name, tokens, repeats, native, api: wasm.api, loop: wasm.loop });
  }
  return rows;
}

const MiB = (bytes) => (bytes / 2 ** 20).toFixed(1);

export function printE2e(rows) {
  console.log('\n3. End to end, one thread: decode tok/s (median of runs), time to first token (5-token prompt), load, peak wasm memory');
  console.log('   api = wasm SIMD in Node through loadModel/generate; loop = the same C forward + greedy draw in a C loop (bench wasm)');
  console.log('model             tokxruns | greedy tok/s: api   loop native api/nat | top-p 0.9 tok/s: api native api/nat | TTFT ms api native | load ms api native | heap MiB  memory MiB');
  for (const r of rows) {
    const g = [r.api.greedy.tokS, r.loop.greedy.tokS, r.native.greedy.tokS];
    const p = [r.api.topP.tokS, r.native.topP.tokS];
    const cells = (v) => v.map((x) => x.toFixed(0).padStart(6)).join('') + (v[0] / v.at(-1)).toFixed(2).padStart(8);
    console.log(
      `${r.model.padEnd(17)} ${`${r.tokens}x${r.repeats}`.padStart(8)} | ${' '.repeat(11)}${cells(g)} | ${' '.repeat(16)}${cells(p)} |` +
      ` ${r.api.greedy.ttftMs.toFixed(1).padStart(9)} ${r.native.greedy.ttftMs.toFixed(1).padStart(6)} |` +
      ` ${r.api.loadMs.toFixed(0).padStart(8)} ${r.native.loadMs.toFixed(0).padStart(6)} |` +
      ` ${MiB(r.api.memory.heapUsed).padStart(8)} ${MiB(r.api.memory.memoryBytes).padStart(11)}`,
    );
  }
}
