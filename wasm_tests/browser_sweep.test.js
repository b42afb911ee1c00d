// The demo page's sweep mode in headless Chromium: a small p x T sweep in the worker fills the
// grid with distinct-2 and repetition values, the progress bar reaches the end, a cell sets the
// sliders; Stop aborts a long sweep, the page stays responsive and still generates. Screenshot
// in build/screenshots/sweep.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { openBrowser } from './browser.js';

const SHOTS = 'build/screenshots';

let browser;
let page;
const pageErrors = [];

const byId = (id) => `[data-testid="${id}"]`;
const text = (id) => page.textContent(byId(id));
const cells = () => page.$$eval(byId('sweep-cell'), (list) => list.map((c) => ({
  topP: Number(c.dataset.topP), temperature: Number(c.dataset.temperature), text: c.querySelector('.value').textContent,
  distinct2: c.dataset.distinct2 === undefined ? null : Number(c.dataset.distinct2),
  repetition: c.dataset.repetition === undefined ? null : Number(c.dataset.repetition),
})));

async function setPlan({ topPs, temperatures, prompts, seeds, maxTokens }) {
  await page.fill(byId('sweep-top-p'), topPs);
  await page.fill(byId('sweep-temperature'), temperatures);
  await page.fill(byId('sweep-prompts'), prompts);
  await page.fill(byId('sweep-seeds'), seeds);
  await page.fill(byId('sweep-max-tokens'), maxTokens);
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await openBrowser();
  page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Content-Security-Policy violations (the page sets cell colours through the CSSOM).
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));
  });
  await page.goto(browser.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
});
after(() => browser.close());

test('the sweep tab shows the default plan; p and T belong to it', async () => {
  await page.click(byId('mode-sweep'));
  assert.equal(await page.getAttribute(byId('mode-sweep'), 'aria-selected'), 'true');
  assert.equal(await page.inputValue(byId('sweep-top-p')), '0.5, 0.7, 0.9, 0.95, 1');
  assert.equal(await page.inputValue(byId('sweep-temperature')), '0.7, 1, 1.3');
  assert.equal(await page.inputValue(byId('sweep-seeds')), '2');
  assert.equal(await page.inputValue(byId('sweep-max-tokens')), '48');
  assert.match(await text('sweep-status'), /^15 settings × 3 prompts × 2 seeds = 90 runs of up to 48 tokens\.$/);
  assert.equal((await cells()).length, 15); // the empty grid of the plan
  assert.equal(await page.isVisible(byId('top-p')), false); // the sidebar's sliders are not the sweep's
  assert.equal(await page.isVisible(byId('prompt')), false);
  // A bad list is named, and marked on its field.
  await page.fill(byId('sweep-top-p'), '0.5, 1.5');
  assert.match(await text('sweep-status'), /^Check p values: 1 to 12 numbers from 0 to 1\.$/);
  assert.equal(await page.getAttribute(byId('sweep-top-p'), 'aria-invalid'), 'true');
  await page.click(byId('sweep-run'));
  assert.equal(await page.evaluate(() => document.body.dataset.busy), 'false'); // nothing ran
});

