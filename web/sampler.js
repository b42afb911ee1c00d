// The sampler as a JS object over one C sampler handle in the wasm module.
import { NucleusError, invalid } from './errors.js';
import { loadWasm } from './wasm.js';

export const DEFAULTS = Object.freeze({
  temperature: 1,
  topP: 0.9,
  topK: 0,
  minP: 0,
  minKeep: 1,
  topN: 64,
  penaltyLastN: 0,
  repeatPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
});

const INTEGER_OPTIONS = new Set(['topK', 'minKeep', 'topN', 'penaltyLastN']);
const OTHER_OPTIONS = new Set(['seed', 'logitBias', 'simd', 'relaxed', 'wasmUrl']);
const UINT64_MAX = (1n << 64n) - 1n;

/** Seed as [lo, hi] uint32 halves; accepts a non-negative safe integer or a BigInt < 2^64. */
export function splitSeed(seed) {
  let value;
  if (typeof seed === 'bigint') value = seed;
  else if (typeof seed === 'number' && Number.isSafeInteger(seed)) value = BigInt(seed);
  else throw invalid(`seed must be a non-negative integer or BigInt, got ${String(seed)}`);
  if (value < 0n || value > UINT64_MAX) throw invalid(`seed ${value} is outside [0, 2^64)`);
  return [Number(value & 0xffffffffn), Number(value >> 32n)];
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || OTHER_OPTIONS.has(name)) continue;
    if (!(name in DEFAULTS)) throw invalid(`unknown sampler option "${name}"`);
    if (typeof value !== 'number') throw invalid(`${name} must be a number, got ${typeof value}`);
    if (INTEGER_OPTIONS.has(name) && !Number.isInteger(value)) {
      throw invalid(`${name} must be an integer, got ${value}`);
    }
  }
}

function biasEntries(bias) {
  if (bias == null) return [];
  const entries = bias instanceof Map ? [...bias] : Array.isArray(bias) ? bias : Object.entries(bias);
  return entries.map(([id, value]) => {
    const token = Number(id);
    if (!Number.isInteger(token)) throw invalid(`logit bias key ${id} is not a token id`);
    if (typeof value !== 'number') throw invalid(`logit bias for token ${id} must be a number`);
    return [token, value];
  });
}

const registry = new FinalizationRegistry(({ exports, handle }) => exports.nu_sampler_destroy(handle));

export class Sampler {
  #wasm;
  #handle;
  #params;

