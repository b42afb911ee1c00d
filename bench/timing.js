// Timing helpers with no Node imports, shared by the bench in Node and on its pages.

/** A bench wasm module (the library plus the bench loops, no imports but one) from its bytes. */
export async function instantiateBench(bytes) {
  const { instance } = await WebAssembly.instantiate(bytes, { env: { emscripten_notify_memory_growth() {} } });
  instance.exports._initialize?.();
  return instance.exports;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/**
 * Median microseconds per call of run(iters) over `batches` batches. V8 first runs wasm in its
 * baseline compiler and tiers hot functions up only after a while, so each case first runs
 * for warmMs; iters = 0 picks a batch of about 20 ms from the warm-up's pace.
 */
export function timeLoop(run, iters = 0, { warmMs = 200, batches = 9 } = {}) {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < warmMs) calls += (run(1), 1);
  if (!iters) iters = Math.max(1, Math.round(20 / ((performance.now() - start) / calls)));
  const times = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    run(iters);
    times.push(((performance.now() - t) * 1000) / iters);
  }
  return median(times);
}
