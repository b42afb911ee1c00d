// The Chat tab and the <nucleus-view> element in headless Chromium: a conversation gives the
// tokens Node's model.chat gives with the same settings, its tokens open their nucleus view,
// regenerating and editing branch, presets and live sliders steer the answer; the embed page
// draws the toy distribution and a model's, themable. Screenshots in build/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSampler, loadModel } from '../web/index.js';
import { openBrowser } from './browser.js';
import { repoRoot, sharedDir } from './helpers.js';

const SHOTS = 'build/screenshots';
const byId = (id) => `[data-testid="${id}"]`;
const TOY = [2.4, 1.8, 0.5, 0.2, -0.3, -1.0];

let browser;
let dir;
let modelPath;
let model;
const pageErrors = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // A small random-weight model with Phi-3's vocabulary, whose file carries a chat template.
  dir = mkdtempSync(join(tmpdir(), 'nucleus-view-'));
  modelPath = join(dir, 'phi3-tiny.gguf');
  execFileSync(process.execPath, [join(repoRoot, 'web/cli.js'), 'synth', '--shape', '64,172,2,4,4,32064,256', '--type', 'q8_0',
    '--vocab', join(sharedDir, 'models/vocab/ggml-vocab-phi-3.gguf'), '--seed', '3', '--output', modelPath], { stdio: 'ignore' });
  model = await loadModel(modelPath);
  browser = await openBrowser();
});
after(async () => {
  model?.dispose();
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function newPage(path) {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(browser.url + path);
  return page;
}

/** Token ids of Node's answer to messages with the page's default sampling. */
/** The answer's ids (end-of-generation excluded) and its text as Node's chat() streams it. */
async function nodeChat(messages, options) {
  const ids = [];
  let text = '';
  for await (const step of model.chat(messages, { topP: 0.9, temperature: 1, ...options })) {
    if (!model.info.eogIds.includes(step.token)) ids.push(step.token);
    text += step.text;
  }
  return { ids, text };
}

async function nodeAnswer(messages, options) {
  return (await nodeChat(messages, options)).ids;
}

const answerIds = (page, index) => page.$$eval(`${byId('chat-log')} > [data-index="${index}"] [data-token-id]`,
  (spans) => spans.map((s) => Number(s.dataset.tokenId)));
const waitIdle = (page) => page.waitForFunction(() => document.querySelector('[data-testid=chat-log]').dataset.state === 'done'
  && document.body.dataset.busy === 'false');

test('chat: the tab comes with a chat template; answers, steps, regenerate, edit, presets, live sliders', async () => {
  const page = await newPage('');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  assert.equal(await page.isVisible(byId('mode-chat')), false, 'stories260K has no chat template: no Chat tab');
  await page.setInputFiles(byId('model-file'), modelPath);
  await page.waitForFunction(() => /phi3-tiny/.test(document.querySelector('[data-testid=model-status]').textContent)
    && document.querySelector('[data-testid=model-status]').dataset.state === 'ready');
  await page.click(byId('mode-chat'));
  assert.equal(await page.isVisible(byId('prompt')), false, 'the Generate prompt is not shown in Chat');

  await page.fill(byId('chat-system'), 'Be brief.');
  await page.fill(byId('chat-seed'), '5');
  await page.fill(byId('chat-max-tokens'), '12');
  await page.fill(byId('chat-input'), 'Hi! Tell me about cats.');
  await page.click(byId('chat-send'));
  await page.waitForSelector(`${byId('chat-log')} > [data-role=assistant]`);
  await waitIdle(page);
  const roles = await page.$$eval(`${byId('chat-log')} > *`, (els) => els.map((e) => e.dataset.role));
  assert.deepEqual(roles, ['user', 'assistant']);
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi! Tell me about cats.' }];
  const first = await answerIds(page, 1);
  const node = await nodeChat(messages, { seed: 5, maxTokens: 12 });
  assert.deepEqual(first, node.ids, 'the page samples as model.chat does');
  assert.ok(first.length > 0);
  // The answer's text is what model.chat streams for those tokens (a leading space included:
  // the answer continues the prompt, so it is not the start of a decoded text).
  const shown = await page.textContent(`${byId('chat-log')} > [data-index="1"] .msg-text`);
  assert.equal(shown, node.text);

  // A token opens its step's nucleus, with that token marked (a random model's distribution is
  // flat: the token is seldom among the 50 bars, so the element's report says which it is).
  await page.click(`${byId('chat-log')} > [data-index="1"] [data-step="2"]`);
  await page.waitForSelector(`${byId('chat-nucleus-view')} .bar[data-rank="0"]`);
  const opened = await page.$eval(byId('chat-nucleus-view'), (el) => ({ chosen: el.chosen, token: el.report.token, size: el.report.nucleusSize }));
  assert.equal(opened.chosen, first[2]);
  assert.equal(opened.token, first[2]);
  assert.ok(opened.size > 1);
  assert.match(await page.textContent(byId('chat-step-index')), /^3 of /);
  await page.screenshot({ path: join(SHOTS, 'chat.png'), fullPage: true });

  // Regenerate with the same seed: the same answer, on a new branch; with a new seed: another.
  await page.click(`${byId('chat-log')} > [data-index="1"] ${byId('chat-regenerate-same')}`);
  await waitIdle(page);
  assert.deepEqual(await answerIds(page, 1), first);
  await page.click(`${byId('chat-log')} > [data-index="1"] ${byId('chat-regenerate-new')}`);
  await waitIdle(page);
  const other = await answerIds(page, 1);
  assert.notDeepEqual(other, first);
  assert.equal(await page.locator(`${byId('chat-branches')} button`).count(), 3);

  // Edit the user message: a new branch answering the new text; the old branches stay.
  await page.click(`${byId('chat-log')} > [data-index="0"] ${byId('chat-edit')}`);
  await page.fill(byId('chat-edit-input'), 'And dogs?');
  await page.click(byId('chat-edit-save'));
  await waitIdle(page);
  assert.equal(await page.textContent(`${byId('chat-log')} > [data-index="0"] .msg-text`), 'And dogs?');
  const edited = await answerIds(page, 1);
  assert.deepEqual(edited, await nodeAnswer([messages[0], { role: 'user', content: 'And dogs?' }], { seed: 5, maxTokens: 12 }));
  assert.equal(await page.locator(`${byId('chat-branches')} button`).count(), 4);
  await page.click(`${byId('chat-branches')} li:first-child button`);
  assert.deepEqual(await answerIds(page, 1), first, 'the first branch is kept');

  // A bar of an answer's step forces that token there and continues, as a new branch.
  await page.click(`${byId('chat-log')} > [data-index="1"] [data-step="2"]`);
  await page.waitForSelector(`${byId('chat-nucleus-view')} .bar[data-rank="3"]`);
  const forcedId = Number(await page.getAttribute(`${byId('chat-nucleus-view')} .bar[data-rank="3"]`, 'data-token-id'));
  await page.click(`${byId('chat-nucleus-view')} .bar[data-rank="3"] .fill`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=chat-branches] button').length === 5);
  await waitIdle(page);
  const forced = await answerIds(page, 1);
  assert.deepEqual(forced.slice(0, 3), [...first.slice(0, 2), forcedId]);
  assert.ok(await page.$eval(`${byId('chat-log')} > [data-index="1"] [data-step="2"]`, (el) => el.classList.contains('forced')));
  assert.match(await page.textContent(byId('chat-step-note')), /forced here/);

  // Presets set p and T and say what they do.
  await page.click(byId('chat-preset-creative'));
  assert.equal(await page.inputValue(byId('top-p')), '0.95');
  assert.equal(await page.inputValue(byId('temperature')), '1.2');
  assert.match(await page.textContent(byId('chat-preset-note')), /p 0\.95, T 1\.2/);

  // Live sliders: p moved while an answer is written applies to its next tokens.
  await page.fill(byId('chat-max-tokens'), '600');
  await page.fill(byId('chat-input'), 'Go on.');
  await page.click(byId('chat-send'));
  await page.waitForSelector(`${byId('chat-log')} > [data-index="3"] [data-step="1"]`);
  await page.fill(byId('top-p'), '0');
  await page.waitForSelector(`${byId('chat-log')} > [data-index="3"] [data-step="40"]`);
  await page.click(byId('chat-stop'));
  await waitIdle(page);
  const titles = await page.$$eval(`${byId('chat-log')} > [data-index="3"] [data-token-id]`, (s) => s.map((e) => e.title));
  assert.match(titles[0], /\(p 0\.95, T 1\.20\)$/);
  assert.match(titles.at(-1), /\(p 0\.00, T 1\.20\)$/);
  assert.ok(titles.length < 600, 'Stop ended the answer');
  assert.match(await page.textContent(`${byId('chat-log')} > [data-index="3"] .msg-meta`), /stopped/);

  // A model without a chat template hides the tab again and shows Generate.
  await page.selectOption(byId('model-select'), '/models/stories260K-q8_0.gguf');
  await page.waitForFunction(() => /stories260K/.test(document.querySelector('[data-testid=model-status]').textContent)
    && document.querySelector('[data-testid=model-status]').dataset.state === 'ready');
  assert.equal(await page.isVisible(byId('mode-chat')), false);
  assert.equal(await page.evaluate(() => document.body.dataset.mode), 'explore');
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('embed: <nucleus-view> draws the toy distribution as the sampler computes it, with p and T controls and a theme', async (t) => {
  const page = await newPage('demo/embed.html');
  const toy = byId('embed-toy');
  await page.waitForSelector(`${toy} .bar[data-rank="5"]`);
  const sampler = await createSampler({ topP: 0.9, temperature: 1, topN: 64 });
  const expected = sampler.inspect(TOY);
  const drawn = await page.$eval(toy, (el) => ({ size: el.report.nucleusSize, ids: [...el.report.ids], cut: el.shadowRoot.querySelector('.cut text').textContent }));
  assert.equal(drawn.size, expected.nucleusSize);
  assert.deepEqual(drawn.ids, [...expected.ids]);
  assert.equal(drawn.cut, `cut: ${expected.nucleusSize} tokens`);
  assert.equal(await page.locator(`${toy} .bar.in`).count(), expected.nucleusSize);
  assert.match(await page.textContent(byId('embed-toy-note')), /cat, dog, bird, fish/);

  // The p slider inside the element: p = 0.5 keeps cat alone.
  await page.$eval(`${toy} input[part=top-p]`, (input) => {
    input.value = '0.5';
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  assert.equal(await page.locator(`${toy} .bar.in`).count(), 1);
  assert.equal(await page.getAttribute(toy, 'top-p'), '0.5');
  // T through the attribute: flatter, so p = 0.5 needs two.
  await page.$eval(toy, (el) => el.setAttribute('temperature', '2'));
  await page.waitForFunction((sel) => document.querySelector(sel).shadowRoot.querySelectorAll('.bar.in').length === 2, toy);

  // Themed by custom properties; no controls unless asked.
  const fill = await page.$eval(byId('embed-toy-dark'), (el) => getComputedStyle(el.shadowRoot.querySelector('.bar.in .fill')).fill);
  assert.equal(fill, 'rgb(126, 224, 181)');
  assert.equal(await page.isVisible(`${byId('embed-toy-dark')} .controls`), false);
  assert.equal(await page.getAttribute(`${byId('embed-toy-dark')} .bar.chosen`, 'data-token-id'), '1');

  // Keyboard: arrows move between the bars, Enter picks one.
  const dark = byId('embed-toy-dark');
  const picked = page.$eval(dark, (el) => new Promise((resolve) => el.addEventListener('nucleus-pick', (e) => resolve(e.detail), { once: true })));
  await page.focus(`${dark} svg`);
  for (const key of ['ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowLeft']) await page.keyboard.press(key);
  assert.equal(await page.getAttribute(`${dark} .bar.focus`, 'data-rank'), '1');
  assert.match(await page.textContent(`${dark} .summary`), /^bar 2: "dog"/);
  await page.keyboard.press('Enter');
  assert.deepEqual(await picked, { rank: 1, id: 1, text: 'dog' });

  // Refused logits: a readable error in the element, and it draws again after.
  const error = await page.evaluate(async () => {
    const el = document.createElement('nucleus-view');
    document.body.append(el);
    const failed = new Promise((resolve) => el.addEventListener('nucleus-error', (e) => resolve(e.detail.error.code), { once: true }));
    el.logits = [1, NaN];
    const code = await failed;
    const drawn = new Promise((resolve) => el.addEventListener('nucleus-draw', () => resolve(el.report.nucleusSize), { once: true }));
    el.logits = [1, 0];
    const result = { code, text: el.shadowRoot.querySelector('.summary').textContent, size: await drawn };
    el.remove();
    return result;
  });
  assert.equal(error.code, 'INVALID_LOGITS');
  assert.match(error.text, /^Error: .*NaN/);
  assert.equal(error.size, 2);

  // A 32000-token vocabulary: a slider move recomputes the report and redraws only what moved.
  const moves = await page.evaluate(async () => {
    const el = document.createElement('nucleus-view');
    el.setAttribute('controls', '');
    document.body.append(el);
    let x = 12345;
    const logits = Float32Array.from({ length: 32000 }, () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) * 12 - 6);
    const drawn = () => new Promise((resolve) => el.addEventListener('nucleus-draw', resolve, { once: true }));
    let next = drawn();
    el.logits = logits;
    el.tokens = (id) => `tok${id}`;
    await next;
    const input = el.shadowRoot.querySelector('input[part=top-p]');
    const times = [];
    for (let k = 0; k < 30; k++) {
      const started = performance.now();
      next = drawn();
      input.value = String(0.5 + (k % 10) * 0.05);
      input.dispatchEvent(new Event('input'));
      await next;
      void el.getBoundingClientRect().height; // style and layout of what changed
      times.push(performance.now() - started);
    }
    el.remove();
    times.sort((a, b) => a - b);
    return { median: times[15], max: times.at(-1) };
  });
  t.diagnostic(`<nucleus-view> at 32000 tokens: ${moves.median.toFixed(1)} ms per slider move (median of 30), ${moves.max.toFixed(1)} ms at most`);
  assert.ok(moves.median < 60, `${moves.median} ms per move`);

  // The model section: the next token's distribution; a click on a bar appends it.
  await page.waitForFunction(() => document.querySelector('[data-testid=embed-status]').dataset.state === 'ready');
  await page.waitForSelector(`${byId('embed-model')} .bar[data-rank="0"]`);
  const before = await page.inputValue(byId('embed-prompt'));
  await page.click(`${byId('embed-model')} .bar[data-rank="0"] .fill`);
  await page.waitForFunction((b) => document.querySelector('[data-testid=embed-prompt]').value !== b, before);
  assert.ok((await page.inputValue(byId('embed-prompt'))).startsWith(before));
  await page.screenshot({ path: join(SHOTS, 'embed.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
  await page.close();
});
