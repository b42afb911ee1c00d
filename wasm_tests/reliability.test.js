// Long runs, leaks, cancellation and determinism of the model runtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, memoryUsage, NucleusError } from '../web/index.js';
import { repoRoot, sharedDir } from './helpers.js';

const GGUF = join(sharedDir, 'models/stories260K/stories260K.gguf');
const PROMPT = 'Once upon a time';

async function tokensOf(model, options) {
  const tokens = [];
  for await (const step of model.generate(PROMPT, options)) tokens.push(step.token);
  return tokens;
}

test('the same seed gives the same tokens natively, in SIMD wasm and in scalar wasm', async () => {
  const settings = [
    { temperature: 1, topP: 0.9, topK: 0, minP: 0, seed: 42 },
    { temperature: 0.7, topP: 0.95, topK: 40, minP: 0.05, seed: 123456789 },
    { temperature: 0, topP: 0.9, topK: 0, minP: 0, seed: 0 },
  ];
  const simd = await loadModel(GGUF);
  const scalar = await loadModel(GGUF, { simd: false });
  for (const s of settings) {
    const args = [GGUF, '-', PROMPT, '100', s.temperature, s.topP, s.topK, s.minP, s.seed].map(String);
    const native = execFileSync(join(repoRoot, 'build/nucleus_generate'), args, { encoding: 'utf8' }).trim().split(' ').map(Number);
    const options = { ...s, maxTokens: 100 };
    assert.deepEqual(await tokensOf(simd, options), native, JSON.stringify(s));
    assert.deepEqual(await tokensOf(scalar, options), native, JSON.stringify(s));
  }
  simd.dispose();
  scalar.dispose();
});

test('soak: 20000 tokens over many generate calls keep memory flat; dispose frees everything', async () => {
  const before = await memoryUsage();
  const model = await loadModel(GGUF);
  const loaded = await memoryUsage();
  let total = 0;
  let seed = 0;
  const heap = [];
  while (total < 20000) {
    for await (const step of model.generate(PROMPT, { seed: seed++, maxTokens: 200, topP: 0.95 })) {
      total++;
      if (step.finishReason) heap.push((await memoryUsage()).heapUsed);
    }
  }
  // After the first call (sampler buffers sized once) the heap must not grow at all.
  const settled = heap.slice(1);
  assert.ok(Math.max(...settled) - Math.min(...settled) <= 64 * 1024, `heap moved: ${Math.min(...settled)}..${Math.max(...settled)}`);
  assert.ok(Math.max(...settled) <= loaded.heapUsed + 1024 * 1024, 'generation holds at most 1 MiB beyond the model');
  model.dispose();
  const after = await memoryUsage();
  assert.equal(after.heapUsed, before.heapUsed, 'dispose returns the heap to its level before load');
});

test('1000 failed loads do not grow the heap, and a good model then loads and generates', async () => {
  const good = new Uint8Array(readFileSync(GGUF));
  const bad = [new Uint8Array(0), good.slice(0, 100), good.slice(0, good.length - 1), Uint8Array.from(good, (b, i) => (i < 4 ? 0 : b))];
  await assert.rejects(loadModel(bad[0]), NucleusError); // first load instantiates the module
  const before = await memoryUsage();
  for (let i = 0; i < 1000; i++) {
    await assert.rejects(loadModel(bad[i % bad.length]), (e) => e instanceof NucleusError && e.code === 'BAD_FORMAT');
  }
  const after = await memoryUsage();
  assert.equal(after.heapUsed, before.heapUsed);
  assert.equal(after.memoryBytes, before.memoryBytes);
  const model = await loadModel(good);
  assert.equal((await tokensOf(model, { temperature: 0, maxTokens: 5 })).length, 5);
  model.dispose();
});

test('aborting mid-generation ends with finishReason abort, and generating again works', async () => {
  const model = await loadModel(GGUF);
  const controller = new AbortController();
  const steps = [];
  for await (const step of model.generate(PROMPT, { seed: 1, maxTokens: 200, signal: controller.signal })) {
    steps.push(step);
    if (step.index === 9) setTimeout(() => controller.abort(), 0);
  }
  assert.equal(steps.at(-1).finishReason, 'abort');
  assert.ok(steps.length >= 10 && steps.length < 200);
  assert.ok(steps.slice(0, -1).every((s) => s.finishReason === null));
  await assert.rejects(model.generate(PROMPT, { signal: controller.signal }).next(), (e) => e.code === 'ABORTED');
  const again = await tokensOf(model, { seed: 1, maxTokens: 20 });
  assert.equal(again.length, 20);
  const common = Math.min(again.length, steps.length);
  assert.deepEqual(again.slice(0, common), steps.slice(0, common).map((s) => s.token), 'same seed, same start');
  model.dispose();
});
