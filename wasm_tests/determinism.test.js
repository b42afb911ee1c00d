// Native C, SIMD128 wasm and scalar wasm must give bit-identical reports and token streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSampler } from '../web/index.js';
import { normalLogits, repoRoot } from './helpers.js';

const N = 32000;
const STEPS = 10000;
const SCALES = [10, 3, 0.5, 1, 5, 2, 0.2, 8];
const SETTINGS = [
  { temperature: 1, topK: 0, topP: 0.9, minP: 0, minKeep: 1, topN: 64, seed: 42n },
  { temperature: 0.7, topK: 50, topP: 0.95, minP: 0.02, minKeep: 2, topN: 16, seed: 2n ** 63n + 5n },
];

const vectors = SCALES.map((scale, i) => normalLogits(N, scale, 1000 + i));

function runNative(settings) {
  const dir = mkdtempSync(join(tmpdir(), 'nucleus-'));
  const file = join(dir, 'logits.f32');
  const all = new Float32Array(N * vectors.length);
  vectors.forEach((v, i) => all.set(v, i * N));
  writeFileSync(file, new Uint8Array(all.buffer));
  const { temperature, topK, topP, minP, minKeep, topN, seed } = settings;
  const args = [file, N, STEPS, temperature, topK, topP, minP, minKeep, topN, seed].map(String);
  let out;
  try {
    out = execFileSync(join(repoRoot, 'build/nucleus_sample'), args, { maxBuffer: 1 << 28 });
  } finally {
    rmSync(dir, { recursive: true });
  }
  const lines = out.toString().trim().split('\n').map((line) => JSON.parse(line));
  return { reports: lines.slice(0, -1), tokens: lines.at(-1).tokens, rngState: BigInt(lines.at(-1).rngState) };
}

for (const settings of SETTINGS) {
  test(`native, SIMD and scalar wasm agree bit for bit (${JSON.stringify(settings, (k, v) => (typeof v === 'bigint' ? String(v) : v))})`, async () => {
    const native = runNative(settings);
    for (const simd of [true, false]) {
      const s = await createSampler({ ...settings, simd });
      vectors.forEach((logits, v) => {
        const r = s.inspect(logits);
        const want = native.reports[v];
        assert.equal(r.nucleusSize, want.nucleusSize, `vector ${v}`);
        assert.equal(r.nucleusMass, want.nucleusMass);
        assert.equal(r.entropy, want.entropy);
        assert.deepEqual([...r.ids], want.ids);
        assert.deepEqual([...r.probs], want.probs.map(Math.fround));
        assert.deepEqual([...r.cumulative], want.cumulative);
      });
      const tokens = [];
      for (let i = 0; i < STEPS; i++) tokens.push(s.sample(vectors[i % vectors.length]).token);
      assert.deepEqual(tokens, native.tokens, `${simd ? 'SIMD' : 'scalar'} token stream`);
      assert.equal(s.rngState, native.rngState);
      s.dispose();
    }
  });
}
