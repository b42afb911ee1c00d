#!/usr/bin/env node
// A small static server for the demo page. It listens on 127.0.0.1 only, serves nothing but
// the page, the JS package and the generated models, refuses path traversal in any encoding,
// and sends COOP/COEP (so SharedArrayBuffer is available) and a Content-Security-Policy that
// allows no inline script. Files carry ETag and Last-Modified, answer conditional requests
// with 304 and byte ranges with 206, as a model host does (the page's model cache validates
// with them). Page files and wasm go gzip-compressed to clients that accept it; models never
// do, so their lengths, ranges and the page's download progress stay byte-exact.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
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

// Types sent gzip-compressed when the request accepts it (whole-file GETs and HEADs only).
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.wasm']);
const gzipCache = new Map(); // file -> { etag, body }: compressed once per version of the file

async function gzipped(file, etag) {
  const hit = gzipCache.get(file);
  if (hit?.etag === etag) return hit.body;
  const body = gzipSync(await readFile(file), { level: 9 });
  gzipCache.set(file, { etag, body });
  return body;
}

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
    // Models may be downloaded from any https host (e.g. a Hugging Face resolve link).
    "connect-src 'self' https:",
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

/** A strong validator from the file's size and modification time (plus a test's salt). */
function etagOf(info, salt = '') {
  return `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}${salt ? '-' + salt : ''}"`;
}

/** True when the request's validators say the client's copy is current (304). */
function notModified(req, etag, info) {
  const match = req.headers['if-none-match'];
  if (match !== undefined) return match.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  return Number.isFinite(since) && Math.floor(info.mtimeMs / 1000) * 1000 <= since;
}

/**
 * The single byte range a Range header asks for: { start, end } (inclusive), null for the
 * whole file (no header, a multi-range or a form we do not serve), or 'unsatisfiable'.
 */
export function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start;
  let end;
  if (m[1] === '') { // a suffix: the last N bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

/** Streams bytes start..end, slowed to bytesPerSecond or cut after cutAfter bytes (test faults). */
async function sendFaulty(res, file, start, end, { bytesPerSecond = 0, cutAfter = Infinity }) {
  let sent = 0;
  const closed = once(res, 'close').catch(() => {}); // one listener for every wait below; an error ends it too
  for await (const chunk of createReadStream(file, { start, end, highWaterMark: 16 << 10 })) {
    if (res.destroyed) return;
    const piece = chunk.subarray(0, Math.max(0, cutAfter - sent));
    if (piece.length > 0 && !res.write(piece)) await Promise.race([once(res, 'drain'), closed]);
    sent += piece.length;
    if (sent >= cutAfter) {
      await sleep(50); // let the bytes reach the client, then drop the connection mid-body
      return res.destroy();
    }
    if (bytesPerSecond > 0) await sleep((1000 * piece.length) / bytesPerSecond);
  }
  res.end();
}

async function handle(req, res, faults) {
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
  const fault = faults?.get(rawPath) ?? {};
  const compressible = COMPRESSIBLE.has(extname(file));
  // A compressed copy is another representation, so it gets its own validator.
  const gzip = compressible && req.headers.range === undefined && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') &&
    !fault.bytesPerSecond && fault.cutAfter === undefined;
  const fileTag = etagOf(info, fault.etag);
  const etag = gzip ? fileTag.slice(0, -1) + '-gz"' : fileTag;
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': MIME[extname(file)],
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': info.mtime.toUTCString(),
    ...(compressible && { Vary: 'Accept-Encoding' }),
  };
  if (notModified(req, etag, info)) {
    res.writeHead(304, headers);
    return res.end();
  }
  if (gzip) {
    const body = await gzipped(file, fileTag);
    res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': body.length });
    return res.end(req.method === 'HEAD' ? undefined : body);
  }
  // If-Range: a range only of the copy the client holds; otherwise the whole (changed) file.
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, info.size) : null;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${info.size}`, 'Content-Length': 0 });
    return res.end();
  }
  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': end - start + 1,
    ...(range && { 'Content-Range': `bytes ${start}-${end}/${info.size}` }),
  });
  if (req.method === 'HEAD' || info.size === 0) return res.end();
  if (fault.bytesPerSecond || fault.cutAfter !== undefined) return sendFaulty(res, file, start, end, fault);
  createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
}

/**
 * Starts the server; resolves to { server, url } once listening. Port 0 picks a free one.
 * faults (tests only; the command line never sets it): a Map from a request path to
 * { etag: a salt that changes the file's ETag, cutAfter: bytes after which the connection is
 * dropped, bytesPerSecond: a slow download }, read on every request so a test can change it.
 */
export function startServer({ port = 8080, faults } = {}) {
  const server = createServer((req, res) => {
    handle(req, res, faults).catch(() => (res.headersSent ? res.destroy() : send(res, 500, 'internal error')));
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
