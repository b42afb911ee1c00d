// The bench's static server: 127.0.0.1 only, fixed mounts, no path traversal. It serves the
// demo page (with the demo server's own security headers, so the page runs as it does live),
// the JS package, the generated models, the bench pages and wasm modules, and wllama's files
// from node_modules (its worker starts from a blob: URL, which the demo's policy would refuse,
// so the bench pages get no Content-Security-Policy). Nothing is fetched from outside this machine.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECURITY_HEADERS } from '../demo/server.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};
const MOUNTS = [
  { prefix: '/demo/', dir: 'demo', headers: SECURITY_HEADERS },
  { prefix: '/web/', dir: 'web', headers: SECURITY_HEADERS },
  { prefix: '/models/', dir: 'models', headers: SECURITY_HEADERS },
  { prefix: '/bench/', dir: 'bench', headers: ISOLATION },
  { prefix: '/build/', dir: 'build', headers: ISOLATION }, // the bench wasm modules (section 2)
  { prefix: '/wllama/', dir: 'node_modules/@wllama/wllama/esm', headers: ISOLATION },
];
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
};

function resolvePath(rawPath) {
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (path === '/') path = '/demo/index.html';
  if (path.includes('\0') || path.includes('\\') || path.split('/').some((s) => s === '..' || s === '.')) return null;
  const mount = MOUNTS.find((m) => path.startsWith(m.prefix));
  if (!mount || !MIME[extname(path)]) return null;
  const base = join(ROOT, mount.dir);
  const file = resolve(base, '.' + path.slice(mount.prefix.length - 1));
  return file.startsWith(base + sep) ? { file, headers: mount.headers } : null;
}

async function handle(req, res) {
  const found = req.method === 'GET' ? resolvePath(req.url.split(/[?#]/)[0]) : null;
  const info = found && (await stat(found.file).catch(() => null));
  if (!info?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    return res.end('not found\n');
  }
  res.writeHead(200, { ...found.headers, 'Content-Type': MIME[extname(found.file)], 'Content-Length': info.size });
  createReadStream(found.file).on('error', () => res.destroy()).pipe(res);
}

/** Starts the server on a free loopback port; resolves to { server, url }. */
export function startBenchServer() {
  const server = createServer((req, res) => handle(req, res).catch(() => res.destroy()));
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}
