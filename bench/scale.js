// Section 8: the stories110M shape (random weights, llama SPM vocab) in Q8_0, Q4_0 and Q4_K_M, at
// 1 and 2 threads: a 256-token prompt (time to first token) then greedy decode. Ours in headless
// Chromium (the page's worker, WorkerModel.load(url, { threads })), in Node (loadModel(path,
// { threads }), bench/scale_node.js) and native (the reference), each with the runs of its
// thread counts interleaved: on a shared machine a slow spell then falls on both sides of the
// 2-thread / 1-thread ratio, not on one. Ours loads its models LOADS times afresh, and a figure
// is the median of the loads' medians of RUNS runs: on this VM one load can run 20-30% faster
// or slower than the next for all its runs, so a single load decides a ratio by luck;
// wllama (llama.cpp in wasm) in the same browser with n_threads 1 and 2 on a cross-origin-
// isolated page (its multi-thread build needs SharedArrayBuffer). Next to decode, the physical
// limit: weight bytes read per token x tok/s against the machine's copy bandwidth; under each
// model, what two cores give at all (coreCeiling), the bound of the 2-thread / 1-thread ratios.
import { execFile, execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { loadTokenizer } from '../web/index.js';
import { withBenchChromium } from './browser.js';
import { median, root } from './lib.js';
import { weightBytesPerToken } from './weights.js';

const execFileAsync = promisify(execFile);

export const SCALE_MODELS = ['stories110M-q8_0', 'stories110M-q4_0', 'stories110M-q4_k_m'];
const PROMPT_TOKENS = 256;
const TOKENS = 64; // decoded after the prompt; the first comes with the prompt (TTFT)
const RUNS = 3; // per load; the thread counts' runs interleave (see oursInBrowser)
const LOADS = 3; // ours: fresh loads of each thread count's model
const WLLAMA_RUNS = 5;
const CEILING_ROUNDS = 3; // of coreCeiling's alone, alone, both at once
const THREADS = [1, 2];
const BANDWIDTH_MIB = 256; // per buffer: 8x the 32 MiB L3 of the machine the README names
const PASSAGE = ('Once upon a time, there was a little girl named Lily. She loved to play outside in the park with ' +
  'her big red ball. One day, she saw a small bird sitting on a branch. The bird looked sad and alone. Lily ' +
  'wanted to help the bird, so she asked her mom for some bread. They gave the bird the bread and it sang a ' +
  'happy song. ').split(' ');

/** The passage's first words (repeated as needed) whose tokens, BOS included, first reach n. */
export function promptOf(tokenize, n) {
  const words = [];
  for (let i = 0; ; i++) {
    words.push(PASSAGE[i % PASSAGE.length]);
    const text = words.join(' ');
    if (tokenize(text).length >= n) return text;
  }
}

/**
 * A program that runs every thread count in one process and prints a JSON line per count, run
 * LOADS times (a fresh process each): acrossLoads of pick(line) per count.
 */
function processLoads(file, args, options, pick = (line) => line) {
  return acrossLoads(Array.from({ length: LOADS }, () => {
    const out = execFileSync(file, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20, ...options });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    return Object.fromEntries(THREADS.map((t, i) => [t, pick(lines[i])]));
  }));
}

/** Ours in Node at every thread count, interleaved in one process per load: { [threads asked]: result }. */
function nodeRuns(model, prompt) {
  return processLoads(process.execPath, ['bench/scale_node.js', `models/${model}.gguf`, THREADS.join(','), String(TOKENS), String(RUNS)],
    { input: prompt });
}

/**
 * The figures of LOADS fresh loads (each { [threads]: { threads, ttftMs, tokS, ... } }) in one:
 * per thread count, the median of the loads' figures and every load's decode tok/s (loadsTokS).
 */
function acrossLoads(loads) {
  return Object.fromEntries(THREADS.map((t) => {
    const got = loads.map((l) => l[t]).filter((r) => r.tokS !== undefined);
    if (got.length === 0) return [t, loads[0][t]]; // this build runs fewer threads
    return [t, { ...got[0], ttftMs: median(got.map((r) => r.ttftMs)), tokS: median(got.map((r) => r.tokS)), loadsTokS: got.map((r) => r.tokS) }];
  }));
}

/** Native (the reference) at every thread count, interleaved in one process per load. */
function nativeRuns(model, prompt) {
  return processLoads(root + 'build/bench_native', ['decode', `models/${model}.gguf`, String(TOKENS), String(RUNS), prompt, THREADS.join(',')],
    {}, (r) => ({ threads: r.threads, promptTokens: r.promptTokens, ttftMs: r.greedy.ttftMs, tokS: r.greedy.tokS }));
}

