// Section 2: nu_matvec for every weight type and the issue's shapes, wasm SIMD128 vs its
// relaxed-SIMD twin (what Chrome runs) vs wasm scalar vs native, in GFLOP/s (2 flops per
// weight) and GB/s of weights read; then each type streamed from memory, as decode reads it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadBenchWasm, root } from './lib.js';
import { BATCHED, ROUNDS, batchedRows, benchTypes, fastestRounds, matvecRows } from './kernels_core.js';

/** Every type and shape in each module (files, loaded in this Node): { [file]: rows }. */
export async function wasmKernels(files) {
  return matvecRows(await Promise.all(files.map((f) => loadBenchWasm(f))), files);
}

/** Per type, nu_matmul over BATCHED in each module (files): { [file]: [{ name, us }] }. */
export async function wasmBatched(files) {
  return batchedRows(await Promise.all(files.map((f) => loadBenchWasm(f))), files);
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

/** The SIMD128 and relaxed modules' rows timed in headless Chromium (bench/kernels_chromium.js),
 * pinned as the rest: { chromium, simd, relaxed }, or { error } when the browser cannot run. */
function chromiumKernels() {
  try {
    const { chromium, rows } = JSON.parse(pinned(process.execPath, ['bench/kernels_chromium.js']));
    return { chromium, simd: rows['build/bench-simd.wasm'], relaxed: rows['build/bench-relaxed.wasm'] };
  } catch (error) {
    return { error: `Chromium could not run the kernels: ${error.message.split('\n')[0]}` };
  }
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
  const browser = chromiumKernels();
  const mhz = clockMHz();
  // Time per weight byte against Q8_0's on the same shape in the same build and engine: the
  // kernels' speed target is at most 1.5.
  const perByteOf = (rs) => {
    const q8 = new Map(rs.filter((s) => s.name === 'Q8_0').map((s) => [`${s.rows}x${s.cols}`, s.us / s.bytes]));
    return rs.map((s) => (q8.has(`${s.rows}x${s.cols}`) ? s.us / s.bytes / q8.get(`${s.rows}x${s.cols}`) : null));
  };
  const [perByte, perByteRelaxed] = [perByteOf(simd), perByteOf(relaxed)];
  const [perByteChromium, perByteChromiumRelaxed] = browser.error ? [] : [perByteOf(browser.simd), perByteOf(browser.relaxed)];
  const rows = simd.map((s, i) => {
    const flops = 2 * s.rows * s.cols;
    const at = (r) => ({ us: r.us, gflops: flops / r.us / 1e3, gbs: r.bytes / r.us / 1e3 });
    const r = relaxed[i];
    return {
      type: s.name, shape: `${s.cols}x${s.rows}`, rows: s.rows, cols: s.cols, weightBytes: s.bytes,
      simd: at(s), relaxed: at(r), scalar: at(scalar[i]), native: at(native[i]),
      simdOverScalar: scalar[i].us / s.us, simdOverNative: native[i].us / s.us, relaxedOverSimd: s.us / r.us,
      perByteVsQ8_0: perByte[i], perByteVsQ8_0Relaxed: perByteRelaxed[i],
      ...(browser.error ? {} : {
        chromium: { simd: at(browser.simd[i]), relaxed: at(browser.relaxed[i]) },
        perByteVsQ8_0Chromium: perByteChromium[i], perByteVsQ8_0ChromiumRelaxed: perByteChromiumRelaxed[i],
      }),
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
  return {
    rows, chromium: browser.chromium ?? null, chromiumError: browser.error ?? null, batched, batchedShape: BATCHED,
    streamed, streamMiB: STREAM_MIB, pinnedCore: PIN ? Number(PIN[1]) : null, peak,
  };
}

// the builds and engines whose time per weight byte against Q8_0's the section reports
export const PER_BYTE = [
  ['perByteVsQ8_0', 'SIMD128'], ['perByteVsQ8_0Relaxed', 'relaxed SIMD'],
  ['perByteVsQ8_0Chromium', 'SIMD128 in Chromium'], ['perByteVsQ8_0ChromiumRelaxed', 'relaxed SIMD in Chromium'],
];

export function printKernels({ rows, chromium, chromiumError, batched, batchedShape, streamed, streamMiB, pinnedCore, peak }) {
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
  if (chromiumError) console.log(`   ${chromiumError}`);
  else {
    console.log(`   the SIMD128 and relaxed modules again in headless Chromium ${chromium ?? ''} (what the page runs), same core, same rounds`);
    console.log('type   shape      | SIMD us  GFLOP/s  GB/s  per byte vs Q8_0 | relaxed us  GFLOP/s  GB/s  per byte vs Q8_0');
    for (const r of rows) {
      const { simd: s, relaxed: x } = r.chromium;
      console.log(
        `${r.type.padEnd(6)} ${r.shape.padEnd(10)} | ${s.us.toFixed(1).padStart(7)} ${s.gflops.toFixed(2).padStart(8)} ${s.gbs.toFixed(2).padStart(5)} ${r.perByteVsQ8_0Chromium == null ? '-' : r.perByteVsQ8_0Chromium.toFixed(2).padStart(17)} |` +
        ` ${x.us.toFixed(1).padStart(10)} ${x.gflops.toFixed(2).padStart(8)} ${x.gbs.toFixed(2).padStart(5)} ${r.perByteVsQ8_0ChromiumRelaxed == null ? '-' : r.perByteVsQ8_0ChromiumRelaxed.toFixed(2).padStart(17)}`,
      );
    }
  }
  // each type's worst shape, the figure the per-byte target reads
  for (const [key, build] of PER_BYTE) {
    if (!rows.some((r) => r[key] != null)) continue;
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
