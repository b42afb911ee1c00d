#!/usr/bin/env node
// One model in Node through the public API at a thread count, in a fresh process; the prompt
// text comes on stdin. Prints one JSON line: the threads the model runs (model.info.threads,
// 1 when the build has no thread pool), time to first token (the prompt prefilled + the first
// draw: the first step's promptMs when reported, else the time to it) and greedy decode tok/s,
// medians of RUNS runs. Only { threads } when the model runs fewer threads than asked.
//   node bench/scale_node.js MODEL THREADS TOKENS RUNS < prompt.txt
import { readFileSync } from 'node:fs';
import { loadModel } from '../web/index.js';
import { median } from './lib.js';

const [path, threadsArg, tokensArg, runsArg] = process.argv.slice(2);
const prompt = readFileSync(0, 'utf8');
const model = await loadModel(path, { threads: Number(threadsArg) });
const threads = model.info.threads ?? 1;
if (threads !== Number(threadsArg)) { // the build has fewer threads: nothing to measure
  console.log(JSON.stringify({ threads }));
  process.exit(0);
}

async function run(text, maxTokens) {
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

await run(prompt, Number(tokensArg)); // warm-up at full size: V8 tiers up the prompt and decode kernels alike
const runs = [];
for (let r = 0; r < Number(runsArg); r++) runs.push(await run(prompt, Number(tokensArg)));
console.log(JSON.stringify({
  threads,
  promptTokens: model.tokenize(prompt).length,
  ttftMs: median(runs.map((x) => x.ttftMs)),
  tokS: median(runs.map((x) => x.tokS)),
}));
model.dispose();
