// Diversity measures for a generated stream, over tokens (ids or strings).

/** The n-grams of tokens as string keys, in order. */
function ngrams(tokens, n) {
  const keys = [];
  for (let i = 0; i + n <= tokens.length; i++) keys.push(tokens.slice(i, i + n).join('\u0000'));
  return keys;
}

/** Distinct bigrams / total bigrams; 0 when there is no bigram (fewer than 2 tokens). */
export function distinct2(tokens) {
  const grams = ngrams(Array.from(tokens), 2);
  return grams.length === 0 ? 0 : new Set(grams).size / grams.length;
}

/** Share of the n-gram positions (default 4) whose n-gram occurs more than once; 0 when there is none. */
export function repetitionRate(tokens, n = 4) {
  const grams = ngrams(Array.from(tokens), n);
  if (grams.length === 0) return 0;
  const counts = new Map();
  for (const g of grams) counts.set(g, (counts.get(g) ?? 0) + 1);
  return grams.filter((g) => counts.get(g) > 1).length / grams.length;
}

/** Whitespace-separated words, for measuring plain texts. */
export function words(text) {
  return text.split(/\s+/).filter((w) => w.length > 0);
}
