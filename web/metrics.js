// Measures of what sampling did, used by the CLI's sweep and by the page. Texts are token
// sequences (arrays of ids or strings); definitions are in README "Measuring sampling".

/** The n-grams of one sequence as string keys, in order. */
function ngrams(tokens, n) {
  const list = Array.from(tokens);
  const keys = [];
  for (let i = 0; i + n <= list.length; i++) keys.push(list.slice(i, i + n).join('\u0000'));
  return keys;
}

/**
 * distinct-n: distinct n-grams / all n-grams, pooled over every sequence given (one sequence
 * or an array of them). 0 when there is no n-gram.
 */
export function distinctN(sequences, n) {
  const list = Array.isArray(sequences[0]) || ArrayBuffer.isView(sequences[0]) ? sequences : [sequences];
  const seen = new Set();
  let total = 0;
  for (const tokens of list) {
    for (const gram of ngrams(tokens, n)) {
      seen.add(gram);
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** distinct-2 of one sequence (or of several, pooled). */
export function distinct2(sequences) {
  return distinctN(sequences, 2);
}

/** Share of the n-gram positions (default 4) of one text whose n-gram occurs more than once in it; 0 when it has none. */
export function repetitionRate(tokens, n = 4) {
  const grams = ngrams(tokens, n);
  if (grams.length === 0) return 0;
  const counts = new Map();
  for (const gram of grams) counts.set(gram, (counts.get(gram) ?? 0) + 1);
  return grams.filter((gram) => counts.get(gram) > 1).length / grams.length;
}

export function mean(values) {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The middle value (the mean of the two middle values for an even count). */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Whitespace-separated words, for measuring plain texts. */
export function words(text) {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * Summary of one sampling setting from its runs: each run is { tokens: number[], steps:
 * [{ nucleusSize, nucleusMass, entropy, prob }], seconds }.
 */
export function summarize(runs) {
  const steps = runs.flatMap((run) => run.steps);
  const tokens = runs.reduce((sum, run) => sum + run.tokens.length, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const texts = runs.map((run) => run.tokens);
  return {
    runs: runs.length,
    tokens,
    meanNucleusSize: mean(steps.map((s) => s.nucleusSize)),
    medianNucleusSize: median(steps.map((s) => s.nucleusSize)),
    meanEntropy: mean(steps.map((s) => s.entropy)),
    // A nucleus of every token can sum to 1 + 1e-8 in float: the mass cut away is then 0.
    meanTruncatedMass: mean(steps.map((s) => Math.max(0, 1 - s.nucleusMass))),
    meanKL: mean(steps.map((s) => Math.max(0, -Math.log(s.nucleusMass)))),
    distinct1: distinctN(texts, 1),
    distinct2: distinctN(texts, 2),
    distinct3: distinctN(texts, 3),
    repetitionRate: mean(texts.map((t) => repetitionRate(t, 4))),
    meanProb: mean(steps.map((s) => s.prob)),
    tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
  };
}
