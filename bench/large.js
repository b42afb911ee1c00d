// Section 7: a real-size model, the random-weight Llama-3.2-1B Q4_K_M from `make models-large`
// (0.8 GB). In Node through the public API, and in headless Chromium through the demo page's
// file input (its progress bar, then Generate) and the library on a page: load time, peak
// wasm memory against file + run state + 64 MiB (issue 12), decode tok/s. Each measurement runs
// on a module of its own, whose memory (it never shrinks) is then the peak.
//   node bench/large.js node   prints the Node figures as JSON (run.js starts it as a child, so
//                              the 1 GB module goes away with it)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { root } from './lib.js';

export const LARGE_MODEL = 'models/llama3.2-1b-q4_k_m.gguf';
const PROMPT = 'Once upon a time';
const TOKENS = 32;
const MiB = 2 ** 20;

/**
 * Runs in Node and on the page alike (page.evaluate gets its source): loads source on a fresh
 * module, then decodes TOKENS greedily and with top-p 0.9; tok/s over the tokens after the
 * first (the first waits for the prompt's prefill, whole each time).
 */
async function measure({ indexUrl, source, fileInput, prompt, tokens, instance }) {
  const { loadModel, memoryUsage } = await import(indexUrl);
  source ??= document.querySelector(fileInput).files[0];
  const wasmUrl = new URL(`./dist/nucleus-simd.wasm?large-${instance}`, indexUrl).href;
  const progress = [];
  const t0 = performance.now();
  const model = await loadModel(source, { wasmUrl, onProgress: ({ loaded, total }) => progress.push(loaded / total) });
  const loadMs = performance.now() - t0;
  async function run(options, maxTokens = tokens) {
    model.logits([model.info.eosId]); // no prefix shared with the prompt: a full prefill
    const start = performance.now();
    let first = 0;
    let last = 0;
    let count = 0;
    for await (const step of model.generate(prompt, { ...options, seed: 1, maxTokens })) {
      last = performance.now();
      if (count++ === 0) first = last;
      if (step.finishReason) break;
    }
    return { tokS: (count - 1) / ((last - first) / 1000), ttftMs: first - start, tokens: count };
  }
  await run({ temperature: 0 }, 2); // lets the engine tier the hot code up
  const greedy = await run({ temperature: 0 });
  const topP = await run({ temperature: 1, topP: 0.9 });
  const { bytes, stateBytes, parameters, tensorTypes, simd } = model.info;
  const { memoryBytes } = await memoryUsage({ wasmUrl });
  model.dispose();
  return {
    loadMs, greedy, topP, bytes, stateBytes, parameters, tensorTypes, simd, peakBytes: memoryBytes,
    progressReports: progress.length, progressLast: progress.at(-1) ?? 0,
  };
}

