// The relaxed-SIMD builds (nucleus-relaxed.wasm and, on threads, nucleus-mt-relaxed.wasm: the
// sub-8-bit kernels multiply bytes with i16x8.relaxed_dot_i8x16_i7x16_s) give the scalar
// build's bits for every weight type, prompt and decode steps alike. Node 20 validates relaxed
// SIMD only behind --experimental-wasm-relaxed-simd, so without it this file runs itself again
// with the flag; Chromium runs these builds by default (the browser tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSampler, loadModel, relaxedSimdSupported } from '../web/index.js';
import { convertModel } from '../web/convert.js';
import { repoRoot, sharedDir } from './helpers.js';
import { KQ_MODELS } from './kq_models.js';

const STORIES = join(sharedDir, 'models/stories260K');
const GENERATE = { seed: 3, temperature: 0.9, topP: 0.95, maxTokens: 12, logits: true };

/** The bits of: one generate run's per-step logits and tokens, logits() of a one-token and of a
 * seven-token sequence (the batched prompt path). */
async function run(model) {
  const parts = [];
  for await (const step of model.generate('Once upon a time', GENERATE)) {
    parts.push(Buffer.from(Int32Array.of(step.token).buffer), Buffer.from(step.logits.buffer));
  }
  parts.push(Buffer.from(model.logits([1]).buffer), Buffer.from(model.logits([1, 3, 5, 7, 11, 13, 17]).buffer));
  return Buffer.concat(parts);
}

async function assertSameAsScalar(path) {
  const scalar = await loadModel(path, { simd: false });
  const expected = await run(scalar);
  scalar.dispose();
  for (const threads of [1, 2]) {
    const model = await loadModel(path, { threads, relaxed: true });
    try {
      assert.equal(model.info.relaxedSimd, true);
      assert.equal(model.info.threads, threads);
      assert.ok((await run(model)).equals(expected), `${path}: ${threads} thread(s), relaxed vs scalar`);
    } finally {
      model.dispose();
    }
  }
}

if (!relaxedSimdSupported()) {
  test('relaxed SIMD builds: run again with --experimental-wasm-relaxed-simd', () => {
    const file = fileURLToPath(import.meta.url);
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a child of the test runner would report to it, not print
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--test', '--test-reporter=tap', file], {
      encoding: 'utf8',
      env,
      timeout: 600000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# fail 0$/m);
    const passed = Number(r.stdout.match(/^# pass (\d+)$/m)?.[1]);
    assert.ok(passed >= 3, `${passed} tests passed with the flag`);
  });
} else {
  test('the loader picks the relaxed build where the engine has relaxed SIMD', async () => {
    const model = await loadModel(join(STORIES, 'stories260K.gguf'), { threads: 1 });
    assert.equal(model.info.simd, true);
    assert.equal(model.info.relaxedSimd, true);
    model.dispose();
    const plain = await loadModel(join(STORIES, 'stories260K.gguf'), { threads: 1, relaxed: false });
    assert.equal(plain.info.relaxedSimd, false);
    plain.dispose();
    // the sampler has no relaxed kernel, but takes the option like the models
    const logits = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i * 12.9898) * 8);
    const reports = [];
    for (const relaxed of [true, false]) {
      const sampler = await createSampler({ relaxed, seed: 5, topP: 0.9 });
      reports.push(JSON.stringify(sampler.sample(logits)));
      sampler.dispose();
    }
    assert.equal(reports[0], reports[1]);
  });

  test('every K-quant, IQ4 and fallback model: relaxed builds give the scalar bits', async () => {
    for (const model of KQ_MODELS) await assertSameAsScalar(join(repoRoot, model));
  });

  test('the 32-blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): relaxed builds give the scalar bits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nucleus-relaxed-'));
    try {
      for (const type of ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0']) {
        const output = join(dir, `${type}.gguf`);
        await convertModel({ input: join(STORIES, 'stories260K.bin'), tokenizer: join(STORIES, 'tok512.bin'), output, type });
        await assertSameAsScalar(output);
      }
      await assertSameAsScalar(join(repoRoot, 'models/stories15M-q4_0.gguf'));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('the relaxed modules hold the relaxed dot product and no placeholder', () => {
    for (const file of ['nucleus-relaxed.wasm', 'nucleus-mt-relaxed.wasm']) {
      const bytes = readFileSync(join(repoRoot, 'web/dist', file));
      assert.ok(WebAssembly.validate(bytes), file);
      // 0xfd 0x92 0x02: i16x8.relaxed_dot_i8x16_i7x16_s; 0xfd 0x82 0x01: i16x8.q15mulr_sat_s
      assert.ok(bytes.includes(Buffer.from([0xfd, 0x92, 0x02])), `${file} has the dot product`);
      assert.ok(!bytes.includes(Buffer.from([0xfd, 0x82, 0x01])), `${file} has no q15mulr_sat`);
    }
  });
}
