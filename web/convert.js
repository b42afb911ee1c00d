// Model conversion and synthetic models for the command line (Node only): reads the inputs
// into wasm memory, runs the C converter (src/convert.c through src/api_convert.c) and
// writes the GGUF file it returns.
import { open, readFile, rm } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { NucleusError, invalid } from './errors.js';
import { readSource } from './source.js';
import { loadWasm } from './wasm.js';

/** Target types and their ggml type ids, and llama.cpp's mixtures as 256 + their LLAMA_FTYPE
 * (src/convert.h; the C side checks each is one it writes). */
export const TYPES = Object.freeze({
  f32: 0, f16: 1, bf16: 30, q8_0: 8, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7,
  q3_k: 11, q4_k: 12, q5_k: 13, q6_k: 14, iq4_nl: 20, iq4_xs: 23,
  q2_k: 266, q3_k_m: 268, q4_k_m: 271, q5_k_m: 273,
});

const WRITE_CHUNK = 64 << 20;

function typeId(type) {
  if (!Object.hasOwn(TYPES, type)) throw invalid(`type must be one of ${Object.keys(TYPES).join(', ')}, got "${type}"`);
  return TYPES[type];
}

function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A NUL-terminated copy of text in wasm memory (free it with exports.free). */
function cString(wasm, text) {
  const bytes = new TextEncoder().encode(text);
  const ptr = wasm.exports.malloc(bytes.length + 1);
  if (!ptr) throw new NucleusError('cannot allocate a string in wasm memory', 'OUT_OF_MEMORY');
  wasm.u8(ptr, bytes.length).set(bytes);
  wasm.u8(ptr + bytes.length, 1)[0] = 0;
  return ptr;
}

function freeAll(wasm, ptrs) {
  for (const ptr of ptrs) if (ptr) wasm.exports.free(ptr);
}

/** Writes the output handle's bytes to path, then frees the handle. */
async function writeOutput(wasm, handle, path) {
  const e = wasm.exports;
  try {
    const ptr = e.nu_output_data(handle);
    const size = e.nu_output_size(handle);
    let file;
    try {
      file = await open(path, 'w');
      // No wasm call happens while writing, so the memory views stay valid.
      for (let done = 0; done < size; ) {
        const length = Math.min(WRITE_CHUNK, size - done);
        const { bytesWritten } = await file.write(wasm.u8(ptr + done, length), 0, length);
        done += bytesWritten;
      }
    } catch (error) {
      if (file) {
        await file.close().catch(() => {});
        file = undefined;
        await rm(path, { force: true }).catch(() => {}); // leave no partial file behind
      }
      throw new NucleusError(`cannot write ${path}: ${error.message}`, 'IO', { cause: error });
    } finally {
      await file?.close();
    }
    return size;
  } finally {
    e.nu_output_free(handle);
  }
}

function failed(wasm) {
  const e = wasm.exports;
  return NucleusError.fromC(e.nu_creation_code(), wasm.cstring(e.nu_creation_error()));
}

/**
 * Converts input (GGUF llama/qwen2/qwen3/gemma3, or a llama2.c checkpoint with its
 * tokenizer.bin) to a GGUF file at output with matrices of a type in TYPES. log(text)
 * receives progress lines.
 * Returns { output, bytes, seconds }.
 */
export async function convertModel({ input, tokenizer, output, type, log = () => {} }) {
  const id = typeId(type);
  const started = performance.now();
  const wasm = await loadWasm();
  const e = wasm.exports;
  const model = await readSource(wasm, input);
  let tok = { ptr: 0, size: 0 };
  let name = 0;
  let handle;
  try {
    if (tokenizer !== undefined) tok = await readSource(wasm, tokenizer);
    name = cString(wasm, basename(input, extname(input)));
    log(`converting ${input} (${mib(model.size)}) to ${type}`);
    handle = e.nu_convert_model(model.ptr, model.size, tok.ptr, tok.size, id, name);
  } finally {
    freeAll(wasm, [model.ptr, tok.ptr, name]); // the converter only read them
  }
  if (!handle) throw failed(wasm);
  const bytes = await writeOutput(wasm, handle, output);
  const seconds = (performance.now() - started) / 1000;
  log(`wrote ${output} (${mib(bytes)}) in ${seconds.toFixed(1)} s`);
  return { output, bytes, seconds };
}

