// One helper thread of a model split over threads (web/threads.js, src/pool.h): instantiates the
// threaded module on the model's shared memory, moves to its own stack and works in
// nu_pool_worker until the pool is freed. It never allocates in the module.
import { moduleImports } from './wasm.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function run({ module, memory, pool, index, stackTop }, post) {
  try {
    // No _initialize: the data segments and constructors are the first instance's.
    const instance = await WebAssembly.instantiate(module, moduleImports(memory));
    instance.exports.stackRestore(stackTop);
    post({ type: 'ready' });
    instance.exports.nu_pool_worker(pool, index);
    post({ type: 'exit' });
  } catch (error) {
    post({ type: 'error', message: `helper thread ${index}: ${error?.message ?? error}` });
  }
}

if (isNode) {
  const { parentPort, workerData } = await import('node:worker_threads');
  run(workerData, (message) => parentPort.postMessage(message));
} else {
  self.onmessage = ({ data }) => run(data, (message) => self.postMessage(message));
}
