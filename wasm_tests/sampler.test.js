// The sampler through the public JS API, on both wasm builds (SIMD128 and scalar).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSampler, NucleusError } from '../web/index.js';
import { normalLogits, referenceNucleus } from './helpers.js';

const ANIMALS = ['cat', 'dog', 'bird', 'fish', 'lizard', 'hamster'];
const ANIMAL_LOGITS = [2.4, 1.8, 0.5, 0.2, -0.3, -1.0];

for (const simd of [true, false]) {
  describe(`sampler (${simd ? 'SIMD128' : 'scalar'} wasm)`, () => {
    const make = (options = {}) => createSampler({ simd, ...options });

    test('worked example: p = 0.9, T = 1 keeps cat, dog, bird, fish', async () => {
      const s = await make({ topP: 0.9, temperature: 1, seed: 42 });
      const r = s.inspect(ANIMAL_LOGITS);
      assert.equal(r.nucleusSize, 4);
      assert.deepEqual([...r.ids.slice(0, r.nucleusSize)].map((i) => ANIMALS[i]), ['cat', 'dog', 'bird', 'fish']);
      assert.deepEqual([...r.cumulative.slice(0, 4)].map((c) => c.toFixed(3)), ['0.524', '0.811', '0.889', '0.947']);
      assert.equal(r.token, -1);
      assert.equal(r.count, undefined); // the arrays carry the count
      assert.equal(r.ids.length, 6);
      assert.ok(r.ids instanceof Int32Array && r.probs instanceof Float32Array);
      s.dispose();
    });

    test('p = 0 keeps one token, p = 1 keeps all, and the cut sits exactly at p', async () => {
      const s = await make({ topP: 0 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 1);
      s.configure({ topP: 1 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 6);
      const cum = s.inspect(ANIMAL_LOGITS).cumulative;
      for (let k = 0; k < 5; k++) {
        s.configure({ topP: Math.min(1, cum[k]) }); // reaching p exactly keeps k + 1 tokens
        assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, k + 1);
        s.configure({ topP: Math.min(1, cum[k] + 1e-5) });
        assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, k + 2);
      }
    });

    test('T = 0 is greedy: argmax, lowest id on ties, no random number used', async () => {
      const s = await make({ temperature: 0, seed: 5n });
      const before = s.rngState;
      const r = s.sample([1, 3, 0.5, 3, 3]);
      assert.equal(r.token, 1);
      assert.equal(r.nucleusSize, 1);
      assert.equal(r.prob, 1);
      assert.equal(r.coin, null);
      assert.equal(s.rngState, before);
    });

    test('ties order by ascending id, including across the top-k cut', async () => {
      const s = await make({ topP: 1, topK: 2 });
      const r = s.inspect([1, 3, 0.5, 3, 3]);
      assert.deepEqual([...r.ids], [1, 3, 4, 0, 2]);
      assert.equal(r.nucleusSize, 2);
    });

    test('top-k 0 and >= n are off, 1 keeps one; top-p is renormalised after top-k', async () => {
      const s = await make({ topP: 1 });
      for (const [k, size] of [[0, 6], [1, 1], [6, 6], [100, 6], [-3, 6]]) {
        s.configure({ topK: k });
        assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, size, `topK ${k}`);
      }
      s.configure({ topK: 2, topP: 0.6 }); // cat alone is 0.524 / 0.811 = 0.646 of the top 2
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 1);
      s.configure({ topP: 0.7 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 2);
    });

    test('min-p and minKeep', async () => {
      const s = await make({ topP: 1, minP: 0.1 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 4);
      s.configure({ minP: 1 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 1);
      s.configure({ minP: 1, minKeep: 3, topK: 1, topP: 0 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 3);
      s.configure({ minKeep: 0, minP: 0, topK: 0 });
      assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 1);
    });

    test('-Inf logits have probability 0 and are never drawn; n = 1 works', async () => {
      const s = await make({ topP: 1, minKeep: 4, seed: 9 });
      const logits = [-Infinity, 0, -Infinity, -1];
      assert.equal(s.inspect(logits).nucleusSize, 2);
      for (let i = 0; i < 500; i++) assert.ok([1, 3].includes(s.sample(logits).token));
      const one = s.sample(new Float32Array([7]));
      assert.equal(one.token, 0);
      assert.equal(one.prob, 1);
      assert.equal(one.entropy, 0);
    });

    test('every bad input throws a NucleusError and the sampler keeps working', async () => {
      const s = await make({ seed: 1 });
      const bad = [
        [() => s.sample([0, NaN]), 'INVALID_LOGITS', /logit 1 is NaN/],
        [() => s.sample([0, Infinity]), 'INVALID_LOGITS', /\+Inf/],
        [() => s.sample([-Infinity, -Infinity]), 'INVALID_LOGITS', /all 2 logits are -Inf/],
        [() => s.sample([]), 'INVALID_LOGITS', /out of range/],
        [() => s.sample(new Float32Array(2 ** 24 + 1)), 'INVALID_LOGITS', /16777217 is out of range/],
        [() => s.sample(null), 'INVALID_ARGUMENT', /logits/],
        [() => s.configure({ topP: NaN }), 'INVALID_ARGUMENT', /topP/],
        [() => s.configure({ topP: 1.01 }), 'INVALID_ARGUMENT', /topP/],
        [() => s.configure({ topP: -0.5 }), 'INVALID_ARGUMENT', /topP/],
        [() => s.configure({ minP: 2 }), 'INVALID_ARGUMENT', /minP/],
        [() => s.configure({ minP: NaN }), 'INVALID_ARGUMENT', /minP/],
        [() => s.configure({ minKeep: -1 }), 'INVALID_ARGUMENT', /minKeep/],
        [() => s.configure({ temperature: NaN }), 'INVALID_ARGUMENT', /temperature/],
        [() => s.configure({ topK: 1.5 }), 'INVALID_ARGUMENT', /topK/],
        [() => s.configure({ topp: 0.5 }), 'INVALID_ARGUMENT', /unknown sampler option "topp"/],
        [() => s.reseed(-1), 'INVALID_ARGUMENT', /seed/],
        [() => s.reseed(2n ** 64n), 'INVALID_ARGUMENT', /seed/],
        [() => s.setLogitBias({ 3: NaN }), 'INVALID_ARGUMENT', /NaN/],
      ];
      for (const [call, code, message] of bad) {
        assert.throws(call, (e) => e instanceof NucleusError && e.code === code && message.test(e.message));
        assert.equal(s.inspect(ANIMAL_LOGITS).nucleusSize, 4, 'still works');
      }
      assert.equal(s.params.topP, 0.9, 'failed configure changed nothing');
      s.setLogitBias({ 10: 1 });
      assert.throws(() => s.sample(ANIMAL_LOGITS), /token id 10 is outside the vocabulary of 6/);
      s.setLogitBias({});
      assert.equal(s.sample(ANIMAL_LOGITS).nucleusSize, 4);
      s.dispose();
      s.dispose();
      assert.throws(() => s.sample(ANIMAL_LOGITS), (e) => e.code === 'DISPOSED');
      await assert.rejects(make({ topP: 3 }), (e) => e.code === 'INVALID_ARGUMENT');
    });

    test('logit bias and repetition penalties come before temperature', async () => {
      const s = await make({ temperature: 0, logitBias: { 0: -Infinity } });
      assert.equal(s.sample(ANIMAL_LOGITS).token, 1);
      s.setLogitBias(new Map([[5, 10]]));
      assert.equal(s.sample(ANIMAL_LOGITS).token, 5);
      s.setLogitBias([]);
      s.configure({ penaltyLastN: 8, presencePenalty: 1 });
      s.resetHistory().accept([0]);
      assert.equal(s.sample(ANIMAL_LOGITS).token, 1); // cat 2.4 - 1 < dog 1.8
    });

    test('seeds: number and BigInt agree, reseed restarts, configure keeps the stream, inspect does not advance', async () => {
      const logits = normalLogits(1000, 2, 77);
      const run = (s, k) => Array.from({ length: k }, () => s.sample(logits).token);
      const a = await make({ seed: 123 });
      const b = await make({ seed: 123n });
      assert.deepEqual(run(a, 50), run(b, 50));
      const big = await make({ seed: 2n ** 64n - 1n });
      assert.equal(big.rngState, 2n ** 64n - 1n);
      a.reseed(123);
      const first = run(a, 20);
      a.reseed(123);
      a.inspect(logits);
      a.configure({ topP: 0.9 });
      assert.deepEqual(run(a, 20), first);
    });

    test('200k draws follow the renormalised nucleus (chi-square, 3 dof, < 16.27) and never leave it', async () => {
      const s = await make({ topP: 0.9, seed: 2024 });
      const counts = new Array(6).fill(0);
      for (let i = 0; i < 200000; i++) counts[s.sample(ANIMAL_LOGITS).token]++;
      const r = s.inspect(ANIMAL_LOGITS);
      let chi2 = 0;
      for (let j = 0; j < 4; j++) {
        const expected = (200000 * r.probs[j]) / r.nucleusMass;
        chi2 += (counts[r.ids[j]] - expected) ** 2 / expected;
      }
      assert.equal(counts[4] + counts[5], 0);
      assert.ok(chi2 < 16.27, `chi-square ${chi2}`);
    });

    test('a double-precision reference agrees on nucleus membership (32000 and 151936 tokens)', async () => {
      const s = await make();
      const cases = [];
      for (const n of [32000, 151936]) {
        for (const scale of [10, 3, 0.5]) {
          for (const opts of [{ topP: 0.9 }, { topP: 0.5, topK: 100 }, { topP: 0.95, minP: 0.05 }, { topP: 0.3, temperature: 0.7 }]) {
            cases.push([n, scale, opts]);
          }
        }
      }
      for (const [n, scale, opts] of cases) {
        const logits = normalLogits(n, scale, n + scale * 10);
        s.configure({ temperature: 1, topK: 0, minP: 0, ...opts });
        const r = s.inspect(logits);
        const ref = referenceNucleus(logits, { temperature: 1, ...opts });
        assert.equal(r.nucleusSize, ref.ids.length, `n ${n} s ${scale} ${JSON.stringify(opts)}`);
        // Orders may differ where two probabilities differ in double but round to one float.
        const sorted = (ids) => [...ids].sort((a, b) => a - b);
        assert.deepEqual(sorted(r.ids.slice(0, r.nucleusSize)), sorted(ref.ids));
        for (let j = 0; j < r.nucleusSize; j++) assert.ok(Math.abs(r.probs[j] - ref.probs[r.ids[j]]) < 1e-6);
      }
    });

    test('why top-p: top-k 40 cuts a flat distribution, keeps 40 of a peaked one', async () => {
      const s = await make({ topP: 1, topK: 40 });
      const flat = normalLogits(32000, 0.5, 1);
      const peaked = normalLogits(32000, 10, 4);
      const flatK = s.inspect(flat);
      s.configure({ topK: 0, topP: 0.9 });
      const flatP = s.inspect(flat);
      assert.ok(flatK.nucleusMass < 0.01, `top-40 keeps only ${flatK.nucleusMass} of the mass`);
      assert.ok(flatP.nucleusSize > 1000, `top-p keeps ${flatP.nucleusSize} tokens`);
      const peakedP = s.inspect(peaked);
      s.configure({ topK: 40, topP: 1 });
      const peakedK = s.inspect(peaked);
      assert.ok(peakedP.nucleusSize <= 2, `top-p keeps ${peakedP.nucleusSize}`);
      assert.equal(peakedK.nucleusSize, 40);
      assert.ok(peakedK.probs[39] < 1e-4, 'top-k keeps tokens of negligible probability');
    });

    test('the report lists max(nucleusSize, topN) entries with running sums', async () => {
      const s = await make({ topN: 10, topP: 0.5 });
      const logits = normalLogits(5000, 2, 3);
      const r = s.sample(logits);
      assert.equal(r.ids.length, Math.max(r.nucleusSize, 10));
      let cum = 0;
      for (let j = 0; j < r.ids.length; j++) {
        cum += r.probs[j];
        assert.ok(Math.abs(r.cumulative[j] - cum) < 1e-12);
        if (j) assert.ok(r.probs[j] <= r.probs[j - 1]);
      }
      assert.equal(r.ids[r.rank], r.token);
      assert.ok(r.rank < r.nucleusSize);
      assert.equal(r.prob, r.probs[r.rank]);
      s.configure({ topN: 0, topP: 0 });
      assert.equal(s.inspect(logits).ids.length, 1);
    });
  });
}
