// The live demo page in headless Chromium: first-load transfer size, default model, CLI
// agreement, re-rendering the nucleus from stored logits, teaching mode, a corrupt model file,
// literal text, branching, "Sample 1000", compare mode, labels and keyboard access; screenshots
// of each mode in build/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { openBrowser } from './browser.js';

const MODEL = 'models/stories260K-q8_0.gguf';
const SHOTS = 'build/screenshots';

let browser;
let page;
const dialogs = [];
const pageErrors = [];
const firstLoad = []; // { path, bytes } of every response until the page is ready

const byId = (id) => `[data-testid="${id}"]`;
const text = (id) => page.textContent(byId(id));
const outputCount = () => page.locator(`${byId('output')} > *`).count();

async function generate({ prompt, temperature, topP = '0.9', maxTokens, seed = '0' }) {
  await page.fill(byId('prompt'), prompt);
  await page.fill(byId('temperature'), temperature);
  await page.fill(byId('top-p'), topP);
  await page.fill(byId('max-tokens'), maxTokens);
  await page.fill(byId('seed'), seed);
  await page.click(byId('generate'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('[data-testid=output]').children.length > 0);
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await openBrowser();
  page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss();
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Bytes on the wire: headers plus the body as sent (Content-Length; page files and wasm gzipped).
  const recording = [];
  page.on('requestfinished', (request) => recording.push((async () => {
    const [sizes, response] = await Promise.all([request.sizes(), request.response()]);
    const body = Number((await response.allHeaders())['content-length'] ?? sizes.responseBodySize);
    firstLoad.push({ path: new URL(request.url()).pathname, bytes: sizes.responseHeadersSize + body, body });
  })()));
  await page.goto(browser.url);
  await page.waitForFunction(() => document.querySelector('[data-testid=model-status]')?.dataset.state !== 'loading');
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  await Promise.all(recording);
  page.removeAllListeners('requestfinished');
});
after(() => browser.close());

test('teaching mode: at p = 0.9, T = 1 the nucleus is cat, dog, bird, fish', async () => {
  await page.click(byId('mode-teach'));
  await page.fill(byId('temperature'), '1');
  await page.fill(byId('top-p'), '0.9');
  const words = (inside) => page.$$eval(`${byId('teach-list')} li[data-in-nucleus="${inside}"]`, (items) => items.map((li) => li.dataset.word));
  assert.deepEqual(await words('true'), ['cat', 'dog', 'bird', 'fish']);
  assert.deepEqual(await words('false'), ['lizard', 'hamster']);
  assert.equal(await text('teach-nucleus'), 'cat, dog, bird, fish');
  await page.screenshot({ path: `${SHOTS}/teach.png`, fullPage: true });

  // p = 0.5: cat alone reaches 0.524; editing a logit re-sorts (fish above everything).
  await page.fill(byId('top-p'), '0.5');
  assert.deepEqual(await words('true'), ['cat']);
  await page.fill(byId('toy-logit-fish'), '5');
  assert.deepEqual(await words('true'), ['fish']);
  await page.click(byId('teach-reset'));
  await page.fill(byId('top-p'), '0.9');
  await page.click(byId('mode-explore'));
});

test('first load: what the page transfers', (t) => {
  const sum = (filter) => firstLoad.filter(filter).reduce((total, r) => total + r.bytes, 0);
  const total = sum(() => true);
  const model = sum((r) => r.path.startsWith('/models/'));
  const wasm = sum((r) => r.path.endsWith('.wasm'));
  const page = sum((r) => r.path === '/' || r.path.startsWith('/demo/'));
  const pkg = sum((r) => r.path.startsWith('/web/') && r.path.endsWith('.js'));
  t.diagnostic(`first load: ${firstLoad.length} responses, ${total} bytes: model ${model}, wasm ${wasm}, page HTML/CSS/JS ${page}, package JS ${pkg}`);
  // The model is fetched once (by the page, into its cache; the worker reads the cached file),
  // with no validating HEAD: the cache held no copy to validate.
  assert.equal(firstLoad.filter((r) => r.path.startsWith('/models/')).length, 1);
  assert.equal(model, sum((r) => r.path === '/models/stories260K-q8_0.gguf'));
  assert.ok(firstLoad.every((r) => !r.path.endsWith('/nucleus.wasm')), 'the scalar wasm is not fetched where SIMD works');
  // Fetched and compiled once, by the page: the worker gets the compiled module.
  // Chromium has relaxed SIMD: the SIMD build's relaxed twin (web/wasm.js).
  assert.deepEqual(firstLoad.filter((r) => r.path.endsWith('.wasm')).map((r) => r.path), ['/web/dist/nucleus-relaxed.wasm']);
  assert.ok(!firstLoad.some((r) => r.path === '/web/trace.js'), 'the worker loads trace.js only for a sweep');
  assert.ok(page < 60_000, `the page's own files: ${page} bytes`);
  assert.ok(total < 650_000, `first load: ${total} bytes`);
});

