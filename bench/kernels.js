// Section 2: nu_matvec for every weight type and the shapes, wasm SIMD128 vs wasm
// scalar vs native, in GFLOP/s (2 flops per weight) and GB/s of weights read.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadBenchWasm, root, timeLoop } from './lib.js';

export const TYPES = { 0: 'F32', 1: 'F16', 8: 'Q8_0', 2: 'Q4_0' };
// [rows, cols] for the in x out shapes 288x768, 768x288, 768x2048, 2048x768, 288x32000
// (the same list, in the same order, as bench_native.c's).
export const SHAPES = [[768, 288], [288, 768], [2048, 768], [768, 2048], [32000, 288]];

async function wasmKernels(file) {
  const e = await loadBenchWasm(file);
  const rows = [];
  for (const type of [0, 1, 8, 2]) {
    SHAPES.forEach(([r, c], seed) => {
      const m = e.bench_matvec_new(type, r, c, seed);
      if (!m) throw new Error(`${file}: cannot make a ${r}x${c} ${TYPES[type]} matrix`);
      const us = timeLoop((i) => e.bench_matvec_loop(m, i), 0, { warmMs: 150, batches: 7 });
      rows.push({ type, rows: r, cols: c, bytes: e.bench_matvec_weight_bytes(m), us });
      e.bench_matvec_free(m);
    });
  }
  return rows;
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
  const scalar = await wasmKernels('build/bench.wasm');
  const native = nativeKernels();
  const mhz = clockMHz();
  const rows = simd.map((s, i) => {
    const flops = 2 * s.rows * s.cols;
    const at = (r) => ({ us: r.us, gflops: flops / r.us / 1e3, gbs: r.bytes / r.us / 1e3 });
    return {
      type: TYPES[s.type], shape: `${s.cols}x${s.rows}`, rows: s.rows, cols: s.cols, weightBytes: s.bytes,
      simd: at(s), scalar: at(scalar[i]), native: at(native[i]),
      simdOverScalar: scalar[i].us / s.us, simdOverNative: native[i].us / s.us,
    };
  });
  // A SIMD128 core at best issues one 4-lane f32 multiply and one add per cycle (no FMA in wasm).
  const peak = mhz ? { mhz, gflops: (4 * 2 * mhz) / 1000, formula: '4 f32 lanes x 2 ops (mul + add) x clock' } : null;
  return { rows, peak };
}

export function printKernels({ rows, peak }) {
  console.log('\n2. Kernels: nu_matvec, median us per call (GFLOP/s, GB/s of weights read); in x out shapes');
  if (peak) console.log(`   SIMD128 peak for context: ${peak.formula} = 4 x 2 x ${(peak.mhz / 1000).toFixed(2)} GHz = ${peak.gflops.toFixed(1)} GFLOP/s per core`);
  console.log('type  shape       SIMD us  GFLOP/s  GB/s | scalar us  GFLOP/s | native us  GFLOP/s | SIMD/scalar  SIMD/native');
  for (const r of rows) {
    console.log(
      `${r.type.padEnd(5)} ${r.shape.padEnd(10)} ${r.simd.us.toFixed(1).padStart(8)} ${r.simd.gflops.toFixed(2).padStart(8)} ${r.simd.gbs.toFixed(2).padStart(5)} |` +
      ` ${r.scalar.us.toFixed(1).padStart(9)} ${r.scalar.gflops.toFixed(2).padStart(8)} |` +
      ` ${r.native.us.toFixed(1).padStart(9)} ${r.native.gflops.toFixed(2).padStart(8)} |` +
      ` ${r.simdOverScalar.toFixed(2).padStart(10)}x ${r.simdOverNative.toFixed(2).padStart(11)}x`,
    );
  }
}
