// Reads a model source (path, URL, ArrayBuffer, typed array, Blob/File) straight into wasm
// memory, in chunks, reporting progress. The caller owns the returned buffer (wasm malloc).
import { NucleusError, invalid } from './errors.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const CHUNK = 4 << 20;

function tooLarge(size) {
  const mib = (size / 2 ** 20).toFixed(1);
  return new NucleusError(`a file of ${size} bytes (${mib} MiB) does not fit in wasm memory (4 GiB at most)`, 'OUT_OF_MEMORY');
}

/** Allocates size bytes in the module, or throws OUT_OF_MEMORY naming the size. */
function allocate(wasm, size) {
  if (size > 0xffffffff) throw tooLarge(size);
  const ptr = wasm.exports.malloc(Math.max(1, size));
  if (!ptr) throw tooLarge(size);
  return ptr;
}

function baseName(text) {
  return decodeURIComponent(String(text).split(/[\\/]/).pop().split(/[?#]/)[0]);
}

async function readNodeFile(wasm, path, report) {
  const { open } = await import('node:fs/promises');
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new NucleusError(`cannot open ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, 'IO', { cause: error });
  }
  try {
    const { size } = await handle.stat();
    const ptr = allocate(wasm, size);
    try {
      for (let done = 0; done < size; ) {
        const length = Math.min(CHUNK, size - done);
        const { bytesRead } = await handle.read(wasm.u8(ptr + done, length), 0, length, done);
        if (bytesRead === 0) throw new NucleusError(`${path} shrank while it was being read`, 'IO');
        done += bytesRead;
        report(done, size);
      }
    } catch (error) {
      wasm.exports.free(ptr);
      throw error;
    }
    return { ptr, size, name: baseName(path) };
  } finally {
    await handle.close();
  }
}

/** Copies chunks from a stream reader; total may be unknown (0). */
async function readStream(wasm, reader, total, name, report) {
  if (total > 0) {
    const ptr = allocate(wasm, total);
    let done = 0;
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        if (done + value.length > total) throw new NucleusError(`${name} is longer than its announced ${total} bytes`, 'IO');
        wasm.u8(ptr + done, value.length).set(value);
        done += value.length;
        report(done, total);
      }
      if (done !== total) throw new NucleusError(`${name} ended after ${done} of ${total} bytes`, 'IO');
    } catch (error) {
      wasm.exports.free(ptr);
      throw error;
    }
    return { ptr, size: total, name };
  }
  const chunks = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    report(size, 0);
  }
  return copyBytes(wasm, chunks, size, name);
}

function copyBytes(wasm, chunks, size, name) {
  const ptr = allocate(wasm, size);
  let at = 0;
  for (const chunk of chunks) {
    wasm.u8(ptr + at, chunk.length).set(chunk);
    at += chunk.length;
  }
  return { ptr, size, name };
}

async function readUrl(wasm, url, report) {
  if (isNode && url.protocol === 'file:') {
    const { fileURLToPath } = await import('node:url');
    return readNodeFile(wasm, fileURLToPath(url), report);
  }
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new NucleusError(`cannot fetch ${url}: ${error.message}`, 'IO', { cause: error });
  }
  if (!response.ok) throw new NucleusError(`cannot fetch ${url}: HTTP ${response.status}`, 'IO');
  const total = Number(response.headers.get('content-length')) || 0;
  return readStream(wasm, response.body.getReader(), total, baseName(url.pathname), report);
}

/**
 * Reads source into wasm memory: { ptr, size, name }. source: a path (Node) or URL string,
 * a URL, an ArrayBuffer, a typed array or DataView, or a Blob/File.
 */
export async function readSource(wasm, source, onProgress) {
  const report = (loaded, total) => onProgress?.({ loaded, total });
  if (typeof source === 'string') {
    if (isNode && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return readNodeFile(wasm, source, report);
    return readUrl(wasm, new URL(source, globalThis.location?.href), report);
  }
  if (source instanceof URL) return readUrl(wasm, source, report);
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof ArrayBuffer
      ? new Uint8Array(source)
      : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    const result = copyBytes(wasm, [bytes], bytes.length, 'buffer');
    report(bytes.length, bytes.length);
    return result;
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return readStream(wasm, source.stream().getReader(), source.size, source.name || 'blob', report);
  }
  throw invalid('a model source must be a path, URL, ArrayBuffer, typed array or Blob');
}
