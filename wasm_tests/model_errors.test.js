// Malformed model files through loadModel: each is a NucleusError with the right code and a
// message naming the problem; failures leak nothing (memoryUsage().heapUsed) and the module keeps working.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, loadTokenizer, memoryUsage, NucleusError } from '../web/index.js';
import { sharedDir } from './helpers.js';

const STORIES = join(sharedDir, 'models/stories260K');
const GGUF = join(STORIES, 'stories260K.gguf');
const BIN = join(STORIES, 'stories260K.bin');
const TOK = join(STORIES, 'tok512.bin');
const GGUF_BYTES = new Uint8Array(readFileSync(GGUF));
const BIN_BYTES = new Uint8Array(readFileSync(BIN));
const TOK_BYTES = new Uint8Array(readFileSync(TOK));

/** Offsets of a GGUF file's parts: { kvEnds[], infoStart, tensors[{ name, start, typeAt, dimsAt }], infoEnd }. */
function ggufLayout(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 24;
  const u32 = () => ((at += 4), view.getUint32(at - 4, true));
  const u64 = () => ((at += 8), Number(view.getBigUint64(at - 8, true)));
  const str = () => {
    const n = u64();
    at += n;
    return new TextDecoder().decode(bytes.subarray(at - n, at));
  };
  const SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skip = (type) => {
    if (type === 8) str();
    else if (type === 9) {
      const inner = u32();
      for (let n = u64(); n > 0; n--) skip(inner);
    } else at += SIZE[type];
  };
  const kvEnds = [];
  for (let n = Number(view.getBigUint64(16, true)); n > 0; n--) {
    str();
    skip(u32());
    kvEnds.push(at);
  }
  const infoStart = at;
  const tensors = [];
  for (let n = Number(view.getBigUint64(8, true)); n > 0; n--) {
    const start = at;
    const name = str();
    const dimsAt = at + 4;
    at += 4 + 8 * view.getUint32(at, true);
    tensors.push({ name, start, dimsAt, typeAt: at });
    at += 12;
  }
  return { kvEnds, infoStart, tensors, infoEnd: at };
}

const LAYOUT = ggufLayout(GGUF_BYTES);
const tensor = (name) => LAYOUT.tensors.find((t) => t.name === name);

/** A copy of bytes changed by edit(view, copy). */
function patched(bytes, edit) {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer), copy);
  return copy;
}

/** The offset of an ASCII string in the GGUF file (after `from`). */
function find(text, from = 0) {
  const at = Buffer.from(GGUF_BYTES).indexOf(text, from, 'latin1');
  assert.ok(at >= 0, `${text} is in the file`);
  return at;
}

const ascii = (text) => new TextEncoder().encode(text);

