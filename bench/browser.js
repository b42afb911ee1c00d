// Sections 4 and 5, in headless Debian Chromium (playwright-core; never a downloaded browser):
// our decode speed through the page's worker (WorkerModel), the demo page's p slider ->
// repainted nucleus view on a 32000-token vocabulary, and wllama (llama.cpp in wasm, one
// thread) decoding the same GGUF files in the same browser, served by bench/server.js.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../wasm_tests/browser.js';
import { median, root } from './lib.js';
import { startBenchServer } from './server.js';

export const BROWSER_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * run(context, url) in headless Debian Chromium on a fresh profile, with the bench server
 * (bench/server.js) at url; the browser, server and profile are gone when it settles.
 */
export async function withBenchChromium(run, { args = BROWSER_ARGS, name = 'chromium' } = {}) {
  const { server, url } = await startBenchServer();
  const profile = mkdtempSync(join(tmpdir(), `nucleus-bench-${name}-`));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args });
    try {
      return await run(context, url);
    } finally {
      await context.close();
    }
  } finally {
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
const PROMPT = 'Once upon a time';
const TOKENS = 128;
const REPEATS = 5;
// Both runtimes decode for this long before timing: Chromium compiles wasm with its baseline
// compiler first and swaps in optimised code in the background (wllama's 8.7 MB module takes
// a while).
const WARM_MS = 1500;
export const BROWSER_MODELS = ['stories15M-q8_0', 'stories15M-f32'];

/** Our decode through web/worker-client.js -> web/worker.js, timed on the page as steps arrive. */
async function oursInWorker(page, model) {
  return page.evaluate(async ({ model, prompt, tokens, repeats, warmMs }) => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const worker = new WorkerModel(new URL('/web/worker.js', location.href));
    const t0 = performance.now();
    const info = await worker.load(new URL(`/models/${model}.gguf`, location.href).href);
    const loadMs = performance.now() - t0;
    const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
    async function run(options, maxTokens) {
      await worker.logits([info.eosId]); // no prefix shared with the prompt: a full prefill
      const start = performance.now();
      let first = 0;
      let last = 0;
      let count = 0;
      for await (const step of worker.generate(prompt, { ...options, seed: 1, maxTokens })) {
        last = performance.now();
        if (count++ === 0) first = last;
        if (step.finishReason) break;
      }
      return { tokS: (count - 1) / ((last - first) / 1000), ttftMs: first - start, wallTokS: count / ((last - start) / 1000), tokens: count };
    }
    for (const start = performance.now(); performance.now() - start < warmMs; ) await run({ temperature: 0 }, 32);
    const result = { loadMs };
    for (const [name, options] of Object.entries({ greedy: { temperature: 0 }, topP: { temperature: 1, topP: 0.9 } })) {
      const runs = [];
      for (let r = 0; r < repeats; r++) runs.push(await run(options, tokens));
      result[name] = Object.fromEntries(['tokS', 'ttftMs', 'wallTokS', 'tokens'].map((k) => [k, median(runs.map((x) => x[k]))]));
    }
    worker.terminate();
    return result;
  }, { model, prompt: PROMPT, tokens: TOKENS, repeats: REPEATS, warmMs: WARM_MS });
}

/**
 * wllama with one thread: its own timings (predicted_per_second) and wall time around each
 * call. Greedy is temperature 0 with top_k 1 (llama.cpp's cheapest greedy); top-p is
 * temperature 1, top_p 0.9 with top_k and min_p off, as ours.
 */