test('the default model loads in the worker', async () => {
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  assert.match(await text('model-status'), /^Ready: stories260K-q8_0\.gguf \(llama, q8_0, tensors Q8_0 x\d+, F16 x\d+, F32 x\d+,/);
  assert.equal(await text('vocab-size'), '512');
});

test('T = 0 gives the same text as the CLI', async () => {
  const prompt = 'Once upon a time';
  const cli = execFileSync(process.execPath, [
    'web/cli.js', 'generate', '--model', MODEL, '--prompt', prompt, '--temperature', '0', '--max-tokens', '32',
  ]).toString();
  await generate({ prompt, temperature: '0', maxTokens: '32' });
  assert.equal(await outputCount(), 32);
  assert.equal((await text('output')).trim(), cli.trim());
  const ids = await page.$$eval(`${byId('output')} > *`, (spans) => spans.map((s) => s.dataset.tokenId));
  assert.ok(ids.every((id) => /^\d+$/.test(id)));
  assert.equal(await text('nucleus-size'), '1'); // greedy
});

test('moving p redraws the current step from its stored logits, without new tokens', async () => {
  await generate({ prompt: 'Once upon a time', temperature: '1', maxTokens: '24', seed: '7' });
  const count = await outputCount();
  // Pin the step with the widest distribution, so p has room to act.
  const sizes = await page.$$eval(`${byId('chart-nucleus-size')} .bar title`, (titles) => titles.map((t) => Number(t.textContent.split(': ')[1])));
  const widest = sizes.indexOf(Math.max(...sizes));
  await page.click(`${byId('output')} > [data-step="${widest}"]`);
  const before = Number(await text('nucleus-size'));
  assert.equal(before, sizes[widest]);
  assert.ok(before > 1, `step ${widest} has a nucleus of ${before}`);
  const tokensBefore = await page.$$eval(`${byId('output')} > *`, (spans) => spans.map((s) => s.dataset.tokenId).join());

  // The view updates its elements in place: what it shows follows the stats after each move.
  const viewAgrees = async (size, p) => {
    const view = byId('nucleus-view');
    assert.equal(await page.locator(`${view} .bar.in`).count(), Math.min(size, 50));
    assert.equal(await page.locator(`${view} .bar[data-rank]`).count(), 50); // the 50 most probable of 512
    assert.equal(await page.textContent(`${view} .cut text`), `cut: ${size} token${size === 1 ? '' : 's'}`);
    assert.equal(await page.textContent(`${view} .p-line text`), `p = ${p}`);
  };
  await viewAgrees(before, '0.90');
  await page.fill(byId('top-p'), '0.3');
  const after = Number(await text('nucleus-size'));
  assert.ok(after < before, `nucleus ${before} at p 0.9, ${after} at p 0.3`);
  await viewAgrees(after, '0.30');
  assert.equal(await outputCount(), count);
  assert.equal(await page.$$eval(`${byId('output')} > *`, (spans) => spans.map((s) => s.dataset.tokenId).join()), tokensBefore);

  // Temperature too: hotter flattens the distribution, the nucleus grows.
  await page.fill(byId('temperature'), '2');
  assert.ok(Number(await text('nucleus-size')) > after);
  await page.fill(byId('temperature'), '1');
  await page.fill(byId('top-p'), '0.9');
  assert.equal(Number(await text('nucleus-size')), before);
  await viewAgrees(before, '0.90');
  assert.equal(Number(await text('vocab-size')), 512);
});

test('Sample 1000 and forcing a candidate as a new branch', async () => {
  await page.click(byId('sample-1000'));
  assert.match(await text('sample-note'), /1000 draws with seed 7 .*: 1000 of 1000 inside the nucleus/);
  const at = Number((await text('step-index')).split(' ')[0]) - 1;
  const count = await outputCount();
  // The second candidate of this step: forced, then generation continues on a new branch.
  const forced = await page.getAttribute(`${byId('nucleus-view')} .bar[data-rank="1"]`, 'data-token-id');
  await page.click(`${byId('nucleus-view')} .bar[data-rank="1"] .fill`);
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelectorAll('[data-testid=branches] button').length === 2);
  assert.equal(await page.getAttribute(`${byId('output')} > [data-step="${at}"]`, 'data-token-id'), forced);
  assert.equal(await page.getAttribute(`${byId('output')} > [data-step="${at}"]`, 'class').then((c) => c.includes('forced')), true);
  const branchCount = await outputCount();
  assert.ok(branchCount > at && branchCount <= 24, `${branchCount} tokens on the new branch`);
  await page.click(byId('sample-1000'));
  await page.screenshot({ path: `${SHOTS}/generate.png`, fullPage: true });
  // Back to the first branch: its tokens are intact.
  await page.click(`${byId('branches')} li:first-child button`);
  assert.equal(await outputCount(), count);
  // The keyboard does the same: arrows pick a candidate of the current step, Enter forces it.
  await page.focus(byId('nucleus-view'));
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  const picked = await page.getAttribute(`${byId('nucleus-view')} .bar.focus`, 'data-token-id');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelectorAll('[data-testid=branches] button').length === 3);
  const last = Number((await text('step-index')).split(' ')[0]) - 1;
  assert.equal(await page.getAttribute(`${byId('output')} > [data-step="${last}"]`, 'data-token-id'), picked);
});

