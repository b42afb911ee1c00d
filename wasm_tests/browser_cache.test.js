// The model cache in Chromium, through the demo page and web/model-cache.js, against the demo
// server (ETag, Range, and test faults: a changed ETag, a connection cut mid-body, a slow
// download): a second load transfers no model bytes, an interrupted or cancelled download
// leaves no entry and the next load succeeds, a changed ETag downloads again, delete frees the
// space, dropped files are cached, Cache Storage works as the fallback. Screenshot of the cache
// list in build/screenshots/cache.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser } from './browser.js';
import { repoRoot } from './helpers.js';

const SHOTS = 'build/screenshots';
const Q8 = '/models/stories260K-q8_0.gguf';
const Q4 = '/models/stories260K-q4_0.gguf';
const F32 = '/models/stories260K-f32.gguf';
const size = (path) => readFileSync(join(repoRoot, path)).length;

const faults = new Map(); // the server's, changed by the tests as they go
let browser;
let page;
let requests = []; // { method, path } of every model request since the last take()

const byId = (id) => `[data-testid="${id}"]`;
const status = () => page.textContent(byId('model-status'));
const take = () => requests.splice(0);
const modelGets = (log, path) => log.filter((r) => r.method === 'GET' && (!path || r.path === path));

/** The cache list as { key, size } (the page's data attributes). */
const listed = () => page.$$eval(`${byId('model-cache')} > li`, (items) => items.map((li) => ({ key: li.dataset.modelKey, size: Number(li.dataset.size) })));
const keysFor = async (path) => (await listed()).filter((e) => e.key.startsWith(new URL(path, browser.url).href + '|'));

/** Every name in the cache's OPFS directory: nothing but committed entries' .bin + .json. */
const opfsNames = () => page.evaluate(async () => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('nucleus-models');
  const names = [];
  for await (const [name] of dir.entries()) names.push(name);
  return names.sort();
});

async function settled() {
  await page.waitForFunction(() => document.body.dataset.busy === 'false'
    && document.querySelector('[data-testid=model-status]').dataset.state !== 'loading');
}

async function loadUrl(path) {
  await page.fill(byId('model-url'), path);
  await page.click(byId('model-load-url'));
  await settled();
}

/** The entries in OPFS match the list: one .bin and one .json per entry, no other files. */
async function assertStoreMatchesList() {
  const names = await opfsNames();
  const entries = await listed();
  assert.equal(names.length, 2 * entries.length, names.join(', '));
  assert.ok(names.every((n) => /^[0-9a-f]{64}\.(bin|json)$/.test(n)), names.join(', '));
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await openBrowser({ faults });
  page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/models/')) requests.push({ method: request.method(), path });
  });
  await page.goto(browser.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
});
after(() => browser.close());

test('the first load downloads the default model once, into the cache, keyed by URL + size + ETag', async () => {
  const log = take();
  assert.deepEqual(log, [{ method: 'GET', path: Q8 }]); // no entry yet: nothing to validate
  assert.match(await status(), /^Ready: stories260K-q8_0\.gguf /);
  const [entry] = await keysFor(Q8);
  const etag = (await fetch(new URL(Q8, browser.url), { method: 'HEAD' })).headers.get('etag');
  assert.equal(entry.key, `${new URL(Q8, browser.url).href}|${size(Q8)}|${etag}`);
  assert.equal(entry.size, size(Q8));
  assert.match(await page.textContent(byId('model-cache-usage')), /uses .+ of its .+ quota/);
  await assertStoreMatchesList();
});

test('a second load of the same URL (a reload, the URL box) transfers no model bytes', async () => {
  take();
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  assert.match(await status(), /^Ready: stories260K-q8_0\.gguf .*From the cache\.$/);
  await loadUrl(browser.url + Q8.slice(1));
  assert.match(await status(), /^Ready: stories260K-q8_0\.gguf .*From the cache\.$/);
  const log = take();
  assert.deepEqual(modelGets(log), [], JSON.stringify(log));
  assert.deepEqual(log, [{ method: 'HEAD', path: Q8 }, { method: 'HEAD', path: Q8 }]); // validation only
  // The cached copy generates as the downloaded one did (same bytes).
  await page.fill(byId('temperature'), '0');
  await page.fill(byId('max-tokens'), '8');
  await page.click(byId('generate'));
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.querySelector('[data-testid=output]').children.length === 8);
});

