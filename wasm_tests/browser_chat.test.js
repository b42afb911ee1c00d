// Chat in Chromium: the page and its Web Worker load web/chat.js and the vendored Jinja library
// (web/dist/jinja.js) by relative URL, without a bundler or import map, and give Node's results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { openBrowser } from './browser.js';
import { repoRoot, sharedDir } from './helpers.js';

const MESSAGES = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi <|end|>\n<|assistant|> there' }];
const SETTINGS = { seed: 9, temperature: 0.8, topP: 0.9, maxTokens: 10 };

let browser;
let page;
let dir;
let model;

before(async () => {
  // A small random-weight model with Phi-3's vocabulary, whose file carries a chat template.
  dir = mkdtempSync(join(tmpdir(), 'nucleus-browser-chat-'));
  const path = join(dir, 'phi3-tiny.gguf');
  execFileSync(process.execPath, [join(repoRoot, 'web/cli.js'), 'synth', '--shape', '64,172,2,4,4,32064,256', '--type', 'q8_0',
    '--vocab', join(sharedDir, 'models/vocab/ggml-vocab-phi-3.gguf'), '--output', path], { stdio: 'ignore' });
  model = await loadModel(path);
  browser = await openBrowser();
  page = await browser.context.newPage();
  const body = readFileSync(path);
  await page.route('**/test/phi3-tiny.gguf', (route) => route.fulfill({ body, contentType: 'application/octet-stream' }));
  await page.goto(browser.url + 'web/index.js');
});
after(async () => {
  model?.dispose();
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('in a Web Worker: applyChatTemplate, tokenizeChat and chat steps as in Node', async () => {
  const inPage = await page.evaluate(async ({ messages, settings }) => {
    const { WorkerModel } = await import('/web/worker-client.js');
    const worker = new WorkerModel();
    const info = await worker.load('/test/phi3-tiny.gguf');
    const text = await worker.applyChatTemplate(messages);
    const ids = await worker.tokenizeChat(messages);
    const tokens = [];
    for await (const step of worker.chat(messages, settings)) tokens.push(step.token);
    let error = null;
    try {
      await worker.applyChatTemplate([]);
    } catch (e) {
      error = e.code;
    }
    worker.terminate();
    return { template: info.chatTemplate, text, ids, tokens, error };
  }, { messages: MESSAGES, settings: SETTINGS });
  const tokens = [];
  for await (const step of model.chat(MESSAGES, SETTINGS)) tokens.push(step.token);
  assert.equal(inPage.template, model.info.chatTemplate);
  assert.equal(inPage.text, model.applyChatTemplate(MESSAGES));
  assert.deepEqual(inPage.ids, [...model.tokenizeChat(MESSAGES)]);
  assert.deepEqual(inPage.tokens, tokens);
  assert.equal(inPage.error, 'INVALID_ARGUMENT');
});

test('on the page itself: a runaway template stops with a TEMPLATE error and the page goes on', async () => {
  const result = await page.evaluate(async () => {
    const { compileTemplate, renderTemplate } = await import('/web/chat.js');
    const started = performance.now();
    let code = null;
    try {
      renderTemplate(compileTemplate('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'), { messages: [{ role: 'user', content: 'x' }] });
    } catch (e) {
      code = e.code;
    }
    return { code, ms: performance.now() - started };
  });
  assert.equal(result.code, 'TEMPLATE');
  assert.ok(result.ms < 4000, `${result.ms} ms`);
});