test('a corrupt model file is refused and the previous model keeps working', async () => {
  const junk = Buffer.alloc(1000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
  await page.setInputFiles(byId('model-file'), { name: 'junk.gguf', mimeType: 'application/octet-stream', buffer: junk });
  await page.waitForFunction(() => document.querySelector('[data-testid=model-status]').dataset.state === 'error');
  assert.match(await text('model-status'), /^Error: cannot load junk\.gguf: .+ Still using stories260K-q8_0\.gguf\.$/);
  await generate({ prompt: 'Once upon a time', temperature: '0', maxTokens: '8' });
  assert.equal(await outputCount(), 8);
  assert.match(await text('output'), /^Once upon a time, there/);
});

test('Stop ends a long generation; Step adds exactly one token', async () => {
  await page.fill(byId('max-tokens'), '2000');
  await page.fill(byId('temperature'), '1');
  await page.click(byId('generate'));
  await page.waitForFunction(() => document.querySelector('[data-testid=output]').children.length >= 5);
  await page.click(byId('stop'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false');
  const count = await outputCount();
  assert.ok(count < 2000);
  assert.match(await text('gen-status'), /stopped/);
  await page.click(byId('step'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false');
  assert.equal(await outputCount(), count + 1);
});

test('prompt and tokens are shown as text, never as markup', async () => {
  const prompt = '<img src=x onerror=alert(1)>';
  await generate({ prompt, temperature: '1', maxTokens: '6' });
  assert.ok((await text('output')).startsWith(prompt));
  assert.equal(await page.locator('img').count(), 0);
  await page.waitForTimeout(100);
  assert.deepEqual(dialogs, []);
});

test('the F32 and Q4_0 variants load from the model list', async () => {
  for (const variant of ['f32', 'q4_0', 'q8_0']) {
    await page.selectOption(byId('model-select'), `/models/stories260K-${variant}.gguf`);
    await page.waitForFunction(() => document.body.dataset.busy === 'false');
    assert.match(await text('model-status'), new RegExp(`^Ready: stories260K-${variant}\\.gguf`));
    await generate({ prompt: 'Once upon a time', temperature: '0', maxTokens: '4' });
    assert.equal(await outputCount(), 4);
  }
});

test('compare mode: two settings on the same prompt and seed, with their metrics', async () => {
  await page.fill(byId('prompt'), 'Once upon a time');
  await page.fill(byId('max-tokens'), '40');
  await page.click(byId('mode-compare'));
  // Each side has its own p and T: the sidebar's sliders step aside.
  assert.equal(await page.isVisible(byId('top-p')), false);
  assert.equal(await page.isVisible(byId('temperature')), false);
  assert.equal(await page.isVisible(byId('top-k')), true);
  await page.click(byId('compare-run'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && !/…|–/.test(document.querySelector('[data-testid=compare-b-repetition]').textContent));
  for (const side of ['a', 'b']) {
    assert.equal(await page.locator(`${byId(`compare-${side}-output`)} > *`).count(), 40);
    for (const metric of ['distinct2', 'repetition']) {
      const value = Number(await text(`compare-${side}-${metric}`));
      assert.ok(value >= 0 && value <= 1, `${side} ${metric} ${value}`);
    }
  }
  await page.screenshot({ path: `${SHOTS}/compare.png`, fullPage: true });
  await page.click(byId('mode-explore'));
  assert.equal(await page.isVisible(byId('top-p')), true);
});

test('the charts move the shown step with the keyboard', async () => {
  await generate({ prompt: 'Once upon a time', temperature: '1', maxTokens: '12', seed: '3' });
  await page.focus(byId('chart-nucleus-size'));
  await page.keyboard.press('Home');
  assert.equal(await text('step-index'), '1 of 12');
  await page.keyboard.press('ArrowRight');
  assert.equal(await text('step-index'), '2 of 12');
  assert.equal(await page.locator(`${byId('chart-entropy')} .bar.selected`).count(), 1);
  await page.focus(byId('chart-entropy'));
  await page.keyboard.press('End');
  assert.equal(await text('step-index'), '12 of 12');
});

test('every control has a name and Tab reaches it, in every mode', async () => {
  for (const mode of ['explore', 'teach', 'compare', 'sweep']) {
    await page.click(byId(`mode-${mode}`));
    const controls = await page.evaluate(() => {
      const shown = (el) => el.getClientRects().length > 0;
      const name = (el) => [
        ...[...(el.labels ?? [])].map((l) => l.textContent),
        el.getAttribute('aria-label'),
        ...(el.getAttribute('aria-labelledby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent),
        el.matches('button, summary') ? el.textContent : '',
      ].filter((n) => n && n.trim()).join(' ').trim();
      const list = [...document.querySelectorAll('input, select, textarea, button, summary, [tabindex="0"]')]
        .filter((el) => shown(el) && !el.disabled && !el.closest('[role=tablist]'));
      return list.map((el, i) => {
        el.dataset.a11y = String(i);
        return { key: el.type === 'radio' ? `radio:${el.name}` : String(i), what: `${el.tagName} ${el.id || el.dataset.testid || ''}`, name: name(el) };
      });
    });
    for (const c of controls) assert.ok(c.name.length > 0, `${mode}: ${c.what} has no accessible name`);
    // From the selected tab, Tab walks the page; every control (one radio per group) comes up.
    await page.focus(byId(`mode-${mode}`));
    const reached = new Set();
    for (let i = 0; i < controls.length + 5; i++) {
      await page.keyboard.press('Tab');
      const at = await page.evaluate(() => {
        const el = document.activeElement;
        return el?.dataset.a11y === undefined ? null : el.type === 'radio' ? `radio:${el.name}` : el.dataset.a11y;
      });
      if (at !== null) reached.add(at);
    }
    const missed = controls.filter((c) => !reached.has(c.key)).map((c) => c.what);
    assert.deepEqual(missed, [], `${mode}: not reachable with Tab`);
  }
  await page.click(byId('mode-explore'));
});

test('no script errors', () => {
  assert.deepEqual(pageErrors, []);
});
