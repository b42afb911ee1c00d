// Section 2: nu_matvec for every weight type and the shapes, wasm SIMD128 vs its
// relaxed-SIMD twin (what Chrome runs) vs wasm scalar vs native, in GFLOP/s (2 flops per
// weight) and GB/s of weights read.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { loadBenchWasm, root, timeLoop } from './lib.js';

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
function benchTypes(e) {
  const types = [];
  for (let t = 0; t < e.bench_type_count(); t++) {
    if (e.bench_type_benchable(t)) types.push({ id: t, name: cString(e, e.bench_type_name(t)).toUpperCase(), block: e.bench_type_block_size(t) });
  }
  return types;
}

export async function wasmKernels(file) {
  const e = await loadBenchWasm(file);
  const rows = [];
  for (const type of benchTypes(e)) {
    SHAPES.forEach(([r, c], seed) => {
      if (c % type.block) return;
      const m = e.bench_matvec_new(type.id, r, c, seed);
      if (!m) throw new Error(`${file}: cannot make a ${r}x${c} ${type.name} matrix`);
      const us = timeLoop((i) => e.bench_matvec_loop(m, i), 0, { warmMs: 150, batches: 7 });
      rows.push({ type: type.id, name: type.name, rows: r, cols: c, bytes: e.bench_matvec_weight_bytes(m), us });
      e.bench_matvec_free(m);
    });
  }
  return rows;
}

/** The relaxed-SIMD bench module's rows; Node 20 runs relaxed SIMD only behind a flag, so in a
 * child process that has it. */
function relaxedKernels() {
  const script = `import('${fileURLToPath(import.meta.url)}').then((m) => m.wasmKernels('build/bench-relaxed.wasm'))` +
    '.then((rows) => console.log(JSON.stringify(rows)))';
  const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 24,
  });
  return JSON.parse(out);
}

function nativeKernels() {
  const out = execFileSync(root + 'build/bench_native', ['kernels'], { encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line));
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
  const simd = await wasmKernels('build/bench-simd.wasm');
  const relaxed = relaxedKernels();
  const scalar = await wasmKernels('build/bench.wasm');
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
  // A SIMD128 core at best issues one 4-lane f32 multiply and one add per cycle (no FMA in wasm).
  const peak = mhz ? { mhz, gflops: (4 * 2 * mhz) / 1000, formula: '4 f32 lanes x 2 ops (mul + add) x clock' } : null;
  return { rows, peak };
}

export function printKernels({ rows, peak }) {
  console.log('\n2. Kernels: nu_matvec, median us per call (GFLOP/s, GB/s of weights read); in x out shapes');
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
}
