// Every weight type `convert --type` writes, on stories260K converted from llama2.c's files:
// the file loads with the type and tensor mix in its info, native, SIMD wasm and scalar wasm
// give bit-identical logits, and the logits stay close to the f32 model's (how close depends
// on the type's bits).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { convertModel } from '../web/convert.js';
import { repoRoot, sharedDir, nativeLogits, assertSameBits } from './helpers.js';

const STORIES = join(sharedDir, 'models/stories260K');
const BIN = join(STORIES, 'stories260K.bin');
const TOK = join(STORIES, 'tok512.bin');
const PROMPT = 'Once upon a time, there was a little girl named Lily. She';

// Mean KL(f32 || type) over the prompt's positions must stay below these (nats): about four
// times what each gives (f16 2.6e-7, bf16 1.1e-5, q8_0 1.3e-4, q5_1 4.2e-3, q5_0 6.6e-3,
// q4_1 2.6e-2, q4_0 2.8e-2), so a kernel that reads a block wrong fails.
const TYPES = {
  f16: { klMean: 1e-6 },
  bf16: { klMean: 5e-5 },
  q8_0: { klMean: 6e-4 },
  q5_0: { klMean: 0.03 },
  q5_1: { klMean: 0.02 },
  q4_0: { klMean: 0.1 },
  q4_1: { klMean: 0.1 },
};

function logSoftmax(l) {
  let max = -Infinity;
  for (const v of l) max = Math.max(max, v);
  let sum = 0;
  for (const v of l) sum += Math.exp(v - max);
  const log = Math.log(sum) + max;
  return Array.from(l, (v) => v - log);
}

function kl(lp, lq) {
  const p = logSoftmax(lp), q = logSoftmax(lq);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.exp(p[i]) * (p[i] - q[i]);
  return s;
}

describe('every convert --type: info, three-build determinism, closeness to f32', () => {
  let dir, f32, tokens;
  const f32Logits = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nucleus-types-'));
    await convertModel({ input: BIN, tokenizer: TOK, output: join(dir, 'f32.gguf'), type: 'f32' });
    f32 = await loadModel(join(dir, 'f32.gguf'));
    tokens = [...f32.tokenize(PROMPT)];
    for (let n = 1; n <= tokens.length; n++) f32Logits.push(Float32Array.from(f32.logits(tokens.slice(0, n))));
  });
  after(() => {
    f32?.dispose();
    if (dir) rmSync(dir, { recursive: true });
  });

  for (const [type, limits] of Object.entries(TYPES)) {
    test(type, async () => {
      const path = join(dir, `${type}.gguf`);
      await convertModel({ input: BIN, tokenizer: TOK, output: path, type });
      const simd = await loadModel(path, { simd: true });
      const scalar = await loadModel(path, { simd: false });
      try {
        assert.equal(simd.info.quantization, type);
        // stories260K's ffn_down rows (172) are not whole 32-blocks: those 5 stay F16.
        const name = type.toUpperCase();
        const mix = type === 'f16' ? /^F16 x36, F32 x11$/
          : type === 'bf16' ? /^BF16 x36, F32 x11$/
            : new RegExp(`^${name} x31, F16 x5, F32 x11$`);
        assert.match(simd.info.tensorTypes, mix);

        const last = simd.logits(tokens);
        assertSameBits(last, nativeLogits(path, tokens), `${type} SIMD vs native`);
        assertSameBits(scalar.logits(tokens), last, `${type} scalar vs SIMD`);

        let sum = 0;
        for (let n = 1; n <= tokens.length; n++) sum += kl(f32Logits[n - 1], simd.logits(tokens.slice(0, n)));
        const mean = sum / tokens.length;
        assert.ok(mean < limits.klMean, `${type}: mean KL to f32 ${mean} (limit ${limits.klMean})`);
        assert.ok(mean > 0, `${type}: the logits equal f32's, so the type was not used`);
      } finally {
        simd.dispose();
        scalar.dispose();
      }
    });
  }
});
