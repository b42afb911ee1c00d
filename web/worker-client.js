// The page side of web/worker.js: promises and async iterators over the message protocol.
import { NucleusError } from './errors.js';

export class WorkerModel {
  #worker;
  #next = 1;
  #pending = new Map(); // id -> { onMessage }

  /**
   * workerUrl defaults to the worker beside this module. options.runtime: the page's compiled
   * wasm from compileRuntime(), which the worker then uses instead of fetching its own.
   */
  constructor(workerUrl = new URL('./worker.js', import.meta.url), { runtime } = {}) {
    this.#worker = new Worker(workerUrl, { type: 'module' });
    this.#worker.onmessage = ({ data }) => this.#pending.get(data.id)?.(data);
    // Sent first, so it arrives before any load; if it fails the worker fetches the file.
    if (runtime) this.#worker.postMessage({ id: 0, op: 'runtime', ...runtime });
    this.#worker.onerror = (event) => {
      const error = { message: `worker failed: ${event.message ?? 'unknown error'}`, code: 'INTERNAL' };
      for (const [id, handler] of this.#pending) handler({ id, type: 'error', error });
    };
  }

  #send(op, args, onMessage, transfer = []) {
    const id = this.#next++;
    this.#pending.set(id, onMessage);
    this.#worker.postMessage({ id, op, ...args }, transfer);
    return id;
  }

  #call(op, args = {}, onProgress, signal) {
    return new Promise((resolve, reject) => {
      const abort = () => this.#worker.postMessage({ id: 0, op: 'abort', target: id });
      const id = this.#send(op, args, (message) => {
        if (message.type === 'progress') return onProgress?.(message);
        this.#pending.delete(message.id);
        signal?.removeEventListener('abort', abort);
        if (message.type === 'error') reject(new NucleusError(message.error.message, message.error.code));
        else resolve(message.value);
      });
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /**
   * Loads a model (URL string, ArrayBuffer, Blob/File) in the worker; resolves to its info.
   * options: onProgress, and loadModel's (threads: default half the logical cores; info.threads
   * says how many are used, info.threadsReason why only one when more were asked for).
   */
  load(source, { onProgress, ...options } = {}) {
    return this.#call('load', { source, options }, onProgress);
  }

  tokenize(text, { bos = true } = {}) {
    return this.#call('tokenize', { text, bos });
  }

  decode(ids) {
    return this.#call('decode', { ids });
  }

  tokenText(ids) {
    return this.#call('tokenText', { ids });
  }

  /** The raw bytes each token appends to a stream (Uint8Arrays; see Model.pieceBytes). */
  pieces(ids) {
    return this.#call('pieces', { ids });
  }

  logits(tokens) {
    return this.#call('logits', { tokens });
  }

  /**
   * Runs web/trace.js runSweep in the worker: { prompts, topPs, temperatures, seeds, maxTokens }.
   * Resolves to its rows; onProgress({ done, total, row }) after each run (row: a setting just
   * finished). signal aborts: the promise rejects with code ABORTED.
   */
  sweep(plan, { onProgress, signal } = {}) {
    const { prompts, topPs, temperatures, seeds, maxTokens } = plan;
    return this.#call('sweep', { prompts, topPs, temperatures, seeds, maxTokens }, onProgress, signal);
  }

  /**
   * Streams steps like Model.generate; options.signal aborts (the last step says 'abort'). The
   * worker sends steps in batches about 16 ms apart, so a fast model's steps arrive a few at once.
   */
  generate(prompt, { signal, ...options } = {}) {
    return this.#stream('generate', { prompt, options }, signal);
  }

  /** Streams the answer to a conversation like Model.chat, in batches as generate. */
  chat(messages, { signal, ...options } = {}) {
    return this.#stream('chat', { messages, options }, signal);
  }

  /** The chat template rendered over messages (Model.applyChatTemplate). */
  applyChatTemplate(messages, options = {}) {
    return this.#call('applyChatTemplate', { messages, options });
  }

  /** The prompt ids of a conversation (Model.tokenizeChat). */
  tokenizeChat(messages, options = {}) {
    return this.#call('tokenizeChat', { messages, options });
  }

  async *#stream(op, args, signal) {
    const queue = [];
    let wake = null;
    const id = this.#send(op, { ...args, batch: true }, (message) => {
      queue.push(message);
      wake?.();
    });
    const abort = () => this.#worker.postMessage({ id: 0, op: 'abort', target: id });
    signal?.addEventListener('abort', abort, { once: true });
    let finished = false;
    try {
      for (;;) {
        while (queue.length === 0) await new Promise((resolve) => (wake = resolve));
        const message = queue.shift();
        if (message.type === 'steps') {
          for (const step of message.steps) yield step;
        } else {
          finished = true;
          if (message.type === 'error') throw new NucleusError(message.error.message, message.error.code);
          return;
        }
      }
    } finally {
      if (!finished) abort(); // the consumer stopped early: stop the worker too
      signal?.removeEventListener('abort', abort);
      this.#pending.delete(id);
    }
  }

  terminate() {
    this.#worker.terminate();
  }
}