/**
 * What two cores of this machine give at all, for the 2-thread / 1-thread ratios: the native
 * 1-thread run pinned to core 0 alone, to core 1 alone, then to both at once (two processes).
 * Ceiling: their tok/s (prompt: tokens per TTFT) summed, over the faster alone; the median of
 * CEILING_ROUNDS such rounds (figures printed: medians per core). A VM's cores need not be
 * equal, and two threads get no more than both cores give together.
 */
async function coreCeiling(model, prompt) {
  if (availableParallelism() < 2) return null;
  const run = (cpu) => execFileAsync('taskset', ['-c', String(cpu), root + 'build/bench_native', 'decode', `models/${model}.gguf`,
    String(TOKENS), String(RUNS), prompt, '1'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 })
    .then(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop()).greedy);
  const rounds = [];
  for (let i = 0; i < CEILING_ROUNDS; i++) rounds.push({ alone: [await run(0), await run(1)], both: await Promise.all([run(0), run(1)]) });
  // per round: both cores' sum over the faster alone; the figure is the median round's
  const ratioOf = (f) => median(rounds.map((r) => (f(r.both[0]) + f(r.both[1])) / Math.max(f(r.alone[0]), f(r.alone[1]))));
  const med = (pick, core, key) => median(rounds.map((r) => r[pick][core][key]));
  return {
    alone: [0, 1].map((c) => ({ tokS: med('alone', c, 'tokS'), ttftMs: med('alone', c, 'ttftMs') })),
    both: [0, 1].map((c) => ({ tokS: med('both', c, 'tokS'), ttftMs: med('both', c, 'ttftMs') })),
    decode: ratioOf((g) => g.tokS), prompt: ratioOf((g) => 1 / g.ttftMs),
  };
}

function bandwidth() {
  return JSON.parse(execFileSync(root + 'build/bench_native', ['bandwidth', String(BANDWIDTH_MIB)], { encoding: 'utf8' }).trim());
}

/**
 * Ours in page workers (WorkerModel.load(url, { threads })), one per thread count, their runs
 * interleaved, loaded LOADS times: { [threads asked]: result }. TTFT is the time to the first
 * step (or its promptMs when reported).
 */
async function oursInBrowser(page, model, prompt) {
  const loads = [];
  for (let i = 0; i < LOADS; i++) loads.push(await oursInBrowserOnce(page, model, prompt));
  return acrossLoads(loads);
}

async function oursInBrowserOnce(page, model, prompt) {
  return page.evaluate(async ({ model, counts, prompt, tokens, runs }) => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const workers = [];
    try {
      const loaded = [];
      for (const threads of counts) {
        const worker = new WorkerModel(new URL('/web/worker.js', location.href));
        workers.push(worker);
        const info = await worker.load(new URL(`/models/${model}.gguf`, location.href).href, { threads });
        if ((info.threads ?? 1) === threads) loaded.push({ worker, info, threads, all: [] }); // else fewer in this build
      }
      const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
      async function run({ worker, info }, text, maxTokens) {
        await worker.logits([info.eosId]); // no prefix shared with the prompt: a full prefill
        const start = performance.now();
        let first = 0, last = 0, count = 0, promptMs;
        for await (const step of worker.generate(text, { temperature: 0, seed: 1, maxTokens })) {
          last = performance.now();
          if (count++ === 0) first = last, promptMs = step.promptMs;
          if (step.finishReason) break;
        }
        return { ttftMs: promptMs ?? first - start, tokS: (count - 1) / ((last - first) / 1000) };
      }
      for (const m of loaded) await run(m, prompt, tokens); // warm-up at full size: V8 tiers up the prompt and decode kernels alike
      for (let r = 0; r < runs; r++) for (const m of loaded) m.all.push(await run(m, prompt, tokens));
      const out = Object.fromEntries(counts.map((t) => [t, { threads: 1 }]));
      for (const m of loaded) {
        out[m.threads] = { threads: m.threads, relaxedSimd: m.info.relaxedSimd, ttftMs: median(m.all.map((x) => x.ttftMs)), tokS: median(m.all.map((x) => x.tokS)) };
      }
      return out;
    } finally {
      for (const w of workers) w.terminate();
    }
  }, { model, counts: THREADS, prompt, tokens: TOKENS, runs: RUNS });
}