  /** Use createSampler(); this takes an instantiated module. */
  constructor(wasm, options = {}) {
    checkOptions(options);
    this.#wasm = wasm;
    this.#handle = wasm.exports.nu_sampler_create();
    if (!this.#handle) {
      throw new NucleusError(wasm.cstring(wasm.exports.nu_creation_error()), 'OUT_OF_MEMORY');
    }
    registry.register(this, { exports: wasm.exports, handle: this.#handle }, this);
    this.#params = { ...DEFAULTS };
    try {
      this.configure(options);
      this.reseed(options.seed ?? 0);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /** The parameters in force (a copy). */
  get params() {
    return { ...this.#params };
  }

  /** The module this sampler lives in (shared with models loaded from the same build). */
  get wasm() {
    return this.#wasm;
  }

  #live() {
    if (!this.#handle) throw new NucleusError('the sampler has been disposed', 'DISPOSED');
    return this.#wasm.exports;
  }

  #check(rc) {
    if (rc !== 0) {
      throw NucleusError.fromC(rc, this.#wasm.cstring(this.#wasm.exports.nu_sampler_error(this.#handle)));
    }
  }

  /** Changes any parameter; the others and the RNG state are kept. Invalid values throw and change nothing. */
  configure(options = {}) {
    const e = this.#live();
    checkOptions(options);
    const next = { ...this.#params };
    for (const name of Object.keys(DEFAULTS)) if (options[name] !== undefined) next[name] = options[name];
    this.#check(
      e.nu_sampler_configure(
        this.#handle, next.temperature, next.topK, next.topP, next.minP, next.minKeep, next.topN,
        next.penaltyLastN, next.repeatPenalty, next.frequencyPenalty, next.presencePenalty,
      ),
    );
    this.#params = next;
    if (options.logitBias !== undefined) this.setLogitBias(options.logitBias);
    return this;
  }

  /** Replaces the logit-bias map: {id: bias}, a Map, or [[id, bias], ...]; -Infinity bans a token. */
  setLogitBias(bias) {
    const e = this.#live();
    const entries = biasEntries(bias);
    const ids = e.malloc(Math.max(1, entries.length) * 4);
    const values = e.malloc(Math.max(1, entries.length) * 4);
    try {
      if (!ids || !values) throw new NucleusError('cannot allocate the logit bias', 'OUT_OF_MEMORY');
      this.#wasm.i32(ids, entries.length).set(entries.map(([id]) => id));
      this.#wasm.f32(values, entries.length).set(entries.map(([, value]) => value));
      this.#check(e.nu_sampler_bias(this.#handle, ids, values, entries.length));
    } finally {
      e.free(ids);
      e.free(values);
    }
    return this;
  }

  /** Restarts the random stream: state = seed (number or BigInt, uint64). */
  reseed(seed) {
    const e = this.#live();
    const [lo, hi] = splitSeed(seed);
    e.nu_sampler_reseed(this.#handle, lo, hi);
    return this;
  }

  /** The current splitmix64 state as a BigInt. */
  get rngState() {
    const e = this.#live();
    return (BigInt(e.nu_sampler_rng_hi(this.#handle) >>> 0) << 32n) | BigInt(e.nu_sampler_rng_lo(this.#handle) >>> 0);
  }

  /** Adds tokens (e.g. the prompt) to the history the repetition penalties look at. */
  accept(tokens) {
    const e = this.#live();
    for (const token of typeof tokens === 'number' ? [tokens] : tokens) e.nu_sampler_accept_token(this.#handle, token);
    return this;
  }

  resetHistory() {
    this.#live().nu_sampler_clear_history(this.#handle);
    return this;
  }

  /** Draws a token: the step report; advances the RNG (unless greedy). */
  sample(logits) {
    return this.#run(logits, 1);
  }

  /** The same report without drawing: no RNG advance, token = -1. */
  inspect(logits) {
    return this.#run(logits, 0);
  }

  #run(logits, draw) {
    const e = this.#live();
    const n = logits?.length;
    if (typeof n !== 'number') throw invalid('logits must be a Float32Array or an array of numbers');
    const input = e.nu_sampler_input(this.#handle, n);
    if (!input) this.#check(e.nu_sampler_error_code(this.#handle));
    this.#wasm.f32(input, n).set(logits);
    return this.stepAt(0, n, draw);
  }

  /**
   * Runs on n logits already in wasm memory at ptr (0: the input buffer). For models: the
   * report copies only its first `entries` ordered entries (a top-p nucleus may hold most of
   * the vocabulary).
   */
  stepAt(ptr, n, draw, entries = Infinity) {
    const e = this.#live();
    this.#check(e.nu_sampler_step(this.#handle, ptr, n, draw));
    return this.#report(entries);
  }

  #report(entries) {
    const e = this.#wasm.exports;
    const h = this.#handle;
    const count = Math.min(e.nu_report_count(h), entries);
    const token = e.nu_report_token(h);
    const coin = e.nu_report_coin(h);
    return {
      token,
      rank: e.nu_report_rank(h),
      prob: token < 0 ? null : e.nu_report_prob(h),
      coin: Number.isNaN(coin) ? null : coin,
      nucleusSize: e.nu_report_nucleus_size(h),
      nucleusMass: e.nu_report_nucleus_mass(h),
      entropy: e.nu_report_entropy(h),
      vocabSize: e.nu_report_n(h),
      ids: this.#wasm.i32(e.nu_report_ids(h), count).slice(),
      probs: this.#wasm.f32(e.nu_report_probs(h), count).slice(),
      cumulative: this.#wasm.f64(e.nu_report_cumulative(h), count).slice(),
    };
  }

  /** Frees the C sampler. Further calls throw NucleusError('DISPOSED'); disposing twice is harmless. */
  dispose() {
    if (!this.#handle) return;
    registry.unregister(this);
    this.#wasm.exports.nu_sampler_destroy(this.#handle);
    this.#handle = 0;
  }
}

/** Creates a sampler; loads the wasm module on first use. */
export async function createSampler(options = {}) {
  checkOptions(options);
  const wasm = await loadWasm({ simd: options.simd, relaxed: options.relaxed, url: options.wasmUrl });
  return new Sampler(wasm, options);
}
