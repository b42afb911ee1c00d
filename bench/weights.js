// The bytes of weights one decode step reads, from a GGUF file's tensor table: every tensor but
// the token embedding, of which one row is read, and the embedding in full when it is also the
// classifier (no output.weight).
import { closeSync, openSync, readSync } from 'node:fs';

// ggml type id -> [block bytes, block elements], the types our converter writes.
const BLOCK = { 0: [4, 1], 1: [2, 1], 2: [18, 32], 3: [20, 32], 6: [22, 32], 7: [24, 32], 8: [34, 32],
  10: [84, 256], 11: [110, 256], 12: [144, 256], 13: [176, 256], 14: [210, 256], 20: [18, 32], 23: [136, 256], 30: [2, 1] };
// GGUF metadata value types -> fixed sizes (8 string, 9 array are read).
const SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const HEADER_BYTES = 32 << 20; // the vocabulary and the tensor table fit well within

function reader(path) {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(HEADER_BYTES);
  const length = readSync(fd, buf, 0, HEADER_BYTES, 0);
  closeSync(fd);
  let at = 0;
  const need = (n) => {
    if (at + n > length) throw new Error(`${path}: the GGUF header is cut short or too large`);
    const from = at;
    at += n;
    return from;
  };
  return {
    u32: () => buf.readUInt32LE(need(4)),
    u64: () => Number(buf.readBigUInt64LE(need(8))),
    str() {
      const n = this.u64();
      return buf.toString('utf8', need(n), at);
    },
    skip: (n) => need(n),
  };
}

function skipValue(r, type) {
  if (type === 8) return r.skip(r.u64());
  if (type === 9) {
    const inner = r.u32();
    const n = r.u64();
    if (inner in SIZE) return r.skip(n * SIZE[inner]);
    for (let i = 0; i < n; i++) skipValue(r, inner);
    return;
  }
  if (!(type in SIZE)) throw new Error(`unknown GGUF value type ${type}`);
  r.skip(SIZE[type]);
}

export function weightBytesPerToken(path) {
  const r = reader(path);
  if (r.u32() !== 0x46554747) throw new Error(`${path}: not a GGUF file`);
  r.u32(); // version
  const tensors = r.u64();
  const kvs = r.u64();
  for (let i = 0; i < kvs; i++) {
    r.str();
    skipValue(r, r.u32());
  }
  let total = 0, embd = 0, embdRow = 0, output = false;
  for (let i = 0; i < tensors; i++) {
    const name = r.str();
    const dims = Array.from({ length: r.u32() }, () => r.u64());
    const type = r.u32();
    r.u64(); // offset
    const [blockBytes, blockSize] = BLOCK[type] ?? [];
    if (!blockBytes) throw new Error(`${path}: ${name} has type ${type}, not in the table`);
    const bytes = (dims.reduce((a, b) => a * b, 1) / blockSize) * blockBytes;
    if (name === 'token_embd.weight') {
      embd = bytes;
      embdRow = (dims[0] / blockSize) * blockBytes;
    } else {
      total += bytes;
      output ||= name === 'output.weight';
    }
  }
  return total + (output ? embdRow : embd);
}
