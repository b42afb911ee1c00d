// Types for web/model-cache.js: a browser cache for model files (OPFS, or Cache Storage).

/** One cached version of one file. */
export interface CacheEntry {
  /** URL + size + validator: `${url}|${size}|${etag || lastModified}`; files: `file:${name}|${size}|${lastModified ms}`. */
  key: string;
  /** The absolute URL, or file: + the encoded name for a picked or dropped file. */
  url: string;
  /** The file name (the URL's last path segment, decoded). */
  name: string;
  /** Bytes. */
  size: number;
  /** The server's ETag ('' when none). */
  etag: string;
  /** The server's Last-Modified ('' when none). */
  lastModified: string;
  /** When it was stored (ms since 1970). */
  storedAt: number;
}

export interface DownloadProgress {
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
  /** Over the last two seconds. */
  bytesPerSecond: number;
}

export interface CachedModel {
  /** The bytes, named as the model; hand it to loadModel or WorkerModel.load. */
  file: File;
  entry: CacheEntry;
  /** false: downloaded just now. */
  fromCache: boolean;
  /** true: the server could not be reached, the newest cached copy was used. */
  offline: boolean;
  /** false: the download did not fit in the quota left; the file is a Blob, not cached. */
  stored: boolean;
}

export class ModelCache {
  readonly storage: 'opfs' | 'cache-storage';
  /** Newest first. */
  list(): Promise<CacheEntry[]>;
  get(key: string): Promise<File | null>;
  /** true when there was such an entry. */
  delete(key: string): Promise<boolean>;
  /** navigator.storage.estimate(): the origin's bytes used and its quota. */
  estimate(): Promise<{ usage: number; quota: number }>;
  /**
   * The model at url from the cache when the server's version (HEAD: size + ETag/Last-Modified)
   * matches a copy, else downloaded into the cache. Rejects with NucleusError: IO (network,
   * HTTP status, a short body), ABORTED (signal), INVALID_ARGUMENT (not an http(s) URL).
   */
  fetch(url: string | URL, options?: { onProgress?: (progress: DownloadProgress) => void; signal?: AbortSignal }): Promise<CachedModel>;
  /** Copies a picked or dropped file into the cache (a plain Blob is named 'blob', time 0). */
  putFile(file: File | Blob, options?: { onProgress?: (progress: DownloadProgress) => void; signal?: AbortSignal }): Promise<CacheEntry>;
}

/** Rejects with NucleusError UNSUPPORTED when the browser offers neither storage here. */
export function openModelCache(options?: { name?: string; storage?: 'auto' | 'opfs' | 'cache-storage' }): Promise<ModelCache>;

export function cacheKey(url: string, size: number, validator: string): string;
