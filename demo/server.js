#!/usr/bin/env node
// A small static server for the demo page. It listens on 127.0.0.1 only, serves nothing but
// the page, the JS package and the generated models, refuses path traversal in any encoding,
// and sends COOP/COEP (so SharedArrayBuffer is available) and a Content-Security-Policy that
// allows no inline script.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HOST = '127.0.0.1';

// URL prefix -> directory under the repository, and the file types it may serve.
const MOUNTS = [
  { prefix: '/demo/', dir: 'demo', types: ['.html', '.js', '.css', '.svg', '.png', '.ico'] },
  { prefix: '/web/', dir: 'web', types: ['.js', '.wasm'] },
  { prefix: '/models/', dir: 'models', types: ['.gguf'] },
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
};

export const SECURITY_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** Maps a request path to a file under a mount, or null when it is not servable. */
export function resolveRequestPath(rawPath) {
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return null; // malformed percent-encoding
  }
  if (path === '/') path = '/demo/index.html';
  // Reject rather than normalise: no dot segments, backslashes or NULs in any form.
  if (path.includes('\0') || path.includes('\\') || path.split('/').some((s) => s === '..' || s === '.')) {
    return null;
  }
  const mount = MOUNTS.find((m) => path.startsWith(m.prefix));
  if (!mount || !mount.types.includes(extname(path))) return null;
  const base = join(ROOT, mount.dir);
  const file = resolve(base, '.' + path.slice(mount.prefix.length - 1));
  return file.startsWith(base + sep) ? file : null;
}

function send(res, status, text) {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

async function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  // The raw path, not a URL object's: URL parsing would quietly resolve dot segments.
  const rawPath = req.url.split(/[?#]/)[0];
  const file = rawPath.startsWith('/') ? resolveRequestPath(rawPath) : null;
  if (!file) return send(res, 404, 'not found');
  let info;
  try {
    info = await stat(file);
  } catch {
    return send(res, 404, 'not found');
  }
  if (!info.isFile()) return send(res, 404, 'not found');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': MIME[extname(file)],
    'Content-Length': info.size,
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

/** Starts the server; resolves to { server, url } once listening. Port 0 picks a free one. */
export function startServer({ port = 8080 } = {}) {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, 'internal error'));
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      resolvePromise({ server, url: `http://${HOST}:${server.address().port}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portArg = process.argv.indexOf('--port');
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid --port ${process.argv[portArg + 1]}`);
    process.exit(1);
  }
  startServer({ port })
    .then(({ url }) => console.log(`Nucleus demo: ${url}  (Ctrl-C to stop)`))
    .catch((error) => {
      console.error(`cannot listen on ${HOST}:${port}: ${error.message}`);
      process.exit(1);
    });
}
