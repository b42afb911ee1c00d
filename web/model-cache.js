// A browser cache for model files: the Origin Private File System, or Cache Storage where OPFS
// cannot be written from this context. An entry is keyed by URL + size + validator (ETag, else
// Last-Modified), so a changed file on the server is a new key. A download is written under the
// entry's storage name but only becomes an entry when its record is written, after every byte
// arrived and the count matched the announced size: an interrupted or cancelled download leaves
// nothing behind. Works in a page or a worker. The bytes go straight to storage, except those
// of a download the quota cannot hold, which are gathered into a Blob instead.
import { NucleusError, invalid } from './errors.js';

const RECORD = '.json'; // an entry's record, written last: its presence is the commit
const DATA = '.bin';
const RATE_WINDOW_MS = 2000; // speed: bytes over the last two seconds

/** An entry's key: what identifies one version of one file. */
export function cacheKey(url, size, validator) {
  return `${url}|${size}|${validator}`;
}

/** The last path segment of a URL, decoded: the name a person knows the file by. */
function fileName(url) {
  const last = new URL(url).pathname.split('/').pop() || 'model';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Storage names: the key's SHA-256 (a key holds characters no file name may). */
async function storageId(key) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * What a response says about the file: its size (0 when unknown: no Content-Length, or an
 * encoded body whose length is not the file's) and its validator.
 */
function describe(url, response) {
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const size = encoded ? 0 : Number(response.headers.get('content-length')) || 0;
  const etag = response.headers.get('etag') ?? '';
  const lastModified = response.headers.get('last-modified') ?? '';
  return { url, name: fileName(url), size, etag, lastModified, key: cacheKey(url, size, etag || lastModified) };
}

function aborted(what, cause) {
  return new NucleusError(`${what} was cancelled`, 'ABORTED', { cause });
}

/** Bytes per second over the last RATE_WINDOW_MS (at first: since start, when no byte had come). */
function rateMeter(start) {
  const samples = [{ now: start, loaded: 0 }];
  return (loaded) => {
    const now = performance.now();
    samples.push({ now, loaded });
    while (samples.length > 2 && now - samples[1].now >= RATE_WINDOW_MS) samples.shift();
    const first = samples[0];
    return now > first.now ? ((loaded - first.loaded) * 1000) / (now - first.now) : 0;
  };
}

// ---- stores: records, file, writer and remove, over OPFS and over Cache Storage -------------

/**
 * OPFS: <id>.bin holds the bytes, <id>.json the record. A write holds the Web Lock named for
 * its id, so a half-written entry can be told from one a closed tab left: only the latter
 * (its lock free) is swept away.
 */
class OpfsStore {
  kind = 'opfs';
  #dir;
  #lockPrefix;

  constructor(dir, name) {
    this.#dir = dir;
    this.#lockPrefix = `nucleus-model-cache/${name}/`;
  }

  static async open(name) {
    if (!navigator.storage?.getDirectory) throw new Error('this browser has no Origin Private File System');
    if (typeof FileSystemFileHandle === 'undefined' || !('createWritable' in FileSystemFileHandle.prototype)) {
      throw new Error('OPFS files cannot be written from this context');
    }
    const root = await navigator.storage.getDirectory();
    return new OpfsStore(await root.getDirectoryHandle(name, { create: true }), name);
  }

  async records() {
    const names = new Set();
    for await (const [name, handle] of this.#dir.entries()) if (handle.kind === 'file') names.add(name);
    const records = [];
    for (const name of names) {
      const suffix = [DATA, RECORD].find((s) => name.endsWith(s));
      if (!suffix) continue; // e.g. the browser's swap file of a write in progress
      const id = name.slice(0, -suffix.length);
      if (!names.has(id + DATA) || !names.has(id + RECORD)) {
        await this.#sweep(id);
      } else if (suffix === RECORD) {
        try {
          records.push(JSON.parse(await (await (await this.#dir.getFileHandle(name)).getFile()).text()));
        } catch {
          // an unreadable record is no entry; remove() or the next write of its id replaces it
        }
      }
    }
    return records;
  }

  /** Removes half an entry unless a write (in any tab) holds its lock. */
  async #sweep(id) {
    await navigator.locks?.request(this.#lockPrefix + id, { ifAvailable: true }, (lock) => lock && this.remove(id));
  }

  /** Takes the lock for id; resolves to the function that releases it. */
  #lock(id) {
    if (!navigator.locks) return Promise.resolve(() => {});
    return new Promise((resolve) => {
      navigator.locks.request(this.#lockPrefix + id, () => new Promise((release) => resolve(release)));
    });
  }

  async file(id) {
    try {
      return await (await this.#dir.getFileHandle(id + DATA)).getFile();
    } catch {
      return null;
    }
  }

  /**
   * A writable stream keeps its bytes in a swap file until close(): the data file is
   * replaced only on commit, and an abort (or a closed tab) leaves it as it was.
   */
  async writer(id) {
    const release = await this.#lock(id);
    let stream;
    try {
      stream = await (await this.#dir.getFileHandle(id + DATA, { create: true })).createWritable();
    } catch (error) {
      release();
      throw error;
    }
    return {
      write: (chunk) => stream.write(chunk),
      commit: async (record) => {
        try {
          await stream.close();
          const out = await (await this.#dir.getFileHandle(id + RECORD, { create: true })).createWritable();
          await out.write(JSON.stringify(record));
          await out.close();
        } finally {
          release();
        }
      },
      abort: async () => {
        try {
          await stream.abort().catch(() => {});
          await this.remove(id);
        } finally {
          release();
        }
      },
    };
  }

  async remove(id) {
    for (const suffix of [RECORD, DATA]) await this.#dir.removeEntry(id + suffix).catch(() => {});
  }
}

/** Cache Storage: the bytes and the record are two responses under made-up same-origin URLs. */
class CacheStorageStore {
  kind = 'cache-storage';
  #cache;
  #base;

  constructor(cache, base) {
    this.#cache = cache;
    this.#base = base;
  }

  static async open(name) {
    if (typeof caches === 'undefined') throw new Error('this browser has no Cache Storage here');
    return new CacheStorageStore(await caches.open(name), new URL(`/.nucleus-model-cache/${encodeURIComponent(name)}/`, location.href));
  }

  #url(id, suffix) {
    return new URL(id + suffix, this.#base).href;
  }

  async records() {
    const records = [];
    for (const request of await this.#cache.keys()) {
      if (!request.url.endsWith(RECORD)) continue;
      try {
        records.push(await (await this.#cache.match(request)).json());
      } catch {
        // as in OpfsStore.records
      }
    }
    return records;
  }

  async file(id) {
    return (await (await this.#cache.match(this.#url(id, DATA)))?.blob()) ?? null;
  }

  /** put() stores a streamed body only once it has ended without error: a failure stores nothing. */
  async writer(id) {
    const { readable, writable } = new TransformStream();
    const stored = this.#cache.put(this.#url(id, DATA), new Response(readable));
    stored.catch(() => {}); // awaited by commit; after an abort its rejection is expected
    const sink = writable.getWriter();
    return {
      write: (chunk) => sink.write(chunk),
      commit: async (record) => {
        await sink.close();
        await stored;
        await this.#cache.put(this.#url(id, RECORD), Response.json(record));
      },
      abort: async () => {
        await sink.abort(new Error('aborted')).catch(() => {});
        await stored.catch(() => {});
        await this.remove(id);
      },
    };
  }

  async remove(id) {
    for (const suffix of [RECORD, DATA]) await this.#cache.delete(this.#url(id, suffix));
  }
}

// ---- the cache ----------------------------------------------------------------------------

export class ModelCache {
  #store;

  constructor(store) {
    this.#store = store;
  }

  /** 'opfs' or 'cache-storage'. */
  get storage() {
    return this.#store.kind;
  }

  /** The entries, newest first: { key, url, name, size, etag, lastModified, storedAt }. */
  async list() {
    const records = await this.#store.records();
    return records.map(({ id, ...entry }) => entry).sort((a, b) => b.storedAt - a.storedAt);
  }

  /** The cached file for key (a File named as the model), or null. */
  async get(key) {
    const id = await storageId(key);
    const record = (await this.#store.records()).find((r) => r.id === id && r.key === key);
    const data = record && (await this.#store.file(id));
    // A record whose bytes went missing or changed size is dropped, never served.
    if (!data || data.size !== record.size) {
      if (record) await this.#store.remove(id);
      return null;
    }
    return new File([data], record.name, { lastModified: record.storedAt });
  }

  /** Removes an entry; true when there was one. */
  async delete(key) {
    const id = await storageId(key);
    const present = (await this.#store.records()).some((r) => r.id === id);
    await this.#store.remove(id);
    return present;
  }

  /** The origin's storage use and quota in bytes (navigator.storage.estimate). */
  async estimate() {
    const { usage = 0, quota = 0 } = (await navigator.storage?.estimate?.()) ?? {};
    return { usage, quota };
  }

  /**
   * The model at url as a File, from the cache when the server still has the same version,
   * else downloaded into the cache. With copies of url cached, a HEAD request validates them
   * (no model bytes move); when the server cannot be reached the newest copy is used. Resolves
   * to { file, entry, fromCache, offline, stored }. onProgress({ loaded, total, bytesPerSecond })
   * while downloading; signal cancels (ABORTED). A download replaces older versions of the same
   * url; one larger than the quota leaves (stored: false) is only held in a Blob.
   */
  async fetch(url, { onProgress, signal } = {}) {
    let href;
    try {
      href = new URL(url, globalThis.location?.href);
    } catch {
      throw invalid(`not a URL: ${JSON.stringify(String(url))}`);
    }
    if (href.protocol !== 'https:' && href.protocol !== 'http:') throw invalid(`only http(s) URLs are cached, not ${href.protocol}`);
    href = href.href;
    const known = (await this.list()).filter((e) => e.url === href);
    if (known.length > 0) {
      let head = null;
      try {
        head = await globalThis.fetch(href, { method: 'HEAD', cache: 'no-store', signal });
      } catch (error) {
        if (signal?.aborted) throw aborted(`loading ${fileName(href)}`, error);
      }
      const current = head?.ok ? describe(href, head).key : null;
      const entry = head ? known.find((e) => e.key === current) : known[0];
      const file = entry && (await this.get(entry.key));
      if (file) return { file, entry, fromCache: true, offline: !head, stored: true };
      if (!head) throw new NucleusError(`cannot reach ${href} and no cached copy is intact`, 'IO');
    }
    return this.#download(href, known, onProgress, signal);
  }

  async #download(href, known, onProgress, signal) {
    const started = performance.now(); // the speed counts the wait for the first byte too
    let response;
    try {
      response = await globalThis.fetch(href, { cache: 'no-store', signal });
    } catch (error) {
      if (signal?.aborted) throw aborted(`the download of ${fileName(href)}`, error);
      throw new NucleusError(`cannot fetch ${href}: ${error.message}`, 'IO', { cause: error });
    }
    if (!response.ok) throw new NucleusError(`cannot fetch ${href}: HTTP ${response.status}`, 'IO');
    const entry = describe(href, response);
    const cached = known.some((e) => e.key === entry.key) && (await this.get(entry.key));
    if (cached) { // the HEAD was refused or lied; the GET's validator matches a copy
      await response.body?.cancel();
      return { file: cached, entry: known.find((e) => e.key === entry.key), fromCache: true, offline: false, stored: true };
    }
    const options = { onProgress, signal, started };
    const what = `the download of ${entry.name}`;
    const { usage, quota } = await this.estimate();
    if (entry.size > 0 && quota > 0 && quota - usage < entry.size) {
      // No room: the browser keeps a large Blob on disk, so the model still loads, uncached.
      const chunks = [];
      const memory = { write: (chunk) => chunks.push(chunk), commit: async () => {}, abort: async () => {} };
      const held = await this.#write(entry, response.body, options, what, memory);
      return { file: new File(chunks, entry.name), entry: held, fromCache: false, offline: false, stored: false };
    }
    const stored = await this.#write(entry, response.body, options, what);
    // Older versions of this URL are stale now.
    for (const old of known) if (old.key !== stored.key) await this.delete(old.key);
    return { file: await this.get(stored.key), entry: stored, fromCache: false, offline: false, stored: true };
  }

  /**
   * Copies a file the person picked or dropped into the cache (key: file: + name, size and
   * modification time); resolves to its entry. An entry already there is not copied again.
   */
  async putFile(file, { onProgress, signal } = {}) {
    if (!(file instanceof Blob)) throw invalid('putFile takes a File or Blob');
    const name = file.name ?? 'blob'; // a Blob has neither name nor modification time
    const modified = file.lastModified ?? 0;
    const url = `file:${encodeURIComponent(name)}`;
    const entry = { url, name, size: file.size, etag: '', lastModified: new Date(modified).toUTCString() };
    entry.key = cacheKey(url, file.size, String(modified));
    const existing = (await this.list()).find((e) => e.key === entry.key);
    if (existing && (await this.get(existing.key))) return existing;
    return this.#write(entry, file.stream(), { onProgress, signal, started: performance.now() }, `caching ${name}`);
  }

  /**
   * Streams body into a new entry (or into writer); commits only a complete copy (its size
   * checked). Resolves to the entry.
   */
  async #write(entry, body, { onProgress, signal, started }, what, writer = null) {
    const id = await storageId(entry.key);
    writer ??= await this.#store.writer(id);
    const reader = body.getReader();
    const rate = rateMeter(started);
    const cancel = () => reader.cancel().catch(() => {});
    signal?.addEventListener('abort', cancel, { once: true });
    let loaded = 0;
    try {
      if (signal?.aborted) throw aborted(what);
      for (;;) {
        const { value, done } = await reader.read();
        if (signal?.aborted) throw aborted(what);
        if (done) break;
        loaded += value.length;
        if (entry.size > 0 && loaded > entry.size) throw new NucleusError(`${entry.name} is longer than its announced ${entry.size} bytes`, 'IO');
        await writer.write(value);
        onProgress?.({ loaded, total: entry.size, bytesPerSecond: rate(loaded) });
      }
      if (entry.size > 0 && loaded !== entry.size) throw new NucleusError(`${entry.name} ended after ${loaded} of ${entry.size} bytes`, 'IO');
      const record = { ...entry, id, size: loaded, storedAt: Date.now() };
      await writer.commit(record);
      const { id: _, ...stored } = record;
      return stored;
    } catch (error) {
      await writer.abort();
      if (error instanceof NucleusError) throw error;
      if (signal?.aborted) throw aborted(what, error);
      const how = error?.name === 'QuotaExceededError' ? 'the storage quota is full' : error?.message ?? String(error);
      throw new NucleusError(`${what} failed after ${loaded} bytes: ${how}`, 'IO', { cause: error });
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }
}

/**
 * Opens the cache named name. storage: 'auto' (OPFS where it can be written, else Cache
 * Storage), 'opfs' or 'cache-storage'. Throws UNSUPPORTED when neither is available (e.g. a
 * page not served over https or from localhost).
 */
export async function openModelCache({ name = 'nucleus-models', storage = 'auto' } = {}) {
  if (!['auto', 'opfs', 'cache-storage'].includes(storage)) {
    throw new NucleusError(`storage must be 'auto', 'opfs' or 'cache-storage', not ${JSON.stringify(storage)}`, 'INVALID_ARGUMENT');
  }
  if (!globalThis.crypto?.subtle) throw new NucleusError('the model cache needs a secure context (https or localhost)', 'UNSUPPORTED');
  const reasons = [];
  for (const Store of storage === 'auto' ? [OpfsStore, CacheStorageStore] : [storage === 'opfs' ? OpfsStore : CacheStorageStore]) {
    try {
      return new ModelCache(await Store.open(name));
    } catch (error) {
      reasons.push(error.message);
    }
  }
  throw new NucleusError(`no storage for the model cache: ${reasons.join('; ')}`, 'UNSUPPORTED');
}
