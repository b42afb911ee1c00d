// llama.cpp as the test oracle, through node-llama-cpp's prebuilt linux-x64 CPU addon (a pinned
// dev dependency). It opens a GGUF in llama.cpp, tokenizes, and walks llama.cpp's own greedy
// path; compareWithOurs() then runs our model teacher-forced along that path and measures how
// far our logits are from llama.cpp's.
//
// What llama.cpp gives: node-llama-cpp exposes no raw logits, only `probabilities` (a Map over
// the whole vocabulary). With temperature 0 its sampler chain is the greedy sampler alone,
// which leaves the logits untouched, and the addon then computes in float
//   p_i = expf(l_i - m) / S,   m = max_j l_j,   S = sum_j expf(l_j - m)
// (node-llama-cpp llama/addon/AddonContext.cpp, SampleToken). So ln(p_i / p_top) = l_i - m:
// llama.cpp's logits minus their maximum, up to the rounding of expf and of the division
// (relative 2^-24 each, about 1e-7 absolute here), as long as p_i is a normal float
// (>= 2^-126; then expf(l_i - m) = p_i * S was normal too). Tokens below that carry no usable
// value and are left out of the comparison (counted in `excluded`).
import { getLlama } from 'node-llama-cpp';

const FLT_MIN = 2 ** -126;
let llamaPromise = null;

/** The process-wide llama.cpp instance: CPU only, prebuilt binary only, never builds or downloads. */
function llamaInstance() {
  llamaPromise ??= getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: 'error',
    maxThreads: 1,
  });
  return llamaPromise;
}

/**
 * Opens `path` in llama.cpp: CPU, one thread, an F32 KV cache (`kvType`; llama.cpp's default
 * F16 rounds every cached key and value), no flash attention, one sequence of `contextSize`
 * tokens.
 */
export async function openLlama(path, { contextSize = 256, kvType = 'F32' } = {}) {
  const llama = await llamaInstance();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize,
    batchSize: contextSize,
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: kvType,
    experimentalKvCacheValueType: kvType,
  });
  return new LlamaOracle(model, context);
}

class LlamaOracle {
  constructor(model, context) {
    this.model = model;
    this.context = context;
    this.sequence = context.getSequence();
  }

  /** Whether llama.cpp puts BOS before a prompt for this model (tokenizer.ggml.add_bos_token). */
  get addsBos() {
    return this.model.tokens.shouldPrependBosToken;
  }

  /** llama.cpp's token ids for `text`; `special` parses control-token text; `bos` prepends BOS. */
  tokenize(text, { special = false, bos = this.addsBos } = {}) {
    const ids = this.model.tokenize(text, special);
    return bos && this.model.tokens.bos != null ? [this.model.tokens.bos, ...ids] : ids;
  }

  /**
   * Feeds `promptIds` from position 0, then `steps` times takes llama.cpp's greedy token and
   * feeds it back. Returns { prompt, tokens, steps: [{ token, logits }] } where step s holds
   * the distribution after prompt + tokens[0..s) as centered logits (l_i - max l, a
   * Float64Array, NaN where the probability underflowed) and the greedy token.
   */
  async greedyPath(promptIds, steps) {
    if (promptIds.length === 0) throw new Error('greedyPath: empty prompt');
    await this.sequence.clearHistory();
    const next = { generateNext: { token: true, probabilities: true, options: { temperature: 0 } } };
    const out = { prompt: [...promptIds], tokens: [], steps: [] };
    // One position per evaluation, as our forward pass runs: a batched prompt takes other
    // summation orders in ggml (matrix-matrix kernels), and with quantized activations an
    // ulp of difference can flip a rounding and show as a real difference in the logits.
    for (const id of promptIds.slice(0, -1)) await this.sequence.controlledEvaluate([id]);
    let input = [[promptIds[promptIds.length - 1], next]];
    for (let s = 0; s < steps; s++) {
      const results = await this.sequence.controlledEvaluate(input);
      const { token, probabilities } = results[results.length - 1].next;
      out.steps.push({ token, logits: this.centeredLogits(probabilities) });
      out.tokens.push(token);
      input = [[token, next]];
    }
    return out;
  }

  /**
   * ln(p_i / p_max) for every token (NaN where p_i is not a normal float). The map holds the
   * whole vocabulary (the greedy chain drops no candidate); compareWithOurs checks its size.
   */
  centeredLogits(probabilities) {
    let top = 0;
    for (const p of probabilities.values()) top = Math.max(top, p);
    const out = new Float64Array(probabilities.size).fill(NaN);
    for (const [id, p] of probabilities) if (p >= FLT_MIN) out[id] = Math.log(p / top);
    return out;
  }

  async dispose() {
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** Index of the largest value, the lowest index on ties (llama.cpp's greedy sampler's rule). */
function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Runs `ourModel` (web/ Model) teacher-forced along llama.cpp's greedy path `llamaResult`
 * and compares each step. Probabilities fix logits only up to a per-step constant (the
 * softmax's shift), so the difference at a step is taken at the best shift c:
 *   diff = min_c max_i |ours_i - (llama_i + c)| = (max_i d_i - min_i d_i) / 2,  d = ours - llama,
 * over the tokens where llama.cpp's probability is a normal float; it is never larger than the
 * plain max |ours_i - llama_i| a raw-logit comparison would see. diffPct divides it by the
 * range (max - min) of our logits at that step. Also checks that every excluded token is as
 * unlikely in our model (ours_i - max ours <= the cut-off where llama.cpp's p underflows,
 * plus the same tolerance) so leaving them out hides nothing.
 * Returns { steps, agree, maxDiffPct, worstStep, excluded, excludedAboveCut } and per-step rows.
 */
export function compareWithOurs(ourModel, llamaResult) {
  const rows = [];
  let agree = 0;
  let maxDiffPct = 0;
  let worstStep = -1;
  let excluded = 0;
  let excludedAboveCut = 0;
  for (let s = 0; s < llamaResult.steps.length; s++) {
    const { token, logits: ref } = llamaResult.steps[s];
    const ours = ourModel.logits([...llamaResult.prompt, ...llamaResult.tokens.slice(0, s)]);
    if (ours.length !== ref.length) throw new Error(`vocabulary sizes differ: ours ${ours.length}, llama.cpp ${ref.length}`);
    const top = argmax(ours);
    let lo = Infinity;
    let hi = -Infinity;
    let min = Infinity;
    let cut = 0; // the largest ln(p / p_max) llama.cpp could have rounded to zero at this step
    for (let i = 0; i < ours.length; i++) {
      min = Math.min(min, ours[i]);
      if (Number.isNaN(ref[i])) continue;
      const d = ours[i] - ref[i];
      lo = Math.min(lo, d);
      hi = Math.max(hi, d);
      cut = Math.min(cut, ref[i]);
    }
    const range = ours[top] - min;
    const diff = (hi - lo) / 2;
    const diffPct = range > 0 ? (100 * diff) / range : 0;
    let stepExcluded = 0;
    for (let i = 0; i < ours.length; i++) {
      if (!Number.isNaN(ref[i])) continue;
      stepExcluded++;
      if (ours[i] - ours[top] > cut + 2 * diff) excludedAboveCut++;
    }
    excluded += stepExcluded;
    if (top === token) agree++;
    if (diffPct > maxDiffPct) [maxDiffPct, worstStep] = [diffPct, s];
    rows.push({ step: s, llama: token, ours: top, diff, range, diffPct, excluded: stepExcluded });
  }
  return { steps: rows.length, agree, maxDiffPct, worstStep, excluded, excludedAboveCut, rows };
}
