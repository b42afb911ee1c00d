// Models split over threads (web/threads.js, src/pool.h): the same seed gives bit-identical
// logits and tokens for 1, 2, 3 and 4 threads (1 runs the single-threaded SIMD module, more the
// threaded one), info reports the threads, bad counts are errors, and where threads cannot run
// the model runs on one and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadModel, NucleusError } from '../web/index.js';
import { repoRoot, sharedDir } from './helpers.js';

const MODELS = [
  join(repoRoot, 'models/stories15M-q8_0.gguf'),
  join(repoRoot, 'models/kq576-q4_k_m.gguf'),
  join(repoRoot, 'models/arch-gemma3-q8_0.gguf'),
  join(sharedDir, 'models/stories260K/stories260K.gguf'),
];
const GENERATE = { seed: 7, temperature: 0.9, topP: 0.95, maxTokens: 24, logits: true };

/** Tokens and logits (as bytes) of one generate run, plus logits() of a fixed sequence. */
async function run(model) {
  const tokens = [];
  const logits = [];
  for await (const step of model.generate('Once upon a time', GENERATE)) {
    tokens.push(step.token);
    logits.push(Buffer.from(step.logits.buffer));
  }
  const fixed = Buffer.from(model.logits([1, 3, 5, 7, 11, 13]).buffer);
  return { tokens, logits: Buffer.concat(logits), fixed };
}

for (const path of MODELS) {
  test(`${path.split('/').pop()}: 1, 2, 3 and 4 threads give the same bits`, async () => {
    let first = null;
    for (const threads of [1, 2, 3, 4]) {
      const model = await loadModel(path, { threads });
      try {
        assert.equal(model.info.threads, threads);
        assert.equal(model.info.threadsReason, null);
        const got = await run(model);
        if (!first) first = got;
        assert.deepEqual(got.tokens, first.tokens, `tokens with ${threads} threads`);
        assert.ok(got.logits.equals(first.logits), `generate logits with ${threads} threads`);
        assert.ok(got.fixed.equals(first.fixed), `logits() with ${threads} threads`);
      } finally {
        model.dispose();
      }
    }
  });
}

test('two threaded models share the module and run interleaved', async () => {
  const path = MODELS[0];
  const single = await loadModel(path, { threads: 1 });
  const expected = await run(single);
  single.dispose();
  const a = await loadModel(path, { threads: 2 });
  const b = await loadModel(path, { threads: 3 });
  try {
    const [ra, rb] = await Promise.all([run(a), run(b)]);
    for (const r of [ra, rb]) {
      assert.deepEqual(r.tokens, expected.tokens);
      assert.ok(r.logits.equals(expected.logits));
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  a.dispose(); // twice is a no-op
});

test('the default is half the logical cores, at least 1', async () => {
  const model = await loadModel(MODELS[3]);
  try {
    assert.equal(model.info.threads, Math.max(1, Math.floor(availableParallelism() / 2)));
    assert.equal(model.info.threadsReason, null);
  } finally {
    model.dispose();
  }
});

test('the scalar build runs one thread and says why', async () => {
  const model = await loadModel(MODELS[3], { threads: 2, simd: false });
  try {
    assert.equal(model.info.threads, 1);
    assert.equal(model.info.simd, false);
    assert.match(model.info.threadsReason, /scalar build/);
    assert.ok(model.logits([1, 2, 3]).length > 0);
  } finally {
    model.dispose();
  }
});

test('a bad thread count is an INVALID_ARGUMENT error', async () => {
  for (const threads of [0, -1, 1.5, 65, '2', NaN]) {
    await assert.rejects(loadModel(MODELS[3], { threads }), (error) => {
      assert.ok(error instanceof NucleusError);
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, /threads must be an integer from 1 to 64/);
      return true;
    });
  }
  const model = await loadModel(MODELS[3], { threads: 2 }); // still usable after the errors
  assert.equal(model.info.threads, 2);
  model.dispose();
});
