// The same module and API in Chromium: loads by URL relative to the module, picks SIMD, and
// gives the same reports and tokens as Node for the same seed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSampler } from '../web/index.js';
import { normalLogits } from './helpers.js';
import { openBrowser } from './browser.js';

let browser;
let page;

before(async () => {
  browser = await openBrowser();
  page = await browser.context.newPage();
  await page.goto(browser.url + 'web/index.js');
});
after(() => browser.close());

const SETTINGS = { temperature: 0.9, topP: 0.9, topK: 0, minP: 0, seed: '1234567890123456789' };

async function runInPage(logits, simd) {
  return page.evaluate(
    async ({ logits, settings, simd }) => {
      const { createSampler, simdSupported } = await import('/web/index.js');
      const s = await createSampler({ ...settings, seed: BigInt(settings.seed), simd });
      const data = new Float32Array(logits);
      const report = s.inspect(data);
      const tokens = [];
      for (let i = 0; i < 2000; i++) tokens.push(s.sample(data).token);
      const worked = s.configure({ temperature: 1 }).inspect([2.4, 1.8, 0.5, 0.2, -0.3, -1.0]);
      s.dispose();
      return {
        simdSupported: simdSupported(),
        ids: [...report.ids], probs: [...report.probs], entropy: report.entropy,
        nucleusSize: report.nucleusSize, tokens,
        worked: { size: worked.nucleusSize, cumulative: [...worked.cumulative] },
      };
    },
    { logits: [...logits], settings: SETTINGS, simd },
  );
}

for (const simd of [true, false]) {
  test(`Chromium (${simd ? 'SIMD128' : 'scalar'}) matches Node bit for bit`, async () => {
    const logits = normalLogits(32000, 3, 99);
    const inPage = await runInPage(logits, simd);
    assert.equal(inPage.simdSupported, true);
    const s = await createSampler({ ...SETTINGS, seed: BigInt(SETTINGS.seed) });
    const report = s.inspect(logits);
    const tokens = Array.from({ length: 2000 }, () => s.sample(logits).token);
    assert.equal(inPage.nucleusSize, report.nucleusSize);
    assert.deepEqual(inPage.ids, [...report.ids]);
    assert.deepEqual(inPage.probs, [...report.probs]);
    assert.equal(inPage.entropy, report.entropy);
    assert.deepEqual(inPage.tokens, tokens);
    assert.equal(inPage.worked.size, 4);
    assert.deepEqual(inPage.worked.cumulative.slice(0, 4).map((c) => c.toFixed(3)), ['0.524', '0.811', '0.889', '0.947']);
  });
}
