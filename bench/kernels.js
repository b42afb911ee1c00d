// Section 2: nu_matvec for every weight type and the issue's shapes, wasm SIMD128 vs its
// relaxed-SIMD twin (what Chrome runs) vs wasm scalar vs native, in GFLOP/s (2 flops per
// weight) and GB/s of weights read; then each type streamed from memory, as decode reads it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadBenchWasm, root, timeLoop } from './lib.js';

// [rows, cols] for the issue's in x out shapes 288x768, 768x288, 768x2048, 2048x768, 288x32000
// (the same list, in the same order, as bench_native.c's). A type whose blocks do not divide
// a shape's columns (the 256-element K-quants and 288) skips that shape, in both.
export const SHAPES = [[768, 288], [288, 768], [2048, 768], [768, 2048], [32000, 288]];

/** The C string at ptr in the module's memory. */
function cString(e, ptr) {
  const bytes = new Uint8Array(e.memory.buffer, ptr);
  return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
}

/** Every type the table can write and multiply, by ggml id, with its name and block size. */
function benchTypes(e) {
  const types = [];
  for (let t = 0; t < e.bench_type_count(); t++) {
    if (e.bench_type_benchable(t)) types.push({ id: t, name: cString(e, e.bench_type_name(t)).toUpperCase(), block: e.bench_type_block_size(t) });
  }
  return types;
}

// The host shares its caches and cores with other machines, and a single timing can move by
// 1.5x from one second to the next; so every cell is timed ROUNDS times, the modules and cells
// in turn, and keeps its fastest round (the one least disturbed).
const ROUNDS = 3;

/** Times run(iters) ROUNDS times, the rounds of all `runs` interleaved: the fastest of each. */
function fastestRounds(runs) {
  const best = runs.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    runs.forEach((run, i) => {
      best[i] = Math.min(best[i], timeLoop(run, 0, { warmMs: round ? 30 : 150, batches: 5 }));
    });
  }
  return best;
}