test('an interrupted download leaves no entry; the next load downloads afresh and succeeds', async () => {
  faults.set(F32, { cutAfter: 300_000 });
  take();
  try {
    await loadUrl(F32);
  } finally {
    faults.delete(F32);
  }
  assert.match(await status(), /^Error: cannot load stories260K-f32\.gguf: .+ Still using stories260K-q8_0\.gguf\.$/);
  assert.deepEqual(await keysFor(F32), []);
  await assertStoreMatchesList();
  assert.deepEqual(modelGets(take()), [{ method: 'GET', path: F32 }]);

  await loadUrl(F32);
  assert.match(await status(), /^Ready: stories260K-f32\.gguf \(llama, f32,/);
  assert.deepEqual(modelGets(take()), [{ method: 'GET', path: F32 }]);
  assert.equal((await keysFor(F32)).length, 1);
  await assertStoreMatchesList();
});

test('a download shows bytes, percent and speed, and Cancel leaves no entry', async () => {
  faults.set(Q4, { bytesPerSecond: 60_000 });
  take();
  try {
    await page.fill(byId('model-url'), Q4);
    await page.click(byId('model-load-url'));
    // At 25% (about a second in) the speed reflects the server's pace, not the first burst.
    await page.waitForFunction(() => Number(/\((\d+)%\)/.exec(document.querySelector('[data-testid=model-status]').textContent)?.[1]) >= 25);
    const [, loaded, percent, speed] = /^Downloading stories260K-q4_0\.gguf: (\d+) KB of 242 KB \((\d+)%\), (\d+) KB\/s$/.exec(await status());
    assert.ok(Number(percent) < 100 && Math.abs(Number(loaded) / 242 - Number(percent) / 100) < 0.02, `${loaded} KB, ${percent}%`);
    assert.ok(Number(speed) > 0 && Number(speed) < 200, `${speed} KB/s at a 60 KB/s server`);
    assert.ok(await page.isVisible(byId('model-cancel')));
    await page.click(byId('model-cancel'));
    await settled();
  } finally {
    faults.delete(Q4);
  }
  assert.match(await status(), /^Cancelled loading stories260K-q4_0\.gguf; nothing was cached\. Still using stories260K-f32\.gguf\.$/);
  assert.ok(await page.isHidden(byId('model-cancel')));
  assert.deepEqual(await keysFor(Q4), []);
  await assertStoreMatchesList();
  await loadUrl(Q4); // and afresh
  assert.match(await status(), /^Ready: stories260K-q4_0\.gguf /);
  assert.deepEqual(modelGets(take(), Q4).length, 2);
  assert.equal((await keysFor(Q4)).length, 1);
});

test('a changed ETag on the server downloads the file again and replaces the old entry', async () => {
  const [old] = await keysFor(Q8);
  faults.set(Q8, { etag: 'v2' });
  take();
  try {
    await page.selectOption(byId('model-select'), Q8);
    await settled();
    assert.match(await status(), /^Ready: stories260K-q8_0\.gguf \(.*\)\.$/); // downloaded, not "From the cache"
    const log = take();
    assert.deepEqual(log, [{ method: 'HEAD', path: Q8 }, { method: 'GET', path: Q8 }]);
    const now = await keysFor(Q8);
    assert.equal(now.length, 1);
    assert.notEqual(now[0].key, old.key);
    assert.match(now[0].key, /-v2"$/);
    await assertStoreMatchesList();
    // The new version is what the cache now serves.
    await page.selectOption(byId('model-select'), F32);
    await settled();
    await page.selectOption(byId('model-select'), Q8);
    await settled();
    assert.match(await status(), /From the cache\.$/);
    assert.deepEqual(modelGets(take()), []);
  } finally {
    faults.delete(Q8);
  }
});

test('a picked file is cached too, and loads from the list without a request', async () => {
  const buffer = readFileSync(join(repoRoot, Q4));
  await page.setInputFiles(byId('model-file'), { name: 'my model.gguf', mimeType: 'application/octet-stream', buffer });
  await settled();
  assert.match(await status(), /^Ready: my model\.gguf /);
  await page.waitForSelector(`${byId('model-cache')} > li[data-model-key^="file:my%20model.gguf|${buffer.length}|"]`);
  await assertStoreMatchesList();
  take();
  await page.selectOption(byId('model-select'), F32);
  await settled();
  await page.click(`${byId('model-cache')} > li[data-model-key^="file:my%20model.gguf|"] button[data-action=load]`);
  await settled();
  assert.match(await status(), /^Ready: my model\.gguf /);
  assert.deepEqual(modelGets(take()).filter((r) => r.path !== F32), []);
  await page.waitForSelector(`${byId('model-cache')} > li[data-model-key^="file:my%20model.gguf|"] button[data-action=load]:not([disabled])`);
});

test('a file dropped on the page is cached; offline, cached models still load', async () => {
  const base64 = readFileSync(join(repoRoot, Q8)).toString('base64');
  await page.evaluate((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'dropped.gguf', { lastModified: 1_700_000_000_000 }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, base64);
  await page.waitForSelector(`${byId('model-cache')} > li[data-model-key="file:dropped.gguf|${size(Q8)}|1700000000000"]`);
  assert.match(await status(), /^Ready: dropped\.gguf /);
  await assertStoreMatchesList();

  take();
  await browser.context.setOffline(true);
  try {
    await page.selectOption(byId('model-select'), Q8);
    await settled();
    assert.match(await status(), /^Ready: stories260K-q8_0\.gguf .* From the cache \(the server could not be reached\)\.$/);
  } finally {
    await browser.context.setOffline(false);
  }
  assert.deepEqual(modelGets(take()), []);
});

test('delete removes the entry and frees its space (navigator.storage.estimate)', async () => {
  await page.locator('section[aria-labelledby=h-model]').screenshot({ path: `${SHOTS}/cache.png` });
  const usage = () => page.evaluate(async () => (await navigator.storage.estimate()).usage);
  const before = await usage();
  const [f32] = await keysFor(F32);
  await page.click(`${byId('model-cache')} > li[data-model-key="${f32.key.replaceAll('"', '\\"')}"] button[data-action=delete]`);
  await page.waitForFunction((key) => ![...document.querySelectorAll('[data-testid=model-cache] > li')].some((li) => li.dataset.modelKey === key), f32.key);
  await assertStoreMatchesList();
  const freed = before - (await usage());
  assert.ok(freed >= 0.9 * size(F32), `freed ${freed} of ${size(F32)} bytes`);
  // The page's own usage line follows.
  assert.match(await page.textContent(byId('model-cache-usage')), new RegExp(`^${(await listed()).length} models?,`));
  // Deleted means downloaded again on the next load.
  take();
  await loadUrl(F32);
  assert.deepEqual(modelGets(take()), [{ method: 'GET', path: F32 }]);
});

test('files that do not load are not kept: a downloaded one is removed, a picked one never stored', async () => {
  const junk = Buffer.from('GGUF but not really a model file at all');
  await page.route('**/test/junk.gguf', (route) => route.fulfill({ body: junk, headers: { ETag: '"junk"', 'Content-Type': 'application/octet-stream' } }));
  try {
    const before = await listed();
    await loadUrl('/test/junk.gguf');
    assert.match(await status(), /^Error: cannot load junk\.gguf: .+ Still using /);
    await page.setInputFiles(byId('model-file'), { name: 'junk2.gguf', mimeType: 'application/octet-stream', buffer: junk });
    await settled();
    assert.match(await status(), /^Error: cannot load junk2\.gguf: .+ Still using /);
    assert.deepEqual(await listed(), before);
    await assertStoreMatchesList();
  } finally {
    await page.unroute('**/test/junk.gguf');
  }
});

test('a model larger than the quota left loads without being cached', async () => {
  const [q4] = await keysFor(Q4);
  await page.click(`${byId('model-cache')} > li[data-model-key="${q4.key.replaceAll('"', '\\"')}"] button[data-action=delete]`);
  await page.waitForFunction((key) => ![...document.querySelectorAll('[data-testid=model-cache] > li')].some((li) => li.dataset.modelKey === key), q4.key);
  const before = await listed();
  // The quota as a full disk would report it: less room than the file needs.
  await page.evaluate((room) => {
    const real = navigator.storage.estimate.bind(navigator.storage);
    navigator.storage.estimate = async () => {
      const { usage } = await real();
      return { usage, quota: usage + room };
    };
  }, size(Q4) - 1);
  try {
    take();
    await loadUrl(Q4);
    assert.match(await status(), /^Ready: stories260K-q4_0\.gguf .* Not cached: it does not fit in the storage quota\.$/);
    assert.deepEqual(modelGets(take()), [{ method: 'GET', path: Q4 }]);
    assert.deepEqual(await listed(), before);
    await assertStoreMatchesList();
  } finally {
    await page.evaluate(() => delete navigator.storage.estimate); // the prototype's again
  }
  await loadUrl(Q4);
  assert.match(await status(), /^Ready: stories260K-q4_0\.gguf \(.*\)\.$/);
  assert.equal((await keysFor(Q4)).length, 1);
});

test('a URL that is not https (nor this server) is refused before any request', async () => {
  take();
  await page.fill(byId('model-url'), 'http://example.com/model.gguf');
  await page.click(byId('model-load-url'));
  assert.match(await status(), /^Error: "http:\/\/example\.com\/model\.gguf" is not an https URL\. Still using /);
  assert.equal(await page.getAttribute(byId('model-url'), 'aria-invalid'), 'true');
  assert.deepEqual(take(), []);
});

test('a tab closed mid-download leaves no entry, and the next tab sweeps what it left', async () => {
  const name = 'test-closed';
  const opfs = (target) => target.evaluate(async (name) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
    const names = [];
    for await (const [entry] of dir.entries()) names.push(entry);
    return names.sort();
  }, name);
  const first = await browser.context.newPage();
  faults.set(F32, { bytesPerSecond: 100_000 });
  try {
    await first.goto(browser.url + 'web/index.js');
    await first.evaluate(async ({ name, url }) => {
      const { openModelCache } = await import('/web/model-cache.js');
      const cache = await openModelCache({ name, storage: 'opfs' });
      await new Promise((resolve) => {
        cache.fetch(url, { onProgress: ({ loaded }) => loaded > 100_000 && resolve() }).catch(() => {});
      });
    }, { name, url: F32 });
    const during = await opfs(first);
    assert.ok(during.some((n) => n.endsWith('.bin')) && !during.some((n) => n.endsWith('.json')), during.join(', '));
    // A list in another tab while the download runs leaves its files alone (the write holds its lock).
    const second = await browser.context.newPage();
    await second.goto(browser.url + 'web/index.js');
    const list = (target) => target.evaluate(async (name) => {
      const { openModelCache } = await import('/web/model-cache.js');
      return (await (await openModelCache({ name, storage: 'opfs' })).list()).length;
    }, name);
    assert.equal(await list(second), 0);
    assert.ok((await opfs(second)).some((n) => n.endsWith('.bin')));
    await first.close();
    // The closed tab's lock is freed as its process winds down: a list after that sweeps.
    for (let tries = 0; tries < 50 && (await opfs(second)).length > 0; tries++) {
      assert.equal(await list(second), 0);
      await second.waitForTimeout(100);
    }
    assert.deepEqual(await opfs(second), []);
    await second.close();
  } finally {
    faults.delete(F32);
    if (!first.isClosed()) await first.close();
  }
});

test('ModelCache refuses bad arguments with INVALID_ARGUMENT and keeps working', async () => {
  const codes = await page.evaluate(async () => {
    const { openModelCache } = await import('/web/model-cache.js');
    const code = (promise) => promise.then(() => 'resolved', (error) => `${error.code}: ${error.message}`);
    const cache = await openModelCache({ name: 'test-arguments' });
    return [
      await code(openModelCache({ storage: 'indexeddb' })),
      await code(cache.fetch('http://[bad')),
      await code(cache.fetch('data:,GGUF')),
      await code(cache.putFile('not a file')),
      await code(cache.putFile(new Blob(['GGUF']))),
      (await cache.list()).map((e) => e.key),
    ];
  });
  assert.match(codes[0], /^INVALID_ARGUMENT: storage must be 'auto', 'opfs' or 'cache-storage'/);
  assert.match(codes[1], /^INVALID_ARGUMENT: not a URL: "http:\/\/\[bad"$/);
  assert.equal(codes[2], 'INVALID_ARGUMENT: only http(s) URLs are cached, not data:');
  assert.equal(codes[3], 'INVALID_ARGUMENT: putFile takes a File or Blob');
  assert.equal(codes[4], 'resolved');
  assert.deepEqual(codes[5], ['file:blob|4|0']);
});

// web/model-cache.js on its own, in each storage, in a page of the server.
for (const storage of ['opfs', 'cache-storage']) {
  test(`ModelCache (${storage}): hit, cut, changed ETag, offline, delete`, async () => {
    const cachePage = await browser.context.newPage();
    const log = [];
    cachePage.on('request', (r) => new URL(r.url()).pathname === Q4 && log.push(r.method()));
    try {
      await cachePage.goto(browser.url + 'web/index.js');
      const run = (script) => cachePage.evaluate(async ({ script, storage, url }) => {
        const { openModelCache } = await import('/web/model-cache.js');
        const cache = await openModelCache({ storage, name: `test-${storage}` });
        const fetched = async () => {
          try {
            const r = await cache.fetch(url);
            return { fromCache: r.fromCache, offline: r.offline, size: r.file.size, name: r.file.name, key: r.entry.key };
          } catch (error) {
            return { code: error.code, message: error.message };
          }
        };
        const keys = async () => (await cache.list()).map((e) => e.key);
        if (script === 'fetch') return { first: await fetched(), second: await fetched(), keys: await keys(), storage: cache.storage };
        if (script === 'once') return { result: await fetched(), keys: await keys() };
        const deleted = await cache.delete((await cache.list())[0].key);
        return { deleted, again: await cache.delete('nothing'), keys: await keys() };
      }, { script, storage, url: browser.url + Q4.slice(1) });

      const { first, second, keys, storage: kind } = await run('fetch');
      assert.equal(kind, storage);
      assert.deepEqual([first.fromCache, second.fromCache, second.offline], [false, true, false]);
      assert.equal(second.size, size(Q4));
      assert.equal(second.name, 'stories260K-q4_0.gguf');
      assert.deepEqual(keys, [first.key]);
      assert.deepEqual(log.splice(0), ['GET', 'HEAD']);

      faults.set(Q4, { etag: 'cut', cutAfter: 100_000 }); // a new version, whose download fails
      const cut = await run('once');
      faults.delete(Q4);
      assert.equal(cut.result.code, 'IO');
      assert.deepEqual(cut.keys, keys); // the old copy stays; no partial entry
      assert.deepEqual(log.splice(0), ['HEAD', 'GET']);

      // Offline (the HEAD cannot reach the server): the newest copy.
      await cachePage.route(`**${Q4}`, (route) => route.abort('internetdisconnected'));
      const offline = await run('once');
      await cachePage.unroute(`**${Q4}`);
      assert.deepEqual([offline.result.fromCache, offline.result.offline, offline.result.size], [true, true, size(Q4)]);

      const removed = await run('delete');
      assert.deepEqual([removed.deleted, removed.again, removed.keys], [true, false, []]);
    } finally {
      faults.delete(Q4);
      await cachePage.close();
    }
  });
}
