// The model runtime in Chromium, through the page's Web Worker: the same tokens as the native
// build for the same seed, and cancellation that leaves the worker usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.js';
import { repoRoot, sharedDir } from './helpers.js';

const GGUF = join(sharedDir, 'models/stories260K/stories260K.gguf');
const SETTINGS = { temperature: 0.9, topP: 0.9, topK: 0, minP: 0, seed: 2024 };

let browser;
let page;

before(async () => {
  browser = await openBrowser();
  page = await browser.context.newPage();
  // Serve the shared model under a URL of the test's own (the demo server only serves models/).
  const body = readFileSync(GGUF);
  await page.route('**/test/stories260K.gguf', (route) => route.fulfill({ body, contentType: 'application/octet-stream' }));
  await page.goto(browser.url + 'web/index.js');
});
after(() => browser.close());

test('Chromium worker, Node and native draw the same tokens for a seed', async () => {
  const args = [GGUF, '-', 'Once upon a time', '80', ...['temperature', 'topP', 'topK', 'minP', 'seed'].map((k) => SETTINGS[k])].map(String);
  const native = execFileSync(join(repoRoot, 'build/nucleus_generate'), args, { encoding: 'utf8' }).trim().split(' ').map(Number);
  const inPage = await page.evaluate(async (settings) => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const worker = new WorkerModel();
    await worker.load('/test/stories260K.gguf');
    const tokens = [];
    for await (const step of worker.generate('Once upon a time', { ...settings, maxTokens: 80 })) tokens.push(step.token);
    worker.terminate();
    return tokens;
  }, SETTINGS);
  assert.deepEqual(inPage, native);
});

test("a worker given the page's compiled runtime fetches no wasm of its own; same tokens", async () => {
  await page.evaluate(async () => {
    const { compileRuntime } = await import('/web/index.js');
    window.runtime = await compileRuntime();
  });
  const generate = (useRuntime) => page.evaluate(async ({ settings, useRuntime }) => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const worker = new WorkerModel(undefined, useRuntime ? { runtime: window.runtime } : {});
    const info = await worker.load('/test/stories260K.gguf');
    const tokens = [];
    for await (const step of worker.generate('Once upon a time', { ...settings, maxTokens: 20 })) tokens.push(step.token);
    worker.terminate();
    return { tokens, simd: info.simd, relaxedSimd: info.relaxedSimd };
  }, { settings: SETTINGS, useRuntime });
  const fetched = [];
  const onRequest = (request) => { if (request.url().endsWith('.wasm')) fetched.push(request.url()); };
  page.on('request', onRequest);
  try {
    const shared = await generate(true);
    assert.deepEqual(fetched, []);
    const own = await generate(false); // the control: a worker on its own fetches the file
    assert.equal(fetched.length, 1);
    assert.match(fetched[0], /nucleus-relaxed\.wasm$/);
    assert.deepEqual(shared, own);
    assert.equal(shared.simd, true);
    assert.equal(shared.relaxedSimd, true);
  } finally {
    page.off('request', onRequest);
  }
});

test('aborting in the worker ends with abort, and the worker generates again', async () => {
  const result = await page.evaluate(async () => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const worker = new WorkerModel();
    await worker.load('/test/stories260K.gguf');
    const controller = new AbortController();
    const reasons = [];
    for await (const step of worker.generate('Once upon a time', { seed: 5, maxTokens: 1500, signal: controller.signal })) {
      reasons.push(step.finishReason);
      if (step.index === 5) controller.abort();
    }
    let again = 0;
    for await (const step of worker.generate('Once upon a time', { seed: 5, maxTokens: 12 })) again = step.index + 1;
    worker.terminate();
    return { reasons, again };
  });
  assert.equal(result.reasons.at(-1), 'abort');
  assert.ok(result.reasons.length < 1500);
  assert.equal(result.again, 12);
});

test('steps from the worker carry reportEntries entries (default topN) as typed arrays', async () => {
  const result = await page.evaluate(async () => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const worker = new WorkerModel();
    await worker.load('/test/stories260K.gguf');
    const run = async (options) => {
      const steps = [];
      for await (const step of worker.generate('Once upon a time', { temperature: 2, topP: 0.95, seed: 9, maxTokens: 8, ...options })) {
        steps.push({ token: step.token, nucleusSize: step.nucleusSize, ids: [...step.ids], probs: [...step.probs], cumulative: [...step.cumulative],
          types: [step.ids, step.probs, step.cumulative].map((a) => a.constructor.name) });
      }
      return steps;
    };
    const out = { full: await run({ reportEntries: Infinity }), byDefault: await run({}), none: await run({ reportEntries: 0 }), five: await run({ topN: 5 }) };
    worker.terminate();
    return out;
  });
  const { full } = result;
  assert.ok(full.some((s) => s.ids.length > 64 && s.ids.length >= s.nucleusSize));
  for (const [entries, steps] of [[64, result.byDefault], [0, result.none], [5, result.five]]) {
    steps.forEach((s, i) => {
      assert.equal(s.token, full[i].token);
      assert.deepEqual(s.types, ['Int32Array', 'Float32Array', 'Float64Array']);
      assert.deepEqual(s.ids, full[i].ids.slice(0, entries));
      assert.deepEqual(s.probs, full[i].probs.slice(0, entries));
      assert.deepEqual(s.cumulative, full[i].cumulative.slice(0, entries));
    });
  }
});

test('worker protocol: generate posts one step message per token, or with batch: true fewer steps messages; same steps', async () => {
  const result = await page.evaluate(async () => {
    const worker = new Worker('/web/worker.js', { type: 'module' });
    let next = 1;
    const handlers = new Map();
    worker.onmessage = ({ data }) => handlers.get(data.id)(data);
    const call = (request, onMessage = () => {}) => new Promise((resolve, reject) => {
      const id = next++;
      handlers.set(id, (m) => (m.type === 'result' ? resolve(m.value) : m.type === 'error' ? reject(new Error(m.error.message)) : onMessage(m)));
      worker.postMessage({ id, ...request });
    });
    await call({ op: 'load', source: '/test/stories260K.gguf' });
    const run = async (batch) => {
      const types = [];
      const tokens = [];
      const options = { temperature: 1, topP: 0.9, seed: 4, maxTokens: 200 };
      await call({ op: 'generate', prompt: 'Once upon a time', options, batch }, (m) => {
        types.push(m.type);
        for (const step of m.type === 'steps' ? m.steps : [m.step]) tokens.push([step.index, step.token, step.finishReason]);
      });
      return { types: [...new Set(types)], messages: types.length, tokens };
    };
    const out = { single: await run(undefined), batched: await run(true) };
    worker.terminate();
    return out;
  });
  const { single, batched } = result;
  assert.deepEqual(single.types, ['step']);
  assert.equal(single.messages, 200);
  assert.deepEqual(batched.types, ['steps']);
  assert.ok(batched.messages < 200, `${batched.messages} messages`);
  assert.deepEqual(batched.tokens, single.tokens);
  assert.deepEqual(single.tokens.map(([index]) => index), [...Array(200).keys()]);
  assert.equal(single.tokens.at(-1)[2], 'length');
});