/** wllama with n_threads: its own timings (prompt_ms, predicted_per_second). */
async function wllamaInBrowser(page, model, threads, prompt) {
  return page.evaluate(async ({ model, threads, prompt, tokens, runs }) => {
    const { Wllama } = await import('/wllama/index.js');
    const w = new Wllama({ default: new URL('/wllama/wasm/wllama.wasm', location.href).href }, { suppressNativeLog: true });
    const blob = await (await fetch(`/models/${model}.gguf`)).blob();
    await w.loadModel([blob], { n_threads: threads, n_gpu_layers: 0, n_ctx: 512, n_batch: 512 });
    try {
      const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
      async function run(text, maxTokens) {
        const res = await w.createCompletion({ prompt: text, max_tokens: maxTokens, ignore_eos: true, cache_prompt: false, seed: 1, temperature: 0, top_k: 1 });
        const t = res.timings;
        return { ttftMs: t.prompt_ms, tokS: t.predicted_per_second, promptTokens: t.prompt_n };
      }
      await run(prompt, tokens); // the same full-size warm-up as ours
      const all = [];
      for (let r = 0; r < runs; r++) all.push(await run(prompt, tokens));
      return {
        threads: w.getNumThreads(), multithread: w.isMultithread(), crossOriginIsolated: self.crossOriginIsolated,
        promptTokens: all[0].promptTokens, ttftMs: median(all.map((x) => x.ttftMs)), tokS: median(all.map((x) => x.tokS)),
      };
    } finally {
      await w.exit();
    }
  }, { model, threads, prompt, tokens: TOKENS, runs: WLLAMA_RUNS });
}

function browserRuns(prompts, log) {
  return withBenchChromium(async (context, url) => {
    const out = { ours: {}, wllama: {}, errors: [] };
    for (const model of SCALE_MODELS) {
      out.wllama[model] = {};
      const jobs = [['ours', null, oursInBrowser], ...THREADS.map((t) => ['wllama', t, wllamaInBrowser])];
      for (const [who, threads, fn] of jobs) {
        log(`   browser, ${who}: ${model}, ${threads ?? THREADS.join(' and ')} thread(s)...`);
        const page = await context.newPage(); // a fresh page per instance
        try {
          await page.goto(url + 'bench/blank.html');
          if (who === 'ours') out.ours[model] = await fn(page, model, prompts[model]);
          else out.wllama[model][threads] = await fn(page, model, threads, prompts[model]);
        } catch (error) {
          out.errors.push(`${who} ${model} ${threads ?? THREADS.join('+')} thread(s): ${error.message.split('\n')[0]}`);
        } finally {
          await page.close();
        }
      }
    }
    return out;
  });
}

export async function runScale(log = () => {}) {
  const result = { promptTokens: PROMPT_TOKENS, tokens: TOKENS, runs: RUNS, loads: LOADS, wllamaRuns: WLLAMA_RUNS, models: {}, bandwidth: bandwidth() };
  const prompts = {};
  for (const model of SCALE_MODELS) {
    const tok = await loadTokenizer(root + `models/${model}.gguf`);
    prompts[model] = promptOf((text) => tok.encode(text), PROMPT_TOKENS);
    const promptTokens = tok.encode(prompts[model]).length;
    tok.dispose();
    const row = { promptTokens, weightBytes: weightBytesPerToken(root + `models/${model}.gguf`), native: {}, node: {} };
    log(`   native: ${model}, ${THREADS.join(' and ')} threads...`);
    row.native = nativeRuns(model, prompts[model]);
    log(`   node: ${model}, ${THREADS.join(' and ')} threads...`);
    row.node = nodeRuns(model, prompts[model]);
    log(`   native: ${model}, 1 thread pinned to each core, alone and both at once...`);
    row.cores = await coreCeiling(model, prompts[model]);
    result.models[model] = row;
  }
  result.browser = await browserRuns(prompts, log);
  return result;
}

const f = (x, d = 1) => (x == null || !Number.isFinite(x) ? '-' : x.toFixed(d));
const ratio = (a, b) => (a == null || b == null ? null : a / b);
const fx = (x) => (x == null ? '-' : `${x.toFixed(2)}x`);

/** Our figures for a runtime and thread count, or null when the build ran fewer threads. */
function cell(runs, threads) {
  const r = runs?.[threads];
  return r && r.threads === threads ? r : null;
}