// [label, source, options, expected code, message pattern]
const CASES = [
  ['empty file', new Uint8Array(0), {}, 'BAD_FORMAT', /the file is empty/],
  ['3 bytes', GGUF_BYTES.slice(0, 3), {}, 'BAD_FORMAT', /not a GGUF file/],
  ['truncated in the version', GGUF_BYTES.slice(0, 6), {}, 'BAD_FORMAT', /truncated file: the version at byte 4/],
  ['truncated in the counts', GGUF_BYTES.slice(0, 20), {}, 'BAD_FORMAT', /truncated file: the metadata count at byte 16/],
  ['truncated after the header', GGUF_BYTES.slice(0, 24), {}, 'BAD_FORMAT', /metadata count 19 cannot fit in the 0 bytes left/],
  ['truncated in the first key/value', GGUF_BYTES.slice(0, LAYOUT.kvEnds[0] - 3), {}, 'BAD_FORMAT', /truncated file: a string value at byte \d+/],
  ['truncated after the first key/value', GGUF_BYTES.slice(0, LAYOUT.kvEnds[0]), {}, 'BAD_FORMAT', /truncated file: a key at byte \d+/],
  ['truncated after the metadata', GGUF_BYTES.slice(0, LAYOUT.infoStart), {}, 'BAD_FORMAT', /truncated file: a tensor name at byte \d+/],
  ['truncated in the tensor infos', GGUF_BYTES.slice(0, LAYOUT.tensors[1].start + 5), {}, 'BAD_FORMAT', /truncated file: a tensor name/],
  ['truncated after the tensor infos', GGUF_BYTES.slice(0, LAYOUT.infoEnd), {}, 'BAD_FORMAT', /tensor token_embd.weight: data ends at byte \d+ but the file has \d+/],
  ['last byte missing', GGUF_BYTES.slice(0, -1), {}, 'BAD_FORMAT', new RegExp(`data ends at byte ${GGUF_BYTES.length} but the file has ${GGUF_BYTES.length - 1}`)],
  ['wrong magic', patched(GGUF_BYTES, (v) => v.setUint8(3, 0x47)), {}, 'BAD_FORMAT', /not a GGUF file; a llama2.c checkpoint needs its tokenizer.bin/],
  ['wrong magic, given a tokenizer', patched(GGUF_BYTES, (v) => v.setUint8(3, 0x47)), { tokenizer: TOK }, 'BAD_FORMAT', /llama2.c checkpoint: /],
  ['GGUF version 1', patched(GGUF_BYTES, (v) => v.setUint32(4, 1, true)), {}, 'UNSUPPORTED', /GGUF version 1 is not supported/],
  ['GGUF version 4', patched(GGUF_BYTES, (v) => v.setUint32(4, 4, true)), {}, 'UNSUPPORTED', /GGUF version 4/],
  ['a tensor count of 2^62', patched(GGUF_BYTES, (v) => v.setBigUint64(8, 1n << 62n, true)), {}, 'BAD_FORMAT', /tensor count 4611686018427387904 cannot fit/],
  ['a metadata count of 2^64 - 1', patched(GGUF_BYTES, (v) => v.setBigUint64(16, (1n << 64n) - 1n, true)), {}, 'BAD_FORMAT', /metadata count 18446744073709551615 cannot fit/],
  ['a key length of 2^60', patched(GGUF_BYTES, (v) => v.setBigUint64(24, 1n << 60n, true)), {}, 'BAD_FORMAT', /a key at byte 32 needs 1152921504606846976 bytes/],
  // tokenizer.ggml.tokens is the first key: its array count follows the key, its type and the element type.
  ['2^40 vocabulary strings', patched(GGUF_BYTES, (v) => v.setBigUint64(24 + 8 + 21 + 8, 1n << 40n, true)), {}, 'BAD_FORMAT', /tokenizer.ggml.tokens': array of 1099511627776 string values .* does not fit/],
  ['unknown tensor type 99', patched(GGUF_BYTES, (v) => v.setUint32(tensor('blk.0.attn_q.weight').typeAt, 99, true)), {}, 'UNSUPPORTED', /tensor blk.0.attn_q.weight: ggml type unknown \(99\)/],
  ['an MXFP4 matrix', patched(GGUF_BYTES, (v) => v.setUint32(tensor('token_embd.weight').typeAt, 39, true)), {}, 'UNSUPPORTED', /token_embd.weight has type MXFP4 \(39\), which is not supported/],
  ['a Q8_1 (activation only) matrix', patched(GGUF_BYTES, (v) => v.setUint32(tensor('blk.0.attn_q.weight').typeAt, 9, true)), {}, 'UNSUPPORTED', /blk.0.attn_q.weight has type q8_1 \(9\), which is not supported/],
  ['an F16 norm', patched(GGUF_BYTES, (v) => v.setUint32(tensor('output_norm.weight').typeAt, 1, true)), {}, 'UNSUPPORTED', /output_norm.weight has type f16 \(1\), which is not supported \(norms must be F32\)/],
  ['a dimension of 0', patched(GGUF_BYTES, (v) => v.setBigUint64(tensor('blk.0.attn_q.weight').dimsAt, 0n, true)), {}, 'BAD_FORMAT', /blk.0.attn_q.weight dimension 0 is 0/],
  ['a dimension of 2^40', patched(GGUF_BYTES, (v) => v.setBigUint64(tensor('blk.0.attn_q.weight').dimsAt, 1n << 40n, true)), {}, 'BAD_FORMAT', /blk.0.attn_q.weight: data ends at byte \d+/],
  ['inconsistent shapes', patched(GGUF_BYTES, (v) => {
    const dims = tensor('blk.0.ffn_up.weight').dimsAt;
    const [cols, rows] = [v.getBigUint64(dims, true), v.getBigUint64(dims + 8, true)];
    v.setBigUint64(dims, rows, true);
    v.setBigUint64(dims + 8, cols, true);
  }), {}, 'BAD_FORMAT', /tensor blk.0.ffn_up.weight has shape \[172, 64\] but the config implies \[64, 172\]/],
  ['a tensor offset out of range', patched(GGUF_BYTES, (v) => v.setBigUint64(tensor('blk.0.ffn_up.weight').typeAt + 4, 1n << 40n, true)), {}, 'BAD_FORMAT', /blk.0.ffn_up.weight: data ends at byte \d+ but the file has 1185376/],
  ['overlapping tensors', patched(GGUF_BYTES, (v) => v.setBigUint64(tensor('blk.0.ffn_up.weight').typeAt + 4, 64n, true)), {}, 'BAD_FORMAT', /tensors token_embd.weight and blk.0.ffn_up.weight overlap/],
  ['a missing tensor', patched(GGUF_BYTES, (v, c) => c.set(ascii('output_norX'), find('output_norm.weight'))), {}, 'BAD_FORMAT', /tensor output_norm.weight is missing/],
  ['another architecture', patched(GGUF_BYTES, (v, c) => c.set(ascii('mamba'), find('llama', find('general.architecture')))), {}, 'UNSUPPORTED', /architecture 'mamba' is not supported/],
  ['2^31 - 1 layers', patched(GGUF_BYTES, (v) => v.setUint32(find('llama.block_count') + 21, 0x7fffffff, true)), {}, 'OUT_OF_MEMORY', /run state of \d+ bytes .* over the 4 GiB limit/],
  ['a vocab-only GPT-2 GGUF', join(sharedDir, 'models/vocab/ggml-vocab-gpt-2.gguf'), {}, 'UNSUPPORTED', /architecture 'gpt2' is not supported/],
  ['llama2.c .bin without its tokenizer', BIN, {}, 'BAD_FORMAT', /a llama2.c checkpoint needs its tokenizer.bin/],
  ['truncated llama2.c .bin', BIN_BYTES.slice(0, 5000), { tokenizer: TOK }, 'BAD_FORMAT', /implies 1056540 bytes but the file has 5000/],
  ['llama2.c .bin with 7 heads', patched(BIN_BYTES, (v) => v.setInt32(12, 7, true)), { tokenizer: TOK }, 'BAD_FORMAT', /dim 64 is not a multiple of n_heads 7/],
  ['llama2.c .bin with -1 layers', patched(BIN_BYTES, (v) => v.setInt32(8, -1, true)), { tokenizer: TOK }, 'BAD_FORMAT', /n_layers is -1/],
  ['llama2.c .bin with 2^30 positions', patched(BIN_BYTES, (v) => v.setInt32(24, 1 << 30, true)), { tokenizer: TOK }, 'BAD_FORMAT', /seq_len 1073741824\) implies \d+ bytes/],
  ['truncated tokenizer.bin', BIN, { tokenizer: TOK_BYTES.slice(0, 3000) }, 'BAD_FORMAT', /tokenizer.bin: 3000 bytes cannot hold 512 tokens/],
  ['a tokenizer.bin of another size', BIN, { tokenizer: join(sharedDir, 'models/vocab/llama2-tokenizer.bin') }, 'BAD_FORMAT', /tokenizer.bin: \d+ bytes left after token 512/],
  ['no such file', join(STORIES, 'no-such-model.gguf'), {}, 'IO', /no such file/],
];

