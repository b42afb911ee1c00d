// The kernel timings of section 2 that need no Node: run in Node (bench/kernels.js) and on a
// Chromium page (bench/kernels_chromium.js) alike, on modules the caller instantiated.
import { timeLoop } from './timing.js';

// [rows, cols] for the in x out shapes 288x768, 768x288, 768x2048, 2048x768, 288x32000
// (the same list, in the same order, as bench_native.c's). A type whose blocks do not divide
// a shape's columns (the 256-element K-quants and 288) skips that shape, in both.
export const SHAPES = [[768, 288], [288, 768], [2048, 768], [768, 2048], [32000, 288]];

/** The C string at ptr in the module's memory. */
function cString(e, ptr) {
  const bytes = new Uint8Array(e.memory.buffer, ptr);
  return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
}

/** Every type the table can write and multiply, by ggml id, with its name and block size. */
export function benchTypes(e) {
  const types = [];
  for (let t = 0; t < e.bench_type_count(); t++) {
    if (e.bench_type_benchable(t)) types.push({ id: t, name: cString(e, e.bench_type_name(t)).toUpperCase(), block: e.bench_type_block_size(t) });
  }
  return types;
}

// The host shares its caches and cores with other machines, and a single timing can move by
// 1.5x from one second to the next; so every cell is timed ROUNDS times, the modules and cells
// in turn, and keeps its fastest round (the one least disturbed).
export const ROUNDS = 3;

/** Times run(iters) ROUNDS times, the rounds of all `runs` interleaved: the fastest of each. */
export function fastestRounds(runs) {
  const best = runs.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    runs.forEach((run, i) => {
      best[i] = Math.min(best[i], timeLoop(run, 0, { warmMs: round ? 30 : 150, batches: 5 }));
    });
  }
  return best;
}

/** Every type and shape in each module (the exports of instantiateBench; files name them):
 * { [file]: rows }, each row the fastest round. */
export function matvecRows(modules, files) {
  const cells = [];
  for (const type of benchTypes(modules[0])) {
    SHAPES.forEach(([r, c], seed) => {
      if (c % type.block) return;
      const mats = modules.map((e, k) => {
        const m = e.bench_matvec_new(type.id, r, c, seed);
        if (!m) throw new Error(`${files[k]}: cannot make a ${r}x${c} ${type.name} matrix`);
        return m;
      });
      cells.push({ type, r, c, mats, bytes: modules[0].bench_matvec_weight_bytes(mats[0]) });
    });
  }
  const us = fastestRounds(cells.flatMap((cell) => modules.map((e, k) => (i) => e.bench_matvec_loop(cell.mats[k], i))));
  const out = Object.fromEntries(files.map((f, k) => [f, cells.map((cell, i) => ({
    type: cell.type.id, name: cell.type.name, rows: cell.r, cols: cell.c, bytes: cell.bytes, us: us[i * files.length + k],
  }))]));
  for (const cell of cells) cell.mats.forEach((m, k) => modules[k].bench_matvec_free(m));
  return out;
}

// The batched product as a prompt runs it: one chunk (NU_BATCH, src/model.h) of distinct inputs
// against a Llama 3.2 1B-sized projection, each weight tile unpacked once for the chunk.
export const BATCHED = { rows: 2048, cols: 2048, inputs: 64 };

/** Per type, nu_matmul over BATCHED in each module, the fastest round: { [file]: [{ name, us }] }. */
export function batchedRows(modules, files) {
  const cells = [];
  for (const type of benchTypes(modules[0])) {
    if (BATCHED.cols % type.block) continue;
    const mats = modules.map((e, k) => {
      const m = e.bench_matvec_new(type.id, BATCHED.rows, BATCHED.cols, 7);
      if (!m || e.bench_matmul_inputs(m, BATCHED.inputs, 7) !== 0) throw new Error(`${files[k]}: cannot make the ${type.name} batched product`);
      return m;
    });
    cells.push({ type, mats });
  }
  const us = fastestRounds(cells.flatMap((cell) => modules.map((e, k) => (i) => e.bench_matmul_loop(cell.mats[k], i))));
  const out = Object.fromEntries(files.map((f, k) => [f, cells.map((cell, i) => ({ name: cell.type.name, us: us[i * files.length + k] }))]));
  for (const cell of cells) cell.mats.forEach((m, k) => modules[k].bench_matvec_free(m));
  return out;
}

