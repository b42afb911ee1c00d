// The K-quant test models the Makefile's KQ_MODELS rule makes (make models-kq): two-layer
// synthetic models in every K-quant target, at widths 256, 384, 576, 704, where 384-704 take
// llama.cpp's fallback types for rows that are not whole 256-blocks.
const TARGETS = ['q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k', 'iq4_nl', 'iq4_xs', 'q3_k_m', 'q4_k_m', 'q5_k_m'];
const FALLBACK_TARGETS = ['q2_k', 'q3_k_m', 'q4_k_m', 'q5_k_m', 'q6_k', 'iq4_xs'];

export const KQ_MODELS = [
  ...[256, 576].flatMap((w) => TARGETS.map((t) => `models/kq${w}-${t}.gguf`)),
  ...[384, 704].flatMap((w) => FALLBACK_TARGETS.map((t) => `models/kq${w}-${t}.gguf`)),
];
