// The demo server: loopback only, fixed mounts, no traversal, security headers, validators
// and byte ranges, and the faults the cache tests inject.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, resolveRequestPath, parseRange } from '../demo/server.js';
import { repoRoot } from './helpers.js';

let server;
let port;
const faults = new Map();

before(async () => {
  ({ server } = await startServer({ port: 0, faults }));
  port = server.address().port;
});
after(() => server.close());

// Sends the path byte for byte (fetch would normalise it). A dropped connection resolves with
// what arrived and aborted: true (the body ended before its Content-Length).
function get(path, method = 'GET', headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks = [];
      const done = (aborted) => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: bytes.toString('latin1'), bytes, aborted });
      };
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', () => {}); // a dropped connection: 'close' reports it
      res.on('close', () => done(!res.complete));
    });
    req.on('error', reject);
    req.end();
  });
}

test('binds to 127.0.0.1 only', () => {
  assert.equal(server.address().address, '127.0.0.1');
});

test('serves the JS package and wasm with security headers', async () => {
  const res = await get('/web/index.js');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /text\/javascript/);
  assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp');
  const csp = res.headers['content-security-policy'];
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(csp, /connect-src 'self' https:;/); // model downloads: https only, nothing else new
  assert.doesNotMatch(csp, /unsafe-inline/);
  const wasm = await get('/web/dist/nucleus-simd.wasm', 'HEAD');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers['content-type'], 'application/wasm');
});

test('refuses traversal in every encoding and anything outside the mounts', async () => {
  const attempts = [
    '/../Makefile', '/web/../Makefile', '/web/%2e%2e/Makefile', '/web/%2E%2E%2FMakefile',
    '/web/..%2fMakefile', '/web/..%5cMakefile', '/web/%252e%252e/Makefile', '/web/index.js%00.js',
    '/Makefile', '/src/sampler.c', '/package.json', '/web/../../shared/ARCHITECTURE.md',
    '/demo/server.js/../../Makefile', '/web/%ZZ', '/web/./index.js', '/models/../README.md',
    '/web/index.d.ts', '/node_modules/playwright-core/package.json',
  ];
  for (const path of attempts) {
    const res = await get(path);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(res.body, /include|makefile|SHELL/i, path);
  }
  assert.equal((await get('/web/index.js', 'POST')).status, 405);
});

test('resolveRequestPath keeps files inside their mount', () => {
  assert.ok(resolveRequestPath('/web/index.js').endsWith('/web/index.js'));
  assert.equal(resolveRequestPath('/web/%2e%2e/Makefile'), null);
  assert.equal(resolveRequestPath('/models/x.bin'), null);
});

const INDEX = readFileSync(join(repoRoot, 'web/index.js'));
const MODEL_JS = readFileSync(join(repoRoot, 'web/model.js'));