async function expectFailure([label, source, options, code, pattern]) {
  await assert.rejects(loadModel(source, options), (e) => {
    assert.ok(e instanceof NucleusError, `${label}: ${e}`);
    assert.equal(e.code, code, `${label}: ${e.message}`);
    assert.match(e.message, pattern, label);
    assert.ok(e.message.length < 400 && !/\0/.test(e.message), `${label}: readable message`);
    return true;
  }, label);
}

describe('malformed models', () => {
  test('the GGUF walker found the file\'s parts', () => {
    assert.equal(LAYOUT.kvEnds.length, 19);
    assert.equal(LAYOUT.tensors.length, 48);
    assert.ok(LAYOUT.infoStart < LAYOUT.infoEnd && LAYOUT.infoEnd < GGUF_BYTES.length);
  });

  for (const c of CASES) test(c[0], () => expectFailure(c));

  test('a context length of 2^31 - 1 is cut to 4096 positions (the KV cache grows with it)', async () => {
    const model = await loadModel(patched(GGUF_BYTES, (v) => v.setUint32(find('llama.context_length') + 24, 0x7fffffff, true)));
    assert.equal(model.info.contextLength, 4096);
    model.dispose();
  });

  test('after all of them a good model loads and generates', async () => {
    for (const c of CASES) await expectFailure(c);
    const model = await loadModel(GGUF_BYTES);
    const steps = [];
    for await (const step of model.generate('Once upon a time', { temperature: 0, maxTokens: 5 })) steps.push(step.token);
    assert.deepEqual(steps, [432, 383, 286, 261, 376]); // llama2.c's greedy start
    model.dispose();
  });
});

describe('memory', () => {
  test('200 failed loads leave the heap and the memory size exactly as they were', async () => {
    await memoryUsage(); // the module is loaded
    for (const c of CASES) await expectFailure(c); // reach the high-water mark once
    const before = await memoryUsage();
    for (let i = 0; i < 200; i++) await expectFailure(CASES[i % CASES.length]);
    assert.deepEqual(await memoryUsage(), before);
  });

  test('dispose returns the heap to its level before the load (GGUF, .bin, tokenizer, both builds)', async () => {
    const loads = [
      () => loadModel(GGUF_BYTES),
      () => loadModel(BIN_BYTES, { tokenizer: TOK_BYTES }),
      () => loadModel(BIN, { tokenizer: TOK, simd: false }),
      () => loadTokenizer(join(sharedDir, 'models/vocab/ggml-vocab-gpt-2.gguf')),
    ];
    for (let round = 0; round < 3; round++) {
      for (const load of loads) {
        const simd = load !== loads[2];
        const before = await memoryUsage({ simd });
        const handle = await load();
        assert.ok((await memoryUsage({ simd })).heapUsed > before.heapUsed);
        if (handle.generate) {
          for await (const step of handle.generate('Once upon a time', { temperature: 1, seed: round, maxTokens: 20 })) void step;
          handle.logits([1, 403]);
        } else {
          handle.decode(handle.encode('Hello world'));
        }
        handle.dispose();
        assert.equal((await memoryUsage({ simd })).heapUsed, before.heapUsed, `round ${round}, load ${loads.indexOf(load)}`);
        assert.throws(() => handle.encode('x'), { code: 'DISPOSED' });
      }
    }
  });
});