function nodeFigures() {
  const child = spawnSync(process.execPath, [join(root, 'bench/large.js'), 'node'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`bench/large.js node failed: ${child.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return JSON.parse(child.stdout);
}

/**
 * The demo page: the file goes in through data-testid="model-file"; the progress bar's values
 * are recorded as the page sets them, load time is from the input's change event to the
 * "Ready" status; then, once the page has cached the file, Generate with top-p 0.9 and the
 * page's own "ms per token" (an average over the steps, the first of which holds the prefill).
 */
async function demoPage(page, url, file) {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=model-status]')?.dataset.state !== 'loading');
  await page.evaluate(() => {
    const bar = document.querySelector('[data-testid=model-progress]');
    const status = document.querySelector('[data-testid=model-status]');
    window.largeBench = { values: [], start: 0, ready: 0 };
    document.querySelector('[data-testid=model-file]').addEventListener('change', () => { window.largeBench.start = performance.now(); });
    new MutationObserver(() => {
      if (!bar.hidden) window.largeBench.values.push(bar.value);
    }).observe(bar, { attributes: true });
    new MutationObserver(() => {
      if (status.dataset.state === 'ready' && !window.largeBench.ready) window.largeBench.ready = performance.now();
    }).observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
  });
  const name = basename(file);
  await page.setInputFiles('[data-testid=model-file]', file);
  await page.waitForFunction((n) => document.querySelector('[data-testid=model-status]').textContent.startsWith(`Ready: ${n}`), name, { timeout: 600000 });
  const load = await page.evaluate(() => window.largeBench);
  // The page then copies the file into its model cache; generating meanwhile would time the
  // disk as well.
  await page.waitForFunction((n) => document.querySelector('[data-testid=model-cache]').textContent.includes(n) ||
    document.querySelector('[data-testid=model-cache-usage]').textContent.startsWith('Not cached'), name, { timeout: 300000 });
  await page.fill('[data-testid=max-tokens]', String(TOKENS));
  await page.fill('[data-testid=temperature]', '1');
  await page.fill('[data-testid=top-p]', '0.9');
  await page.click('[data-testid=generate]');
  await page.waitForFunction(() => /ms per token/.test(document.querySelector('[data-testid=gen-status]').textContent), null, { timeout: 600000 });
  const status = await page.textContent('[data-testid=gen-status]');
  const msPerToken = Number(status.match(/([\d.]+) ms per token/)?.[1]);
  const inFlight = load.values.filter((v) => v > 0 && v < 1);
  return {
    loadMs: load.ready - load.start, progressValues: load.values.length, progressInFlight: inFlight.length,
    progressMax: Math.max(0, ...load.values), genStatus: status, tokS: 1000 / msPerToken,
  };
}

/** The library on a page (main thread), the file picked through an input as a user would. */
async function libraryPage(page, url, file) {
  await page.goto(url + 'bench/blank.html');
  await page.evaluate(() => {
    const input = Object.assign(document.createElement('input'), { type: 'file', id: 'large' });
    document.body.append(input);
  });
  await page.setInputFiles('#large', file);
  const indexUrl = new URL('/web/index.js', url).href;
  return page.evaluate(measure, { indexUrl, fileInput: '#large', prompt: PROMPT, tokens: TOKENS, instance: 'page' });
}

async function browserFigures(file, log) {
  const { withBenchChromium } = await import('./browser.js');
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'];
  return withBenchChromium(async (context, url) => {
    log('   Chromium: the demo page, file input...');
    const demo = await demoPage(await context.newPage(), url, file);
    log('   Chromium: the library on a page...');
    const page = await context.newPage();
    const library = await libraryPage(page, url, file);
    const chromiumVersion = await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/([\d.]+)/)?.[2] ?? null);
    return { chromium: chromiumVersion, demo, library };
  }, { args, name: 'large' });
}

/** The section: { skipped } when the model file is missing, else { node, browser }. */
export async function runLarge(log = () => {}) {
  const file = join(root, LARGE_MODEL);
  if (!existsSync(file)) return { skipped: `${LARGE_MODEL} is missing (make models-large makes it, about 0.8 GB)` };
  log('   Node: load and decode...');
  const node = nodeFigures();
  let browser;
  try {
    browser = await browserFigures(file, log);
  } catch (error) {
    browser = { error: error.message.split('\n')[0] };
  }
  return { model: LARGE_MODEL, node, browser };
}

function memoryLine(where, r) {
  const over = (r.peakBytes - r.bytes - r.stateBytes) / MiB;
  const bound = r.bytes + r.stateBytes + 64 * MiB;
  return `   ${where}: peak wasm memory ${(r.peakBytes / MiB).toFixed(1)} MiB = file ${(r.bytes / MiB).toFixed(1)} + run state ${(r.stateBytes / MiB).toFixed(1)} + ${over.toFixed(1)} MiB ` +
    `(${r.peakBytes <= bound ? 'within' : 'OVER'} the bound of +64 MiB)`;
}

export function printLarge(r) {
  console.log(`\n7. A real-size model: ${LARGE_MODEL} (random weights at Llama-3.2-1B's shape, Q4_K_M)`);
  if (r.skipped) return console.log(`   skipped: ${r.skipped}`);
  const n = r.node;
  console.log(`   ${(n.parameters / 1e9).toFixed(2)}B parameters, ${n.tensorTypes}; ${TOKENS} tokens after "${PROMPT}", tok/s after the first token`);
  console.log('where                          load ms  greedy tok/s  top-p tok/s  TTFT ms');
  const row = (where, x) => console.log(`${where.padEnd(30)} ${x.loadMs.toFixed(0).padStart(7)} ${x.greedy.tokS.toFixed(2).padStart(13)} ${x.topP.tokS.toFixed(2).padStart(12)} ${x.greedy.ttftMs.toFixed(0).padStart(8)}`);
  row(`Node ${process.version} (path)`, n);
  const b = r.browser;
  if (b.error) console.log(`   Chromium: ${b.error}`);
  else row(`Chromium ${b.chromium} (File)`, b.library);
  console.log(memoryLine('Node', n));
  if (b.error) return;
  console.log(memoryLine('Chromium', b.library));
  const d = b.demo;
  console.log(`   demo page, file input: ready after ${d.loadMs.toFixed(0)} ms; progress bar set ${d.progressValues} times (${d.progressInFlight} between 0 and 1, last ${d.progressMax}); ` +
    `Generate top-p 0.9: "${d.genStatus}" (${d.tokS.toFixed(2)} tok/s)`);
}

if (process.argv[2] === 'node') {
  const result = await measure({
    indexUrl: new URL('../web/index.js', import.meta.url).href, source: join(root, LARGE_MODEL),
    prompt: PROMPT, tokens: TOKENS, instance: 'node',
  });
  process.stdout.write(JSON.stringify(result) + '\n');
}