test('files carry a strong ETag and Last-Modified; HEAD has the headers and no body', async () => {
  const full = await get('/web/index.js');
  assert.match(full.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(Date.parse(full.headers['last-modified']) > 0);
  assert.equal(full.headers['accept-ranges'], 'bytes');
  assert.deepEqual(full.bytes, INDEX);
  const head = await get('/web/index.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], String(INDEX.length));
  assert.equal(head.headers.etag, full.headers.etag);
});

test('conditional requests: a current validator gets 304, a stale one the file', async () => {
  const { headers } = await get('/web/index.js', 'HEAD');
  const same = await get('/web/index.js', 'GET', { 'If-None-Match': headers.etag });
  assert.equal(same.status, 304);
  assert.equal(same.body, '');
  assert.equal((await get('/web/index.js', 'GET', { 'If-None-Match': '"other", ' + headers.etag })).status, 304);
  assert.equal((await get('/web/index.js', 'GET', { 'If-None-Match': '"other"' })).status, 200);
  assert.equal((await get('/web/index.js', 'GET', { 'If-Modified-Since': headers['last-modified'] })).status, 304);
  assert.equal((await get('/web/index.js', 'GET', { 'If-Modified-Since': new Date(0).toUTCString() })).status, 200);
});

test('byte ranges: 206 with Content-Range, suffixes, 416 past the end, If-Range', async () => {
  const size = INDEX.length;
  const part = await get('/web/index.js', 'GET', { Range: 'bytes=10-19' });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 10-19/${size}`);
  assert.deepEqual(part.bytes, INDEX.subarray(10, 20));
  const tail = await get('/web/index.js', 'GET', { Range: 'bytes=-5' });
  assert.deepEqual(tail.bytes, INDEX.subarray(size - 5));
  const open = await get('/web/index.js', 'GET', { Range: `bytes=${size - 3}-` });
  assert.deepEqual(open.bytes, INDEX.subarray(size - 3));
  const past = await get('/web/index.js', 'GET', { Range: `bytes=${size}-` });
  assert.equal(past.status, 416);
  assert.equal(past.headers['content-range'], `bytes */${size}`);
  const { etag } = part.headers;
  assert.equal((await get('/web/index.js', 'GET', { Range: 'bytes=0-3', 'If-Range': etag })).status, 206);
  assert.equal((await get('/web/index.js', 'GET', { Range: 'bytes=0-3', 'If-Range': '"old"' })).status, 200);
  assert.deepEqual(parseRange('bytes=0-1,4-5', 10), null); // several ranges: the whole file
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
  assert.equal(parseRange('bytes=7-3', 10), 'unsatisfiable');
});

test('test faults: a salted ETag, and a response cut mid-body', async () => {
  const before = (await get('/web/model.js', 'HEAD')).headers.etag;
  faults.set('/web/model.js', { etag: 'v2' });
  try {
    const changed = await get('/web/model.js', 'HEAD');
    assert.notEqual(changed.headers.etag, before);
    assert.equal((await get('/web/model.js', 'GET', { 'If-None-Match': before })).status, 200);
    faults.set('/web/model.js', { cutAfter: 1000 });
    const cut = await get('/web/model.js');
    assert.equal(cut.aborted, true);
    assert.equal(cut.headers['content-length'], String(MODEL_JS.length));
    assert.deepEqual(cut.bytes, MODEL_JS.subarray(0, 1000));
  } finally {
    faults.delete('/web/model.js');
  }
  assert.equal((await get('/web/model.js', 'HEAD')).headers.etag, before);
});

test('page files and wasm go gzip-compressed when accepted; models, ranges and plain requests never', async () => {
  const { gunzipSync } = await import('node:zlib');
  const wasmFile = readFileSync(join(repoRoot, 'web/dist/nucleus-simd.wasm'));
  const gz = await get('/web/dist/nucleus-simd.wasm', 'GET', { 'Accept-Encoding': 'gzip, deflate, br' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.equal(Number(gz.headers['content-length']), gz.bytes.length);
  assert.ok(gz.bytes.length < wasmFile.length / 2, `${gz.bytes.length} of ${wasmFile.length} bytes`);
  assert.deepEqual(gunzipSync(gz.bytes), wasmFile);
  // Its own validator: a 304 for the compressed copy, never mistaken for the plain one.
  const plain = await get('/web/dist/nucleus-simd.wasm', 'HEAD');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.notEqual(plain.headers.etag, gz.headers.etag);
  const again = await get('/web/dist/nucleus-simd.wasm', 'GET', { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag });
  assert.equal(again.status, 304);
  const head = await get('/web/index.js', 'HEAD', { 'Accept-Encoding': 'gzip' });
  assert.equal(head.headers['content-encoding'], 'gzip');
  assert.equal(head.body, '');
  const range = await get('/web/index.js', 'GET', { 'Accept-Encoding': 'gzip', Range: 'bytes=0-9' });
  assert.equal(range.status, 206);
  assert.equal(range.headers['content-encoding'], undefined);
  assert.deepEqual(range.bytes, INDEX.subarray(0, 10));
  const model = await get('/models/stories260K-q8_0.gguf', 'HEAD', { 'Accept-Encoding': 'gzip' });
  assert.equal(model.headers['content-encoding'], undefined);
  assert.equal(model.headers.vary, undefined);
});
