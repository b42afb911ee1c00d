// The architectures' small models (Makefile ARCH_MODELS: llama with Llama 3 rope factors and an
// untied output, qwen2, qwen3, gemma3 with a sliding window): native C, SIMD wasm and scalar
// wasm give bit-identical logits, positions past gemma3's window included, and info names the
// architecture. Their parity with llama.cpp is in parity.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { repoRoot, nativeLogits, assertSameBits } from './helpers.js';

const MODELS = [
  ['llama3', 'llama'], ['qwen2', 'qwen2'], ['qwen3', 'qwen3'], ['gemma3', 'gemma3'],
].flatMap(([name, arch]) => ['f32', 'q8_0'].map((type) => ({ path: join(repoRoot, `models/arch-${name}-${type}.gguf`), arch })));
const TOKENS = [1, 2, 3, 400, 500, 17, 9000, 31, 12, 5, 77, 1000, 4, 8, 15, 16, 23, 42, 99, 100];

for (const { path, arch } of MODELS) {
  test(`${path.split('/').pop()}: native, SIMD wasm and scalar wasm agree bit for bit`, async () => {
    const simd = await loadModel(path, { simd: true });
    const scalar = await loadModel(path, { simd: false });
    try {
      assert.equal(simd.info.architecture, arch);
      const native = nativeLogits(path, TOKENS);
      assertSameBits(simd.logits(TOKENS), native, 'SIMD vs native');
      assertSameBits(scalar.logits(TOKENS), native, 'scalar vs native');
    } finally {
      simd.dispose();
      scalar.dispose();
    }
  });
}