test('a 2 x 2 sweep fills the grid; a cell sets the sliders and opens Generate', async () => {
  await setPlan({ topPs: '0.9 0.5', temperatures: '1, 0.7', prompts: 'Once upon a time', seeds: '1', maxTokens: '16' });
  await page.click(byId('sweep-run'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('[data-testid=sweep-status]').dataset.state === 'done');
  const grid = await cells();
  assert.equal(grid.length, 4);
  // Sorted: columns p 0.5, 0.9; rows T 0.7, 1.
  assert.deepEqual(grid.map((c) => [c.topP, c.temperature]), [[0.5, 0.7], [0.9, 0.7], [0.5, 1], [0.9, 1]]);
  for (const c of grid) {
    for (const v of [c.distinct2, c.repetition]) assert.ok(v >= 0 && v <= 1, `p ${c.topP} T ${c.temperature}: ${v}`);
    assert.equal(c.text, c.distinct2.toFixed(3)); // coloured and labelled by distinct-2 first
  }
  assert.equal(await page.$eval(byId('sweep-progress'), (p) => p.value === p.max), true);
  assert.match(await text('sweep-status'), /^4 runs on stories260K-q8_0\.gguf: \d+ tokens in [\d.]+ s/);
  assert.equal(await page.locator(`${byId('sweep-table')} tbody tr`).count(), 4);

  // Switch to repetition: the cells show it and take its colours.
  const colour = () => page.$$eval(byId('sweep-cell'), (list) => list.map((c) => c.style.backgroundColor));
  const before = await colour();
  await page.click('label[for=sweep-metric-repetition]');
  const grid2 = await cells();
  for (const c of grid2) assert.equal(c.text, c.repetition.toFixed(3));
  assert.match(await page.textContent('#sweep-grid-title'), /^repetition/);
  if (new Set(grid2.map((c) => c.repetition)).size > 1) assert.notDeepEqual(await colour(), before);
  await page.click('label[for=sweep-metric-distinct2]');

  await page.click(`${byId('sweep-cell')}[data-top-p="0.5"][data-temperature="0.7"]`);
  assert.equal(await page.getAttribute(byId('mode-explore'), 'aria-selected'), 'true');
  assert.equal(await page.inputValue(byId('top-p')), '0.5');
  assert.equal(await page.inputValue(byId('temperature')), '0.7');
  assert.equal(await page.textContent('#top-p-value'), '0.50');
  assert.equal(await page.textContent('#temperature-value'), '0.70');
  // Back in the sweep, that cell is marked as the setting in use.
  await page.click(byId('mode-sweep'));
  assert.equal(await page.$eval(`${byId('sweep-cell')}.current`, (c) => `${c.dataset.topP} ${c.dataset.temperature}`), '0.5 0.7');
});

test('the default sweep, screenshot', async () => {
  await setPlan({ topPs: '0.5, 0.7, 0.9, 0.95, 1', temperatures: '0.7, 1, 1.3', prompts: 'Once upon a time\nLily wanted to play with her ball\nThe little dog was sad because', seeds: '2', maxTokens: '48' });
  await page.click(byId('sweep-run'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('[data-testid=sweep-status]').dataset.state === 'done', null, { timeout: 60_000 });
  const grid = await cells();
  assert.equal(grid.length, 15);
  assert.ok(grid.every((c) => c.distinct2 >= 0 && c.distinct2 <= 1));
  // Hotter and wider settings write more varied text: the corners of the grid say so.
  const at = (p, t) => grid.find((c) => c.topP === p && c.temperature === t).distinct2;
  assert.ok(at(1, 1.3) > at(0.5, 0.7), `distinct-2 ${at(1, 1.3)} at p 1, T 1.3; ${at(0.5, 0.7)} at p 0.5, T 0.7`);
  await page.click('.sweep-details summary');
  await page.screenshot({ path: `${SHOTS}/sweep.png`, fullPage: true });
});

test('Stop aborts a long sweep; the page stays responsive and still generates', async () => {
  await setPlan({ topPs: '0.5, 0.7, 0.9, 0.95, 1', temperatures: '0.7, 1, 1.3', prompts: 'Once upon a time\nOne day', seeds: '20', maxTokens: '256' });
  await page.click(byId('sweep-run'));
  await page.waitForFunction(() => document.querySelector('[data-testid=sweep-progress]').value > 0);
  // The worker sweeps while the page answers: another tab opens and draws.
  await page.click(byId('mode-teach'));
  assert.match(await text('teach-nucleus'), /^cat\b/);
  await page.click(byId('mode-sweep'));
  assert.equal(await page.getAttribute(byId('sweep-status'), 'data-state'), 'running');
  await page.click(byId('sweep-stop'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false');
  assert.match(await text('sweep-status'), /^Stopped: \d+ of 15 settings measured\.$/);
  assert.ok(await page.$eval(byId('sweep-progress'), (p) => p.value < p.max));
  assert.equal(await page.isDisabled(byId('sweep-stop')), true);

  await page.click(byId('mode-explore'));
  await page.fill(byId('prompt'), 'Once upon a time');
  await page.fill(byId('temperature'), '0');
  await page.fill(byId('max-tokens'), '8');
  await page.click(byId('generate'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('[data-testid=output]').children.length > 0);
  assert.equal(await page.locator(`${byId('output')} > *`).count(), 8);
  assert.match(await text('output'), /^Once upon a time, there/);
});

test('no script errors and no Content-Security-Policy violations', async () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
});
