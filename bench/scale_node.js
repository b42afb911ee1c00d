#!/usr/bin/env node
// One model in Node through the public API at one or more thread counts, in a fresh process;
// the prompt text comes on stdin. A model is loaded per count (loadModel(path, { threads })) and
// their runs interleave (1, 2, 1, 2, ...), so that a slow spell of a shared machine falls on
// every count alike. Prints one JSON line per count: the threads the model runs
// (model.info.threads, 1 when the build has no thread pool), time to first token (the prompt
// prefilled + the first draw: the first step's promptMs when reported, else the time to it) and
// greedy decode tok/s, medians of RUNS runs; only { threads } when the model runs fewer threads
// than asked.
//   node bench/scale_node.js MODEL THREADS[,THREADS...] TOKENS RUNS < prompt.txt
import { readFileSync } from 'node:fs';
import { loadModel } from '../web/index.js';
import { median } from './lib.js';

const [path, threadsArg, tokensArg, runsArg] = process.argv.slice(2);
const prompt = readFileSync(0, 'utf8');
const tokens = Number(tokensArg);
const counts = threadsArg.split(',').map(Number);
const models = [];
for (const threads of counts) models.push(await loadModel(path, { threads }));

async function run(model, text, maxTokens) {
  model.logits([model.info.eosId >= 0 ? model.info.eosId : 0]); // no prefix shared with the prompt
  const start = performance.now();
  let first = 0, last = 0, count = 0, promptMs;
  for await (const step of model.generate(text, { temperature: 0, seed: 1, maxTokens })) {
    last = performance.now();
    if (count++ === 0) first = last, promptMs = step.promptMs;
    if (step.finishReason) break;
  }
  return { ttftMs: promptMs ?? first - start, tokS: (count - 1) / ((last - first) / 1000) };
}

// those that run the threads asked for; a build with fewer threads has nothing to measure
const measured = models.filter((m, i) => (m.info.threads ?? 1) === counts[i]);
for (const model of measured) await run(model, prompt, tokens); // warm-up at full size: V8 tiers up the prompt and decode kernels alike
const runs = new Map(measured.map((m) => [m, []]));
for (let r = 0; r < Number(runsArg); r++) for (const model of measured) runs.get(model).push(await run(model, prompt, tokens));
for (const model of models) {
  const threads = model.info.threads ?? 1;
  const all = runs.get(model);
  console.log(JSON.stringify(all ? {
    threads,
    promptTokens: model.tokenize(prompt).length,
    ttftMs: median(all.map((x) => x.ttftMs)),
    tokS: median(all.map((x) => x.tokS)),
  } : { threads }));
  model.dispose();
}