/** Every type and shape in each module: { [file]: rows }, each row the fastest round. */
export async function wasmKernels(files) {
  const modules = await Promise.all(files.map((f) => loadBenchWasm(f)));
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
export async function wasmBatched(files) {
  const modules = await Promise.all(files.map((f) => loadBenchWasm(f)));
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

// Decode's regime: copies of a stories110M-shaped layer past the last-level cache (32 MiB on the
// machine the README names), each pass reading every weight from memory (bench_stack_new).
const STREAM_MIB = 96;

/** Per type, one pass over STREAM_MIB+ of its weights in each module, the fastest round:
 * { [file]: [{ name, bytes, us }] }. One type's copies at a time (a few hundred MiB). */
export async function wasmStreamed(files) {
  const modules = await Promise.all(files.map((f) => loadBenchWasm(f)));
  const out = Object.fromEntries(files.map((f) => [f, []]));
  for (const type of benchTypes(modules[0])) {
    const stacks = modules.map((e) => e.bench_stack_new(type.id, STREAM_MIB, 1));
    if (stacks.some((m) => !m)) { // 768 columns are not whole blocks of it
      stacks.forEach((m, k) => modules[k].bench_stack_free(m));
      continue;
    }
    const us = fastestRounds(modules.map((e, k) => (i) => e.bench_stack_loop(stacks[k], i)));
    files.forEach((f, k) => out[f].push({ name: type.name, bytes: modules[k].bench_stack_weight_bytes(stacks[k]), us: us[k] }));
    stacks.forEach((m, k) => modules[k].bench_stack_free(m));
  }
  return out;
}

// Every timing of the section runs on one core, the last (taskset, where the machine has one):
// a VM's cores need not be equal (on the README's machine core 0 ran the same product up to 1.5x
// slower than core 1), and a type's time and Q8_0's must come from the same core for their ratio.
const PIN = availableParallelism() > 1 && hasTaskset() ? ['-c', String(availableParallelism() - 1)] : null;

function hasTaskset() {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** file with args, on the pinned core when there is one. */
function pinned(file, args, options = {}) {
  const opts = { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24, ...options };
  return PIN ? execFileSync('taskset', [...PIN, file, ...args], opts) : execFileSync(file, args, opts);
}

/** Every wasm module's rows and streamed passes, in one pinned Node that has relaxed SIMD (Node
 * 20 runs it only behind a flag). */
function wasmRuns() {
  const script = `import('${fileURLToPath(import.meta.url)}').then(async (m) => console.log(JSON.stringify({` +
    " rows: await m.wasmKernels(['build/bench-simd.wasm', 'build/bench-relaxed.wasm', 'build/bench.wasm'])," +
    " batched: await m.wasmBatched(['build/bench-simd.wasm', 'build/bench-relaxed.wasm'])," +
    " streamed: await m.wasmStreamed(['build/bench-simd.wasm', 'build/bench-relaxed.wasm']) })))";
  const { rows, batched, streamed } = JSON.parse(pinned(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script]));
  return {
    simd: rows['build/bench-simd.wasm'], relaxed: rows['build/bench-relaxed.wasm'], scalar: rows['build/bench.wasm'],
    batchedSimd: batched['build/bench-simd.wasm'], batchedRelaxed: batched['build/bench-relaxed.wasm'],
    streamedSimd: streamed['build/bench-simd.wasm'], streamedRelaxed: streamed['build/bench-relaxed.wasm'],
  };
}

function nativeKernels() {
  return pinned(root + 'build/bench_native', ['kernels']).trim().split('\n').map((line) => JSON.parse(line));
}

/** The clock from /proc/cpuinfo (MHz), or null. */
export function clockMHz() {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^cpu MHz\s*:\s*([\d.]+)/m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function runKernels() {
  const { simd, relaxed, scalar, batchedSimd, batchedRelaxed, streamedSimd, streamedRelaxed } = wasmRuns();
  const native = nativeKernels();
  const mhz = clockMHz();
  // Time per weight byte against Q8_0's on the same shape (SIMD): the kernels' speed target
  // is at most 1.5.
  const q8Of = (rs) => new Map(rs.filter((s) => s.name === 'Q8_0').map((s) => [`${s.rows}x${s.cols}`, s.us / s.bytes]));
  const q8 = q8Of(simd), q8Relaxed = q8Of(relaxed);
  const rows = simd.map((s, i) => {
    const flops = 2 * s.rows * s.cols;
    const at = (r) => ({ us: r.us, gflops: flops / r.us / 1e3, gbs: r.bytes / r.us / 1e3 });
    const q8PerByte = q8.get(`${s.rows}x${s.cols}`), q8RelaxedPerByte = q8Relaxed.get(`${s.rows}x${s.cols}`);
    const r = relaxed[i];
    return {
      type: s.name, shape: `${s.cols}x${s.rows}`, rows: s.rows, cols: s.cols, weightBytes: s.bytes,
      simd: at(s), relaxed: at(r), scalar: at(scalar[i]), native: at(native[i]),
      simdOverScalar: scalar[i].us / s.us, simdOverNative: native[i].us / s.us, relaxedOverSimd: s.us / r.us,
      perByteVsQ8_0: q8PerByte ? s.us / s.bytes / q8PerByte : null,
      perByteVsQ8_0Relaxed: q8RelaxedPerByte ? r.us / r.bytes / q8RelaxedPerByte : null,
    };
  });
  // streamed: GB/s and time per byte against Q8_0's, in each build
  const q8StreamedOf = (rs) => rs.filter((x) => x.name === 'Q8_0').map((x) => x.us / x.bytes)[0];
  const q8Streamed = q8StreamedOf(streamedSimd), q8StreamedRelaxed = q8StreamedOf(streamedRelaxed);
  const streamed = streamedSimd.map((s, i) => {
    const r = streamedRelaxed[i];
    return {
      type: s.name, weightBytes: s.bytes, simd: { us: s.us, gbs: s.bytes / s.us / 1e3 }, relaxed: { us: r.us, gbs: r.bytes / r.us / 1e3 },
      perByteVsQ8_0: s.us / s.bytes / q8Streamed, perByteVsQ8_0Relaxed: r.us / r.bytes / q8StreamedRelaxed,
    };
  });
  // batched: GFLOP/s of the whole product in each build
  const flopsBatched = 2 * BATCHED.rows * BATCHED.cols * BATCHED.inputs;
  const batched = batchedSimd.map((s, i) => {
    const r = batchedRelaxed[i];
    return { type: s.name, simd: { us: s.us, gflops: flopsBatched / s.us / 1e3 }, relaxed: { us: r.us, gflops: flopsBatched / r.us / 1e3 }, relaxedOverSimd: s.us / r.us };
  });
  // A SIMD128 core at best issues one 4-lane f32 multiply and one add per cycle (no FMA in wasm).
  const peak = mhz ? { mhz, gflops: (4 * 2 * mhz) / 1000, formula: '4 f32 lanes x 2 ops (mul + add) x clock' } : null;
  return { rows, batched, batchedShape: BATCHED, streamed, streamMiB: STREAM_MIB, pinnedCore: PIN ? Number(PIN[1]) : null, peak };
}

export function printKernels({ rows, batched, batchedShape, streamed, streamMiB, pinnedCore, peak }) {
  console.log(`\n2. Kernels: nu_matvec, us per call (the fastest of ${ROUNDS} interleaved rounds of every module, type and shape, each the median of 5 batches; GFLOP/s, GB/s of weights read); in x out shapes; ${pinnedCore == null ? 'not pinned (no taskset)' : `all on core ${pinnedCore} (taskset)`}`);
  if (peak) console.log(`   SIMD128 peak for context: ${peak.formula} = 4 x 2 x ${(peak.mhz / 1000).toFixed(2)} GHz = ${peak.gflops.toFixed(1)} GFLOP/s per core`);
  console.log('   relaxed: the relaxed-SIMD build (Chrome 114+, Node 22+; here Node with --experimental-wasm-relaxed-simd)');
  console.log('   per byte vs Q8_0: time per weight byte over Q8_0\'s on the shape in the same build (target <= 1.5)');
  console.log('type   shape       SIMD us  GFLOP/s  GB/s | relaxed us  GB/s  speed-up | scalar us  GFLOP/s | native us  GFLOP/s | SIMD/scalar  SIMD/native | per byte vs Q8_0: SIMD relaxed');
  for (const r of rows) {
    console.log(
      `${r.type.padEnd(6)} ${r.shape.padEnd(10)} ${r.simd.us.toFixed(1).padStart(8)} ${r.simd.gflops.toFixed(2).padStart(8)} ${r.simd.gbs.toFixed(2).padStart(5)} |` +
      ` ${r.relaxed.us.toFixed(1).padStart(10)} ${r.relaxed.gbs.toFixed(2).padStart(5)} ${r.relaxedOverSimd.toFixed(2).padStart(8)}x |` +
      ` ${r.scalar.us.toFixed(1).padStart(9)} ${r.scalar.gflops.toFixed(2).padStart(8)} |` +
      ` ${r.native.us.toFixed(1).padStart(9)} ${r.native.gflops.toFixed(2).padStart(8)} |` +
      ` ${r.simdOverScalar.toFixed(2).padStart(10)}x ${r.simdOverNative.toFixed(2).padStart(11)}x |` +
      ` ${r.perByteVsQ8_0 == null ? '-' : r.perByteVsQ8_0.toFixed(2).padStart(8)}` +
      ` ${r.perByteVsQ8_0Relaxed == null ? '-' : r.perByteVsQ8_0Relaxed.toFixed(2).padStart(7)}`,
    );
  }
  // each type's worst shape, the figure the per-byte target reads
  for (const [key, build] of [['perByteVsQ8_0', 'SIMD128'], ['perByteVsQ8_0Relaxed', 'relaxed SIMD']]) {
    const types = [...new Set(rows.filter((r) => r.type !== 'Q8_0').map((r) => r.type))];
    const worst = types.map((t) => `${t} ${Math.max(...rows.filter((r) => r.type === t).map((r) => r[key])).toFixed(2)}`);
    console.log(`   per byte vs Q8_0, worst shape (${build}): ${worst.join(', ')}`);
  }
  const b = batchedShape;
  console.log(`   batched (a prompt's regime): nu_matmul of a ${b.cols}x${b.rows} matrix against ${b.inputs} distinct inputs (one prompt chunk), each weight tile unpacked once for all`);
  console.log('type   | SIMD us  GFLOP/s | relaxed us  GFLOP/s  speed-up');
  for (const r of batched) {
    console.log(`${r.type.padEnd(6)} | ${r.simd.us.toFixed(0).padStart(7)} ${r.simd.gflops.toFixed(1).padStart(8)} | ${r.relaxed.us.toFixed(0).padStart(10)} ${r.relaxed.gflops.toFixed(1).padStart(8)} ${r.relaxedOverSimd.toFixed(2).padStart(8)}x`);
  }
  console.log(`   streamed (decode's regime): one pass over copies of a stories110M layer (7 matrices, rows interleaved) past ${streamMiB} MiB, so every weight comes from memory`);
  console.log('type     MiB | SIMD us   GB/s  per byte vs Q8_0 | relaxed us   GB/s  per byte vs Q8_0');
  for (const r of streamed) {
    console.log(
      `${r.type.padEnd(6)} ${(r.weightBytes / 2 ** 20).toFixed(0).padStart(5)} | ${r.simd.us.toFixed(0).padStart(7)} ${r.simd.gbs.toFixed(2).padStart(6)} ${r.perByteVsQ8_0.toFixed(2).padStart(17)} |` +
      ` ${r.relaxed.us.toFixed(0).padStart(10)} ${r.relaxed.gbs.toFixed(2).padStart(6)} ${r.perByteVsQ8_0Relaxed.toFixed(2).padStart(17)}`,
    );
  }
}