async function wllama(page, model) {
  return page.evaluate(async ({ model, prompt, tokens, repeats, warmMs }) => {
    const { Wllama } = await import('/wllama/index.js');
    const w = new Wllama({ default: new URL('/wllama/wasm/wllama.wasm', location.href).href }, { suppressNativeLog: true });
    const blob = await (await fetch(`/models/${model}.gguf`)).blob();
    const t0 = performance.now();
    await w.loadModel([blob], { n_threads: 1, n_gpu_layers: 0, n_ctx: 256 });
    const loadMs = performance.now() - t0;
    const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
    async function run(options, maxTokens) {
      const start = performance.now();
      const res = await w.createCompletion({ prompt, max_tokens: maxTokens, ignore_eos: true, cache_prompt: false, seed: 1, top_k: 0, min_p: 0, ...options });
      const wallMs = performance.now() - start;
      const t = res.timings;
      return { tokS: t.predicted_per_second, ttftMs: t.prompt_ms, wallTokS: t.predicted_n / (wallMs / 1000), tokens: t.predicted_n };
    }
    for (const start = performance.now(); performance.now() - start < warmMs; ) await run({ temperature: 0, top_k: 1 }, 32);
    const result = { loadMs, threads: w.getNumThreads(), multithread: w.isMultithread() };
    for (const [name, options] of Object.entries({ greedy: { temperature: 0, top_k: 1 }, topP: { temperature: 1, top_p: 0.9 } })) {
      const runs = [];
      for (let r = 0; r < repeats; r++) runs.push(await run(options, tokens));
      result[name] = Object.fromEntries(['tokS', 'ttftMs', 'wallTokS', 'tokens'].map((k) => [k, median(runs.map((x) => x[k]))]));
    }
    await w.exit();
    return result;
  }, { model, prompt: PROMPT, tokens: TOKENS, repeats: REPEATS, warmMs: WARM_MS });
}

/**
 * The demo page with stories15M Q8_0 (32000 tokens) loaded through its file input: after a
 * few generated tokens, the p slider is dragged with the mouse and each input event is timed
 * to the frame that shows it: handlers (the page redraws the nucleus synchronously) + style
 * and layout, then the next frame's paint (a message posted from requestAnimationFrame
 * arrives after that frame is rendered). work excludes the wait for the frame to start;
 * latency includes it.
 */
async function sliderRepaint(page, url, moves = 30) {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=model-status]')?.dataset.state !== 'loading');
  await page.setInputFiles('[data-testid=model-file]', join(root, 'models/stories15M-q8_0.gguf'));
  await page.waitForFunction(() => /^Ready: stories15M-q8_0\.gguf/.test(document.querySelector('[data-testid=model-status]').textContent), null, { timeout: 60000 });
  await page.fill('[data-testid=max-tokens]', '4');
  await page.fill('[data-testid=temperature]', '1');
  await page.fill('[data-testid=top-p]', '0.9');
  await page.click('[data-testid=generate]');
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('[data-testid=output]').children.length >= 4);
  const vocab = Number(await page.textContent('[data-testid=vocab-size]'));
  await page.evaluate(() => {
    const slider = document.querySelector('[data-testid=top-p]');
    window.benchMoves = [];
    let t0 = 0;
    window.addEventListener('input', (e) => { if (e.target === slider) t0 = performance.now(); }, true);
    document.addEventListener('input', (e) => {
      if (e.target !== slider) return;
      const t1 = performance.now();
      document.body.getBoundingClientRect(); // style and layout now, as the frame would
      const t2 = performance.now();
      const value = slider.value;
      requestAnimationFrame(() => {
        const frame = performance.now();
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          const t3 = performance.now();
          window.benchMoves.push({ value, handlerMs: t1 - t0, layoutMs: t2 - t1, paintMs: t3 - frame, workMs: t2 - t0 + (t3 - frame), latencyMs: t3 - t0 });
        };
        channel.port2.postMessage(0);
      });
    });
  });
  // The page is taller than the viewport: mouse coordinates only reach what is on screen. The
  // page may still be laying out what the generation added above the slider (a box measured
  // too early put the drag on the card around it, and no move reached the slider): measure
  // until the slider is what the mouse would press.
  const slider = page.locator('[data-testid=top-p]');
  const thumbX = (b, p) => b.x + 8 + p * (b.width - 16); // the thumb's centre for value p
  let box = null;
  for (let tries = 0; tries < 50 && !box; tries++) {
    await slider.scrollIntoViewIfNeeded();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const b = await slider.boundingBox();
    const hit = b && await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.dataset.testid, [thumbX(b, 0.9), b.y + b.height / 2]);
    if (hit === 'top-p') box = b;
  }
  if (!box) return null; // printed as not measured
  const y = box.y + box.height / 2;
  const xAt = (p) => thumbX(box, p);
  await page.mouse.move(xAt(0.9), y);
  await page.mouse.down();
  for (let i = 1; i <= moves + 3; i++) {
    const before = await page.evaluate(() => window.benchMoves.length);
    await page.mouse.move(xAt(0.9 - i * 0.02), y);
    await page.waitForFunction((n) => window.benchMoves.length > n, before, { timeout: 5000 }).catch(() => {});
  }
  await page.mouse.up();
  const all = await page.evaluate(() => window.benchMoves);
  const timed = all.slice(3); // the first moves warm up
  if (timed.length === 0) return null; // no move reached the page: printed as not measured
  const pick = (k) => median(timed.map((m) => m[k]));
  return {
    vocab, moves: timed.length, nucleusSize: Number(await page.textContent('[data-testid=nucleus-size]')),
    handlerMs: pick('handlerMs'), layoutMs: pick('layoutMs'), paintMs: pick('paintMs'), workMs: pick('workMs'), latencyMs: pick('latencyMs'),
  };
}