export function printScale(r) {
  const bw = r.bandwidth;
  console.log(`\n8. stories110M shape, ${r.promptTokens}-token prompt then ${r.tokens} greedy tokens; ours: the median of ${r.loads} fresh loads' medians of ${r.runs} runs, wllama: the median of ${r.wllamaRuns} runs; memory bandwidth: memcpy of 2 x ${bw.mib} MiB, ${f(bw.gbS)} GB/s (read + write)`);
  console.log('   TTFT = the prompt prefilled + the first token (ours: to the first step; wllama: its prompt_ms). "-": that thread count is not in this build.');
  console.log('   limit: weight bytes per token x decode tok/s, as a fraction of the copy bandwidth');
  console.log('model               where        thr | decode tok/s  wllama  ours/wl | TTFT ms   wllama  ours/wl | GB/s of weights  of bandwidth | decode tok/s of each load');
  for (const [model, m] of Object.entries(r.models)) {
    const b = r.browser;
    const rows = [
      ['native', m.native, null],
      ['node', m.node, null],
      ['chromium', b.ours[model], b.wllama[model]],
    ];
    for (const [where, runs, peer] of rows) {
      for (const threads of THREADS) {
        const o = cell(runs, threads);
        const w = peer?.[threads];
        const gb = o ? (m.weightBytes * o.tokS) / 1e9 : null;
        console.log(
          `${model.padEnd(19)} ${where.padEnd(12)} ${threads} | ${f(o?.tokS).padStart(12)} ${f(w?.tokS).padStart(7)} ${fx(ratio(o?.tokS, w?.tokS)).padStart(8)} |` +
          ` ${f(o?.ttftMs, 0).padStart(7)} ${f(w?.ttftMs, 0).padStart(8)} ${fx(ratio(o?.ttftMs, w?.ttftMs)).padStart(8)} | ${f(gb, 2).padStart(15)} ${(gb == null ? '-' : `${((100 * gb) / bw.gbS).toFixed(0)}%`).padStart(13)} |` +
          ` ${o?.loadsTokS?.map((v) => f(v)).join(' / ') ?? '-'}`,
        );
      }
    }
    const wl = b.wllama[model]?.[2];
    const build = b.ours[model]?.[1]?.relaxedSimd ? 'relaxed SIMD' : 'SIMD128';
    const c = m.cores;
    if (c) {
      const both = (f) => `${f(c.both[0])} + ${f(c.both[1])}`, tok = (x) => f(x.tokS), ttft = (x) => f(x.ttftMs, 0);
      console.log(`${''.padEnd(19)} the cores' own 2-thread ceiling (native, 1 thread pinned to each, median of ${CEILING_ROUNDS} rounds): decode ${fx(c.decode)} (core 0 alone ${tok(c.alone[0])}, core 1 alone ${tok(c.alone[1])}, both at once ${both(tok)} tok/s), prompt ${fx(c.prompt)} (TTFT ${ttft(c.alone[0])}, ${ttft(c.alone[1])}, both at once ${both(ttft)} ms)`);
    }
    console.log(`${''.padEnd(19)} ours in Chromium: the ${build} build; weights ${(m.weightBytes / 2 ** 20).toFixed(1)} MiB/token; prompt ${m.promptTokens} tokens (wllama's count ${b.wllama[model]?.[1]?.promptTokens ?? '-'}); wllama 2 threads: multithread ${wl?.multithread ?? '-'}, crossOriginIsolated ${wl?.crossOriginIsolated ?? '-'}`);
  }
  for (const e of r.browser.errors) console.log(`   error: ${e}`);
}

/** The issue's targets at this scale, for run.js's list. */
export function scaleTargets(r, add) {
  for (const [model, m] of Object.entries(r.models)) {
    const b = r.browser;
    for (const threads of THREADS) {
      const o = cell(b.ours[model], threads);
      const w = b.wllama[model]?.[threads];
      add(`${model} decode, chromium, ${threads} thr: ours / wllama`, ratio(o?.tokS, w?.tokS), '>= 1.5x', 'x', (v) => v >= 1.5);
      add(`${model} TTFT ${r.promptTokens} tok, chromium, ${threads} thr: ours / wllama`, ratio(o?.ttftMs, w?.ttftMs), '<= 0.5x', 'x', (v) => v <= 0.5);
    }
    const bound = (key) => (m.cores ? ` (the cores' ceiling ${fx(m.cores[key])})` : '');
    for (const [where, runs] of [['chromium', b.ours[model]], ['node', m.node]]) {
      const one = cell(runs, 1), two = cell(runs, 2);
      add(`${model} decode, ${where}: ours 2 thr / 1 thr${bound('decode')}`, ratio(two?.tokS, one?.tokS), '>= 1.6x', 'x', (v) => v >= 1.6);
      add(`${model} prompt, ${where}: ours 1 thr / 2 thr TTFT${bound('prompt')}`, ratio(one?.ttftMs, two?.ttftMs), '>= 1.8x', 'x', (v) => v >= 1.8);
    }
  }
}
