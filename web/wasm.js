// Finds, loads and instantiates the Nucleus wasm module, the same way in Node and browsers.
// The builds in dist/: nucleus-simd.wasm (SIMD128) and nucleus.wasm (scalar fallback), the
// SIMD one used when the engine validates a tiny SIMD probe module; nucleus-relaxed.wasm, the
// SIMD build whose sub-8-bit kernels use relaxed SIMD's byte dot product, used instead where
// the engine validates a relaxed probe (Chrome 114+, Node 22+); nucleus-mt.wasm and
// nucleus-mt-relaxed.wasm (the same two plus atomics on a shared memory) serve models split
// over threads (web/threads.js). Every build gives the same bits.

export const API_VERSION = 1;

// (module (func (result v128) i32.const 0 i8x16.splat))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11,
]);

export function simdSupported() {
  return WebAssembly.validate(SIMD_PROBE);
}

// (module (func (result v128) i32.const 0 i8x16.splat i32.const 0 i8x16.splat
//   i16x8.relaxed_dot_i8x16_i7x16_s))
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 0, 253, 15, 65, 0, 253, 15,
  253, 146, 2, 11,
]);

/** Whether the engine runs relaxed SIMD's byte dot product (the nucleus-relaxed builds). */
export function relaxedSimdSupported() {
  return WebAssembly.validate(RELAXED_PROBE);
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function readBytes(url) {
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** A loaded module: its exports plus helpers that read and write its memory. */
export class WasmModule {
  constructor(instance, simd, module, memory = null, relaxed = false) {
    this.exports = instance.exports;
    this.simd = simd;
    /** Whether this is a relaxed-SIMD build (nucleus-relaxed.wasm, nucleus-mt-relaxed.wasm). */
    this.relaxed = relaxed;
    /** The compiled WebAssembly.Module: a page can post it to a worker (see WorkerModel). */
    this.module = module;
    /** The shared memory of the threaded build (null otherwise): helper threads instantiate on it. */
    this.sharedMemory = memory;
  }

  get memory() {
    return this.sharedMemory ?? this.exports.memory;
  }

  // Views must be taken afresh after any call that may grow memory.
  f32(ptr, length) {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  f64(ptr, length) {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  i32(ptr, length) {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  u8(ptr, length) {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  /** Bytes allocated in the module's heap, and the size of its linear memory. */
  memoryUsage() {
    return { heapUsed: this.exports.nu_heap_used(), memoryBytes: this.memory.buffer.byteLength };
  }

  cstring(ptr) {
    const bytes = new Uint8Array(this.memory.buffer);
    let end = ptr;
    while (bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.slice(ptr, end)); // a copy: browsers decode no shared views
  }
}

const cache = new Map();

/**
 * Loads the module once per flavour. options.simd: true / false forces a build; by default
 * SIMD is used when supported. options.relaxed: true / false forces the relaxed-SIMD twin of a
 * SIMD build in or out; by default it is used when supported. options.url overrides where the
 * wasm file is found (options.relaxed then says whether it is a relaxed build).
 * options.module: an already compiled WebAssembly.Module of that build (e.g. posted by a page
 * to its worker), instantiated instead of fetching the file.
 */
export function loadWasm(options = {}) {
  const threads = options.threads === true;
  const simd = threads || (options.simd ?? simdSupported());
  const relaxed = simd && (options.relaxed ?? (options.url === undefined && relaxedSimdSupported()));
  const name = threads ? 'nucleus-mt' : simd ? 'nucleus-simd' : 'nucleus';
  const file = relaxed ? `./dist/${threads ? 'nucleus-mt' : 'nucleus'}-relaxed.wasm` : `./dist/${name}.wasm`;
  const url = options.url ? new URL(options.url, import.meta.url) : new URL(file, import.meta.url);
  const key = url.href;
  if (!cache.has(key)) {
    const promise = instantiate(options.module ?? url, simd, threads, relaxed);
    promise.catch(() => cache.delete(key)); // a failed load may be retried
    cache.set(key, promise);
  }
  return cache.get(key);
}

/**
 * The runtime's compiled wasm, { module, simd } (the SIMD build unless { simd: false }): give it
 * to new WorkerModel(url, { runtime }) so the worker neither fetches nor compiles it again.
 */
export async function compileRuntime(options = {}) {
  const wasm = await loadWasm({ simd: options.simd, relaxed: options.relaxed, url: options.wasmUrl });
  return { module: wasm.module, simd: wasm.simd, relaxed: wasm.relaxed };
}

// The threaded build's memory limits, as the Makefile links it (INITIAL_MEMORY, MAXIMUM_MEMORY).
const MT_PAGES = { initial: 256, maximum: 65536 };

/** The imports of the module; helper threads pass the shared memory they were given. */
export function moduleImports(memory = null) {
  const env = { emscripten_notify_memory_growth() {} };
  if (memory) env.memory = memory;
  return { env };
}

/** source: the URL of the wasm file, or a compiled WebAssembly.Module. */
async function instantiate(source, simd, threads, relaxed) {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(await readBytes(source));
  const memory = threads ? new WebAssembly.Memory({ ...MT_PAGES, shared: true }) : null;
  const instance = await WebAssembly.instantiate(module, moduleImports(memory));
  instance.exports._initialize?.();
  const version = instance.exports.nu_api_version();
  if (version !== API_VERSION) {
    const name = source instanceof WebAssembly.Module ? 'the given module' : source;
    throw new Error(`${name} has API version ${version}, this loader expects ${API_VERSION}`);
  }
  return new WasmModule(instance, simd, module, memory, relaxed);
}
