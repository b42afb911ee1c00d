// The demo server: loopback only, fixed mounts, no traversal, security headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer, resolveRequestPath } from '../demo/server.js';

let server;
let port;

before(async () => {
  ({ server } = await startServer({ port: 0 }));
  port = server.address().port;
});
after(() => server.close());

// Sends the path byte for byte (fetch would normalise it).
function get(path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
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
