// The K-quant and IQ4 models (make models-kq): native C, SIMD128 wasm and scalar wasm give
// bit-identical logits, and each file holds the types llama.cpp's rules give its target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { repoRoot, nativeLogits, assertSameBits } from './helpers.js';
import { KQ_MODELS } from './kq_models.js';

for (const model of KQ_MODELS) {
  test(`${model}: native, SIMD and scalar wasm agree bit for bit`, async () => {
    const path = join(repoRoot, model);
    const simd = await loadModel(path, { simd: true });
    const scalar = await loadModel(path, { simd: false });
    try {
      const tokens = [...simd.tokenize('Once upon a time, there was a little girl')];
      const native = nativeLogits(path, tokens);
      assert.equal(native.length, simd.info.vocabSize);
      assertSameBits(simd.logits(tokens), native, 'SIMD vs native');
      assertSameBits(scalar.logits(tokens), native, 'scalar vs native');
    } finally {
      simd.dispose();
      scalar.dispose();
    }
  });
}

// llama.cpp's choices for a two-layer model (layer 1 is a "more bits" layer, layer 0 is not):
// the tied classifier Q6_K (Q8_0 at 576 columns), fallbacks at 576 columns.
const EXPECTED = {
  'models/kq256-q2_k.gguf': 'Q2_K x8, Q3_K x4, Q4_K x2, Q6_K x1, F32 x5',
  'models/kq256-q3_k_m.gguf': 'Q3_K x8, Q4_K x4, Q5_K x2, Q6_K x1, F32 x5',
  'models/kq256-q4_k_m.gguf': 'Q4_K x12, Q6_K x3, F32 x5',
  'models/kq256-iq4_xs.gguf': 'IQ4_XS x15, F32 x5',
  'models/kq576-q4_k_m.gguf': 'Q5_0 x11, Q8_0 x2, Q4_K x1, Q6_K x1, F32 x5',
  'models/kq576-q5_k.gguf': 'Q5_1 x13, Q5_K x2, F32 x5',
  'models/kq576-iq4_xs.gguf': 'IQ4_NL x13, IQ4_XS x2, F32 x5',
  'models/kq704-q6_k.gguf': 'Q8_0 x15, F32 x5',
};

test('the tensor types of the K-quant targets and mixtures', async () => {
  for (const [model, types] of Object.entries(EXPECTED)) {
    const m = await loadModel(join(repoRoot, model));
    assert.equal(m.info.tensorTypes, types, model);
    m.dispose();
  }
});