export function runBrowser(log = () => {}) {
  return withBenchChromium(async (context, url) => {
    const result = { chromium: context.browser()?.version() ?? null, ours: {}, wllama: {}, wllamaError: null };
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(url + 'bench/blank.html');
    result.chromium ??= await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/([\d.]+)/)?.[2] ?? null);
    for (const model of BROWSER_MODELS) {
      log(`   ours in the worker: ${model}...`);
      result.ours[model] = await oursInWorker(page, model);
    }
    log('   demo page: p slider -> repaint...');
    result.slider = await sliderRepaint(page, url);
    for (const model of BROWSER_MODELS) {
      log(`   wllama: ${model}...`);
      const peer = await context.newPage(); // a fresh page per wllama instance
      await peer.goto(url + 'bench/blank.html');
      try {
        result.wllama[model] = await wllama(peer, model);
      } catch (error) {
        result.wllamaError = `wllama could not run ${model}: ${error.message.split('\n')[0]}`;
      } finally {
        await peer.close();
      }
    }
    return result;
  });
}

export function printBrowser(r) {
  console.log(`\n4. In the browser: headless Chromium ${r.chromium ?? ''}, decode through the page's Web Worker (WorkerModel), ${TOKENS} tokens x ${REPEATS} runs`);
  console.log('model              greedy tok/s  top-p tok/s  TTFT ms  load ms');
  for (const [model, o] of Object.entries(r.ours)) {
    console.log(`${model.padEnd(18)} ${o.greedy.tokS.toFixed(1).padStart(12)} ${o.topP.tokS.toFixed(1).padStart(12)} ${o.greedy.ttftMs.toFixed(1).padStart(8)} ${o.loadMs.toFixed(0).padStart(8)}`);
  }
  const s = r.slider;
  if (!s) {
    console.log('   demo page, p slider: no dragged move reached the page, not measured in this run');
  } else {
    console.log(`   demo page, p slider -> nucleus view repainted (vocab ${s.vocab}, nucleus ${s.nucleusSize} at the end), median of ${s.moves} mouse moves:`);
    console.log(`   work ${s.workMs.toFixed(1)} ms (handlers ${s.handlerMs.toFixed(1)} + style/layout ${s.layoutMs.toFixed(1)} + frame paint ${s.paintMs.toFixed(1)}); input -> painted frame ${s.latencyMs.toFixed(1)} ms (includes the wait for the next frame)`);
  }

  console.log('\n5. Peer in the same run: wllama (llama.cpp wasm, n_threads 1), same GGUF files, same browser; its own timings (predicted_per_second)');
  if (r.wllamaError) console.log(`   ${r.wllamaError}`);
  console.log('model              wllama greedy  ours  ours/wllama | wllama top-p  ours  ours/wllama | wllama TTFT ms  load ms');
  for (const [model, w] of Object.entries(r.wllama)) {
    const o = r.ours[model];
    console.log(
      `${model.padEnd(18)} ${w.greedy.tokS.toFixed(1).padStart(13)} ${o.greedy.tokS.toFixed(1).padStart(5)} ${(o.greedy.tokS / w.greedy.tokS).toFixed(2).padStart(11)}x |` +
      ` ${w.topP.tokS.toFixed(1).padStart(12)} ${o.topP.tokS.toFixed(1).padStart(5)} ${(o.topP.tokS / w.topP.tokS).toFixed(2).padStart(11)}x | ${w.greedy.ttftMs.toFixed(1).padStart(14)} ${w.loadMs.toFixed(0).padStart(8)}`,
    );
  }
}
