#!/usr/bin/env node
// One model's wasm end-to-end figures, in a fresh Node process (so each model starts from a
// clean wasm memory and its peak is its own). Prints one JSON line.
//   node bench/e2e_wasm.js MODEL TOKENS REPEATS
// api: the public API (loadModel + generate, web/dist SIMD build): load time, time to first
// token, decode tokens/s, peak memory. loop: the same C forward pass and sampler called in a C
// loop in build/bench-simd.wasm, with no JS between tokens.
import { readFileSync } from 'node:fs';
import { loadModel, memoryUsage } from '../web/index.js';
import { loadBenchWasm, median } from './lib.js';

const [path, tokensArg, repeatsArg] = process.argv.slice(2);
const TOKENS = Number(tokensArg);
const REPEATS = Number(repeatsArg);
const PROMPT = 'Once upon a time';
const MODES = { greedy: { temperature: 0 }, topP: { temperature: 1, topP: 0.9 } };

/** Short runs for at least 300 ms: V8 tiers hot wasm functions up only after a while. */
async function warmUp(run) {
  const start = performance.now();
  do await run();
  while (performance.now() - start < 300);
}

async function viaApi() {
  const t0 = performance.now();
  const model = await loadModel(path);
  const loadMs = performance.now() - t0;
  const eos = model.info.eosId >= 0 ? model.info.eosId : 0;
  async function run(options, maxTokens) {
    // Feed another first token, so the KV cache shares no prefix with the prompt and every run
    // prefills it from position 0.
    model.logits([eos]);
    const start = performance.now();
    let first = 0;
    let last = 0;
    let count = 0;
    for await (const step of model.generate(PROMPT, { ...options, seed: 1, maxTokens })) {
      last = performance.now();
      if (count++ === 0) first = last;
      if (step.finishReason) break;
    }
    return { ttftMs: first - start, tokS: count > 1 ? (count - 1) / ((last - first) / 1000) : NaN, tokens: count };
  }
  await warmUp(() => run(MODES.greedy, Math.min(TOKENS, 16)));
  const result = { loadMs, simd: model.info.simd };
  for (const [name, options] of Object.entries(MODES)) {
    const runs = [];
    for (let r = 0; r < REPEATS; r++) runs.push(await run(options, TOKENS));
    result[name] = {
      tokS: median(runs.map((x) => x.tokS)),
      ttftMs: median(runs.map((x) => x.ttftMs)),
      tokens: Math.min(...runs.map((x) => x.tokens)),
    };
  }
  result.memory = await memoryUsage();
  model.dispose();
  return result;
}

async function viaLoop() {
  const e = await loadBenchWasm('build/bench-simd.wasm');
  const bytes = readFileSync(path);
  const data = e.malloc(bytes.length);
  if (!data) throw new Error(`bench wasm: cannot allocate ${bytes.length} bytes`);
  new Uint8Array(e.memory.buffer, data, bytes.length).set(bytes);
  const m = e.nu_model_open(data, bytes.length, 0, 0, 0); // owns data from here
  if (!m) throw new Error(`bench wasm: cannot open ${path}`);
  const text = new TextEncoder().encode(PROMPT);
  const textPtr = e.malloc(text.length);
  new Uint8Array(e.memory.buffer, textPtr, text.length).set(text);
  const n = e.nu_model_tokenize(m, textPtr, text.length, 1);
  const prompt = e.nu_model_ids(m);
  function run(temperature, tokens) {
    const s = e.bench_decode_sampler(temperature, 0.9, 1);
    const t0 = performance.now();
    let token = e.bench_prefill(m, s, prompt, n);
    const t1 = performance.now();
    if (token >= 0) token = e.bench_decode_steps(m, s, token, n, tokens - 1);
    const t2 = performance.now();
    e.bench_decode_sampler_free(s);
    if (token < 0) throw new Error(`bench wasm: the forward pass failed on ${path}`);
    return { ttftMs: t1 - t0, tokS: (tokens - 1) / ((t2 - t1) / 1000) };
  }
  await warmUp(() => run(0, Math.min(TOKENS, 16)));
  const runs = Array.from({ length: REPEATS }, () => run(0, TOKENS));
  const result = { greedy: { tokS: median(runs.map((x) => x.tokS)), ttftMs: median(runs.map((x) => x.ttftMs)) } };
  e.free(textPtr);
  e.nu_model_close(m);
  return result;
}

console.log(JSON.stringify({ api: await viaApi(), loop: await viaLoop() }));
