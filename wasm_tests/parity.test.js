// Parity with llama.cpp (wasm_tests/oracle.js): for each model file in ROWS and each prompt,
// llama.cpp walks its greedy path for `steps` tokens and our model is run teacher-forced along
// it. Gate per model and prompt: our top-1 token equals llama.cpp's at >= steps - 1 steps, and
// at every step every compared logit is within `maxDiffPct` (1) percent of our logit range,
// after the per-step shift (see compareWithOurs). Prints a parity table.
//
// F32 files match to 0.000%. Quantized files differ because their activations are quantized
// too: an ulp of difference before a Q8_0 rounding can move a value by a whole step, and the
// step propagates, so any difference in summation order shows up at the 0.1-1% level. What
// ggml does differently (ggml-cpu, x86): it rounds the input of an F16 matrix to F16
// (type_traits_cpu[F16].vec_dot_type); it sums a Q8_0/Q4_0 row in 8 float lanes, lane i
// holding elements 4i..4i+3 of each block, fma(d_w * d_x, lane, acc), then
// ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)) (llamafile/sgemm.cpp tinyBLAS_Q0_AVX, hsum); and it
// quantizes activations with id = 127 / amax and round-to-nearest-even (arch/x86/quants.c
// quantize_row_q8_0). We do the first and the third (the type table's vec_dot_type and
// from_float_input), not the second (no FMA: native and wasm must give the same bits). Most
// prompts then match to 0.000% and the rest stay under 1% (flips from the summation order).
//
// To add a model: a row { model, prompts, steps, maxDiffPct? }. `model` is relative to the
// repository root (models/ files come from the Makefile's TEST_MODELS; ../shared/... works
// too); a prompt is text (tokenized by llama.cpp with BOS; our tokenizer must give the same
// ids; BOS as llama.cpp adds it for the model, `special: true` on the row parses control-token
// text) or an array of token ids used as they are; `maxDiffPct` overrides the 1% gate.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { openLlama, compareWithOurs } from './oracle.js';
import { repoRoot } from './helpers.js';
import { KQ_MODELS } from './kq_models.js';

const STORY_PROMPTS = ['Once upon a time', 'The little dog was sad because', [1, 450, 4996, 29889, 1128]];

// Every type convert writes (the Makefile's MODEL_TYPES and MORE_TYPES), as stories260K
// (converted from llama2.c's files; ffn_down stays F16: 172 columns are not whole blocks) and
// stories15M (synthetic weights, whole blocks everywhere).
const TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1'];

export const ROWS = [
  ...TYPES.map((type) => ({
    model: `models/stories260K-${type}.gguf`,
    prompts: ['Once upon a time', 'Lily and Tom went to the park', [1, 403, 407, 261, 378, 300]],
    steps: 32,
  })),
  ...TYPES.map((type) => ({
    model: `models/stories15M-${type}.gguf`,
    prompts: STORY_PROMPTS,
    steps: 32,
  })),
  // One small random-weight model per architecture (Makefile ARCH_MODELS), prompts as ids.
  ...['llama3', 'qwen2', 'qwen3', 'gemma3'].flatMap((arch) => ['f32', 'q8_0'].map((type) => ({
    model: `models/arch-${arch}-${type}.gguf`,
    prompts: [[1, 2, 3, 400, 500], [10, 20, 30]],
    steps: 32,
  }))),
  // The K-quant targets and llama.cpp's mixtures (wasm_tests/kq_models.js).
  ...KQ_MODELS.map((model) => ({ model, prompts: STORY_PROMPTS, steps: 32 })),
];

const table = [];

for (const row of ROWS) {
  describe(`parity with llama.cpp: ${row.model}`, () => {
    let ours;
    let llama;
    before(async () => {
      const path = join(repoRoot, row.model);
      ours = await loadModel(path);
      llama = await openLlama(path);
    });
    after(async () => {
      ours?.dispose();
      await llama?.dispose();
    });

    for (const prompt of row.prompts) {
      const label = Array.isArray(prompt) ? `ids [${prompt.join(',')}]` : JSON.stringify(prompt);
      test(`${label}: ${row.steps} greedy steps`, async () => {
        let ids = prompt;
        if (!Array.isArray(prompt)) {
          const options = { bos: llama.addsBos, ...(row.special && { special: true }) };
          ids = llama.tokenize(prompt, options);
          assert.deepEqual([...ours.tokenize(prompt, options)], ids, 'our tokenizer gives llama.cpp\'s ids');
        }
        const path = await llama.greedyPath(ids, row.steps);
        const r = compareWithOurs(ours, path);
        table.push({ model: row.model, prompt: label, ...r });
        const where = `worst at step ${r.worstStep}: ${JSON.stringify(r.rows[r.worstStep])}`;
        assert.ok(r.agree >= row.steps - 1, `top-1 agrees at ${r.agree}/${row.steps} steps`);
        assert.ok(r.maxDiffPct <= (row.maxDiffPct ?? 1), `max logit difference ${r.maxDiffPct.toFixed(3)}% of the range; ${where}`);
        assert.equal(r.excludedAboveCut, 0, 'tokens llama.cpp rounds to probability 0 are as unlikely in ours');
      });
    }
  });
}

// The comparison itself: llama.cpp on the F32 file against our Q4_0 file must show the
// quantization (a harness that compared nothing would pass every row above).
test('the comparison sees a real difference: llama.cpp on F32, ours on Q4_0', async () => {
  const llama = await openLlama(join(repoRoot, 'models/stories260K-f32.gguf'));
  const ours = await loadModel(join(repoRoot, 'models/stories260K-q4_0.gguf'));
  try {
    const r = compareWithOurs(ours, await llama.greedyPath([1, 403, 407, 261, 378], 8));
    assert.ok(r.maxDiffPct > 1, `Q4_0 against F32 differs by ${r.maxDiffPct.toFixed(3)}% of the range`);
  } finally {
    ours.dispose();
    await llama.dispose();
  }
});

after(() => {
  const lines = ['parity with llama.cpp (model | prompt | top-1 agreement | max diff % of range | excluded)'];
  for (const r of table) {
    lines.push(`${r.model} | ${r.prompt} | ${r.agree}/${r.steps} | ${r.maxDiffPct.toFixed(3)}% | ${r.excluded}`);
  }
  console.log(lines.join('\n'));
});