const ARCHS = ['llama', 'qwen2', 'qwen3', 'gemma3'];

function count(name, value) {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) throw invalid(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Writes a model with seeded random weights at output. shape: a preset (stories15M,
 * stories42M, stories110M, smollm2-135m, tinyllama-1.1b, llama3.2-1b, qwen2.5-0.5b,
 * qwen3-0.6b, gemma3-270m) or "DIM,HIDDEN,LAYERS,HEADS,KVHEADS,VOCAB,SEQ[,HEAD]" (VOCAB 0: the
 * vocabulary file's); arch: llama, qwen2, qwen3 or gemma3 (default: the preset's, or llama);
 * layers: a layer count replacing the shape's; window: gemma3's sliding window; untiedOutput,
 * llama3Rope: write output.weight / Llama 3's rope_freqs.weight; std: the random elements'
 * standard deviation (default 0.02); vocab: a GGUF file whose
 * tokenizer is copied; chatTemplate: a file whose text becomes tokenizer.chat_template;
 * seed: a BigInt or integer in [0, 2^64). Returns { output, bytes, seconds }.
 */
export async function synthModel({
  shape, arch, layers, window, untiedOutput = false, llama3Rope = false, std = 0, vocab, chatTemplate,
  output, type, seed = 0n, log = () => {},
}) {
  const id = typeId(type);
  const big = BigInt(seed);
  if (big < 0n || big >= 2n ** 64n) throw invalid(`seed must be in [0, 2^64), got ${seed}`);
  if (arch !== undefined && !ARCHS.includes(arch)) throw invalid(`arch must be one of ${ARCHS.join(', ')}, got "${arch}"`);
  const nLayers = count('layers', layers);
  const nWindow = count('window', window);
  if (typeof std !== 'number' || !(std >= 0 && std <= 1)) throw invalid(`std must be a number in [0, 1], got ${std}`);
  let template;
  if (chatTemplate !== undefined) {
    try {
      template = await readFile(chatTemplate, 'utf8');
    } catch (error) {
      throw new NucleusError(`cannot read ${chatTemplate}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, 'IO', { cause: error });
    }
    if (template.includes('\0')) throw invalid(`${chatTemplate} holds a NUL character`);
  }
  const started = performance.now();
  const wasm = await loadWasm();
  const e = wasm.exports;
  const file = await readSource(wasm, vocab);
  const ptrs = [];
  let handle;
  try {
    const shapePtr = cString(wasm, String(shape));
    ptrs.push(shapePtr);
    const archPtr = arch === undefined ? 0 : cString(wasm, arch);
    ptrs.push(archPtr);
    const templatePtr = template === undefined ? 0 : cString(wasm, template);
    ptrs.push(templatePtr);
    log(`generating ${shape}${arch ? ` (${arch})` : ''} ${type} (seed ${big}) with the tokenizer of ${vocab}`);
    const lo = Number(big & 0xffffffffn);
    const hi = Number(big >> 32n);
    const flags = (untiedOutput ? 1 : 0) | (llama3Rope ? 2 : 0);
    handle = e.nu_synth_model(shapePtr, archPtr, nLayers, nWindow, flags, std, file.ptr, file.size, id, lo, hi,
                              shapePtr, templatePtr);
  } finally {
    freeAll(wasm, [file.ptr, ...ptrs]);
  }
  if (!handle) throw failed(wasm);
  const bytes = await writeOutput(wasm, handle, output);
  const seconds = (performance.now() - started) / 1000;
  log(`wrote ${output} (${mib(bytes)}) in ${seconds.toFixed(1)} s`);
  return { output, bytes, seconds };
}
