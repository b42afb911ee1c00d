// Threads in Chromium: the page's WorkerModel splits the model over helper workers on a shared
// memory (the demo server sends COOP/COEP), with the same tokens and logit bits for 1..4
// threads as Node; a page without cross-origin isolation runs one thread and says why; the
// demo page has a threads control and shows the count in its model status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { openBrowser } from './browser.js';
import { repoRoot } from './helpers.js';

const MODEL = 'models/stories15M-q8_0.gguf';
const GENERATE = { seed: 11, temperature: 0.9, topP: 0.95, maxTokens: 24, logits: true };

let browser;
let page;

before(async () => {
  browser = await openBrowser();
  page = await browser.context.newPage();
});
after(() => browser.close());

/** FNV-1a over the 32-bit words of every step's logits (the same function runs in the page). */
function hashSteps(steps) {
  let h = 0x811c9dc5;
  for (const logits of steps) {
    for (const word of new Uint32Array(logits.buffer, logits.byteOffset, logits.length)) h = Math.imul(h ^ word, 0x01000193) >>> 0;
  }
  return h;
}

async function inPage(url, threadCounts) {
  await page.goto(url);
  return page.evaluate(async ({ model, counts, options, hashSource }) => {
    const hash = new Function(`return ${hashSource}`)();
    const { WorkerModel } = await import('/web/worker-client.js');
    const runs = [];
    for (const threads of counts) {
      const worker = new WorkerModel();
      const info = await worker.load(`/${model}`, { threads });
      const tokens = [];
      const logits = [];
      for await (const step of worker.generate('Once upon a time', options)) {
        tokens.push(step.token);
        logits.push(step.logits);
      }
      worker.terminate();
      runs.push({ threads: info.threads, reason: info.threadsReason, tokens, hash: hash(logits) });
    }
    return { isolated: crossOriginIsolated, runs };
  }, { model: MODEL, counts: threadCounts, options: GENERATE, hashSource: hashSteps.toString() });
}

async function inNode() {
  const model = await loadModel(join(repoRoot, MODEL), { threads: 1 });
  const tokens = [];
  const logits = [];
  for await (const step of model.generate('Once upon a time', GENERATE)) {
    tokens.push(step.token);
    logits.push(step.logits);
  }
  model.dispose();
  return { tokens, hash: hashSteps(logits) };
}

test('Chromium workers: 1, 2, 3 and 4 threads give the tokens and logit bits of Node', async () => {
  const node = await inNode();
  const { isolated, runs } = await inPage(browser.url + 'web/index.js', [1, 2, 3, 4]);
  assert.equal(isolated, true);
  for (const [i, run] of runs.entries()) {
    assert.equal(run.threads, i + 1);
    assert.equal(run.reason, null);
    assert.deepEqual(run.tokens, node.tokens, `tokens with ${run.threads} threads`);
    assert.equal(run.hash, node.hash, `logits with ${run.threads} threads`);
  }
});

test('a page without cross-origin isolation runs one thread and says why', async () => {
  // The same origin, but this document comes without the COOP/COEP headers.
  await page.route('**/plain.html', (route) => route.fulfill({ body: '<!doctype html><title>plain</title>', contentType: 'text/html' }));
  const node = await inNode();
  const { isolated, runs } = await inPage(browser.url + 'plain.html', [2]);
  await page.unroute('**/plain.html');
  assert.equal(isolated, false);
  assert.equal(runs[0].threads, 1);
  assert.match(runs[0].reason, /cross-origin isolated/);
  assert.deepEqual(runs[0].tokens, node.tokens);
});

test('the demo page has a threads control and shows the count in the model status', async () => {
  await page.goto(browser.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  const status = page.getByTestId('model-status');
  assert.match(await status.textContent(), /\b\d+ threads?\b/);
  await page.getByTestId('threads').selectOption('2');
  await page.waitForFunction(() => /Ready: .*\b2 threads\)/.test(document.querySelector('[data-testid=model-status]').textContent));
  await page.getByTestId('threads').selectOption('1');
  await page.waitForFunction(() => /Ready: .*\b1 thread\)/.test(document.querySelector('[data-testid=model-status]').textContent));
});
