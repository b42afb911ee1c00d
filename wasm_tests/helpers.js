// Shared test helpers: deterministic random logits, paths, and logits of the native build.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const sharedDir = fileURLToPath(new URL('../../shared/', import.meta.url));

/** The native build's logits after feeding tokens from position 0 (build/model_logits). */
export function nativeLogits(path, tokens) {
  const out = execFileSync(`${repoRoot}build/model_logits`, [path, ...tokens.map(String)],
    { encoding: 'utf8', maxBuffer: 1 << 26 });
  return Float32Array.from(out.trim().split('\n'), Number);
}

/** Asserts two float32 vectors hold the same bits, naming the first difference. */
export function assertSameBits(a, b, what) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  const ua = new Uint32Array(Float32Array.from(a).buffer);
  const ub = new Uint32Array(Float32Array.from(b).buffer);
  const i = ua.findIndex((bits, k) => bits !== ub[k]);
  assert.equal(i, -1, i < 0 ? '' : `${what}: logit ${i} is ${a[i]} vs ${b[i]}`);
}

/** xorshift64 stream of uniform doubles in [0, 1) from a fixed seed. */
export function uniforms(seed) {
  let state = BigInt(seed) || 1n;
  const mask = (1n << 64n) - 1n;
  return () => {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    return Number(state >> 11n) / 2 ** 53;
  };
}

/** n logits scale * N(0, 1), Box-Muller over a fixed uniform stream. */
export function normalLogits(n, scale, seed) {
  const next = uniforms(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const a = 2 * Math.PI * next();
    out[i] = scale * r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = scale * r * Math.sin(a);
  }
  return out;
}

/**
 * An independent implementation of the rules in double precision: softmax, order by
 * (prob desc, id asc), top-k, top-p, min-p. Returns the kept ids in order.
 */
export function referenceNucleus(logits, { temperature = 1, topK = 0, topP = 0.9, minP = 0, minKeep = 1 } = {}) {
  const n = logits.length;
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += probs[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < n; i++) probs[i] /= sum;
  const order = [...Array(n).keys()].filter((i) => probs[i] > 0);
  order.sort((a, b) => probs[b] - probs[a] || a - b);
  const floor = (size, before) => Math.max(size, Math.min(minKeep, before));
  let size = order.length;
  if (topK > 0 && topK < n) size = floor(Math.min(size, topK), size);
  if (topP < 1) {
    let cut = 1;
    if (topP > 0) {
      let mass = 0;
      for (let j = 0; j < size; j++) mass += probs[order[j]];
      let cum = 0;
      for (cut = 0; cut < size; ) {
        cum += probs[order[cut++]] / mass;
        if (cum >= topP - 1e-6) break;
      }
    }
    size = floor(Math.min(cut, size), size);
  }
  if (minP > 0) {
    let cut = 0;
    while (cut < size && probs[order[cut]] >= minP * probs[order[0]]) cut++;
    size = floor(cut, size);
  }
  return { ids: order.slice(0, size), probs };
}
