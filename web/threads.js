// Threads for the matrix products (src/pool.h): how many to use, whether this engine can, and
// the helper threads of a model, each a Worker (worker_threads in Node) that instantiates the
// threaded module on the same shared memory and parks in nu_pool_worker until the model is
// disposed.
import { simdSupported } from './wasm.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const JOIN_TIMEOUT_MS = 30000;

/** The default: half the logical cores, at least 1. */
export async function defaultThreads() {
  let cores = 1;
  if (isNode) cores = (await import('node:os')).availableParallelism();
  else if (globalThis.navigator?.hardwareConcurrency) cores = navigator.hardwareConcurrency;
  return Math.max(1, Math.floor(cores / 2));
}

/** Why this engine cannot run helper threads, or null when it can. */
export function threadsUnavailable({ simd } = {}) {
  if (simd === false) return 'the scalar build (simd: false) has no threads';
  if (typeof SharedArrayBuffer === 'undefined' || globalThis.crossOriginIsolated === false) {
    return 'SharedArrayBuffer is unavailable: the page is not cross-origin isolated (it needs the COOP and COEP headers)';
  }
  if (!simdSupported()) return 'this engine has no WebAssembly SIMD, which the threaded build needs';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this engine has no shared WebAssembly memory';
  }
  if (!isNode) {
    // memory.atomic.wait traps on a page's main thread: the model must run in a worker.
    if (typeof WorkerGlobalScope === 'undefined') return "a page's main thread cannot wait for threads: load the model in a WorkerModel";
    if (typeof Worker === 'undefined') return 'this worker cannot start workers';
  }
  return null;
}

async function spawn(data) {
  const url = new URL('./pool-worker.js', import.meta.url);
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(url, { workerData: data });
    worker.unref(); // a parked helper must not keep the process alive
    return {
      on: (handler, fail) => {
        worker.on('message', handler);
        worker.on('error', fail);
      },
      terminate: () => worker.terminate(),
    };
  }
  const worker = new Worker(url, { type: 'module' });
  worker.postMessage(data);
  return {
    on: (handler, fail) => {
      worker.onmessage = ({ data: message }) => handler(message);
      worker.onerror = (event) => fail(new Error(event.message ?? 'helper thread failed'));
    },
    terminate: () => worker.terminate(),
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts helpers 1..n-1 of the pool at `pool` in `wasm` (the threaded module) and waits until
 * all have joined it. Returns { stop() }: call it after the pool is freed (nu_model_close),
 * which has made them leave nu_pool_worker. On failure the helpers started are left parked on
 * the pool and stopped by stop(); the caller frees the pool first.
 */
export async function startHelpers(wasm, pool, n) {
  const e = wasm.exports;
  const helpers = [];
  const stop = () => helpers.forEach((h) => h.terminate());
  try {
    const ready = [];
    for (let index = 1; index < n; index++) {
      const stackTop = e.nu_pool_stack_top(pool, index);
      const helper = await spawn({ module: wasm.module, memory: wasm.sharedMemory, pool, index, stackTop });
      helpers.push(helper);
      ready.push(new Promise((resolve, reject) => {
        helper.on((message) => (message.type === 'error' ? reject(new Error(message.message)) : resolve()), reject);
      }));
    }
    await Promise.all(ready);
    // 'ready' comes just before a helper enters nu_pool_worker; the pool may only be freed
    // (and a helper only counted on) once it is inside.
    const started = Date.now();
    while (e.nu_pool_joined(pool) < n - 1) {
      if (Date.now() - started > JOIN_TIMEOUT_MS) throw new Error(`only ${e.nu_pool_joined(pool)} of ${n - 1} helper threads started`);
      await sleep(1);
    }
  } catch (error) {
    error.stop = stop;
    throw error;
  }
  return { stop };
}
