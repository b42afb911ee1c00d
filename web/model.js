// Models and tokenizers: JS objects over C handles in the wasm module.
import { TextStream } from './stream.js';
import { NucleusError, invalid } from './errors.js';
import { DEFAULTS, Sampler } from './sampler.js';
import { readSource } from './source.js';
import { defaultThreads, startHelpers, threadsUnavailable } from './threads.js';
import { loadWasm } from './wasm.js';

// Field numbers of nu_model_info / nu_model_str (src/api_model.c).
const INFO = { vocab: 0, context: 1, dim: 2, layers: 3, heads: 4, kvHeads: 5, hidden: 6, bos: 7, eos: 8, hasWeights: 9 };
const STR = { name: 0, architecture: 1, quantization: 2, tokenizer: 3, chatTemplate: 4, tensorTypes: 5 };

// web/chat.js (and the Jinja library it imports) loads with the first file that has a chat
// template, so pages whose models have none never fetch it.
let chat = null;
let chatUnavailable = null;
async function loadChat() {
  if (chat || chatUnavailable) return;
  try {
    chat = await import('./chat.js');
  } catch (error) {
    chatUnavailable = new NucleusError(`the chat template engine cannot be loaded (web/dist/jinja.js is built by make): ${error.message}`, 'UNSUPPORTED');
  }
}

const TEMPLATE_OPTIONS = new Set(['addGenerationPrompt', 'variables']);

const registry = new FinalizationRegistry(({ exports, handle }) => exports.nu_model_close(handle));

// generate() gives the event loop a turn at least this often (ms): half a 60 Hz frame.
const YIELD_EVERY_MS = 8;
const yieldToEventLoop =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : (() => {
        const channel = new MessageChannel();
        const waiting = [];
        channel.port1.onmessage = () => waiting.shift()?.();
        return () => new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });
      })();

/** Token ids as a plain array, each an integer (range is checked where the vocabulary is known). */
function tokenList(ids, what) {
  if (ids == null || typeof ids === 'string' || typeof ids[Symbol.iterator] !== 'function') {
    throw invalid(`${what} must be an array of token ids`);
  }
  const list = Array.from(ids);
  for (const id of list) if (!Number.isInteger(id)) throw invalid(`${what}: ${String(id)} is not a token id`);
  return list;
}

function stopList(stop) {
  const list = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : null;
  if (!list || list.some((s) => typeof s !== 'string')) throw invalid('stop must be a string or an array of strings');
  return list.filter((s) => s.length > 0);
}

const compiledTemplates = new WeakMap(); // vocabulary -> its parsed chat template

function compiledTemplate(vocab) {
  const source = vocab.chatTemplate;
  if (!source) throw new NucleusError('the model has no chat template (tokenizer.chat_template)', 'UNSUPPORTED');
  if (!chat) throw chatUnavailable;
  if (!compiledTemplates.has(vocab)) compiledTemplates.set(vocab, chat.compileTemplate(source));
  return compiledTemplates.get(vocab);
}

/** A render's options, checked, with the vocabulary's BOS and EOS texts. */
function renderOptions(vocab, options) {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  for (const name of Object.keys(options)) {
    if (!TEMPLATE_OPTIONS.has(name)) throw invalid(`unknown chat template option "${name}"`);
  }
  const tokenText = (field) => (vocab.infoInt(field) >= 0 ? vocab.tokenText(vocab.infoInt(field)) : undefined);
  const { addGenerationPrompt = true, variables = {} } = options;
  return { addGenerationPrompt, variables, bosToken: tokenText('bos'), eosToken: tokenText('eos') };
}

class Vocabulary {
  #wasm;
  #handle;
  #decoder = new TextDecoder();

  constructor(wasm, handle) {
    this.#wasm = wasm;
    this.#handle = handle;
    registry.register(this, { exports: wasm.exports, handle }, this);
  }

  get wasm() {
    return this.#wasm;
  }

  /** The C handle; throws once disposed. */
  get handle() {
    if (!this.#handle) throw new NucleusError('the model has been disposed', 'DISPOSED');
    return this.#handle;
  }

  fail(rc) {
    const message = this.#wasm.cstring(this.#wasm.exports.nu_model_error(this.#handle));
    return NucleusError.fromC(rc, message);
  }

  infoInt(field) {
    return this.#wasm.exports.nu_model_info(this.handle, INFO[field]);
  }

  infoStr(field) {
    return this.#wasm.cstring(this.#wasm.exports.nu_model_str(this.handle, STR[field]));
  }

  get vocabSize() {
    return this.infoInt('vocab');
  }

  /** What the vocabulary asks for around a prompt (tokenizer.ggml.add_bos_token / add_eos_token). */
  get addBos() {
    return this.#wasm.exports.nu_model_wants(this.handle, 0) === 1;
  }

  get addEos() {
    return this.#wasm.exports.nu_model_wants(this.handle, 1) === 1;
  }

  /** The end-of-generation token ids (eos, eot, <|im_end|>, <end_of_turn>, ... as llama.cpp marks them). */
  get eogIds() {
    const e = this.#wasm.exports;
    return Array.from(this.#wasm.i32(e.nu_model_eog_ids(this.handle), e.nu_model_eog_count(this.handle)));
  }

  /**
   * Token ids of text. bos / eos: add them (default: as the vocabulary asks); special: turn
   * control-token texts such as '<|im_start|>' into those tokens (default false: plain text).
   */
  encode(text, { bos = this.addBos, special = false, eos = this.addEos } = {}) {
    if (typeof text !== 'string') throw invalid('text must be a string');
    for (const [name, v] of [['bos', bos], ['special', special], ['eos', eos]]) {
      if (typeof v !== 'boolean') throw invalid(`${name} must be a boolean, got ${String(v)}`);
    }
    const e = this.#wasm.exports;
    const bytes = new TextEncoder().encode(text);
    const ptr = e.malloc(bytes.length + 1);
    if (!ptr) throw new NucleusError(`cannot allocate ${bytes.length} bytes of text`, 'OUT_OF_MEMORY');
    try {
      this.#wasm.u8(ptr, bytes.length).set(bytes);
      const n = e.nu_model_tokenize(this.handle, ptr, bytes.length, (bos ? 1 : 0) | (special ? 2 : 0) | (eos ? 4 : 0));
      if (n < 0) throw this.fail(-n);
      return this.#wasm.i32(e.nu_model_ids(this.handle), n).slice();
    } finally {
      e.free(ptr);
    }
  }

  #bytes(n) {
    if (n < 0) throw this.fail(-n);
    return this.#wasm.u8(this.#wasm.exports.nu_model_bytes(this.handle), n).slice();
  }

  /** The raw bytes one token appends to a stream (may be part of a UTF-8 character). */
  pieceBytes(id) {
    this.#checkId(id);
    return this.#bytes(this.#wasm.exports.nu_model_piece(this.handle, id));
  }

  #checkId(id) {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw invalid(`token id ${id} is outside the vocabulary of ${this.vocabSize}`);
    }
  }

  /** Text of a token sequence (leading space of the first SentencePiece token removed). */
  decode(ids) {
    const list = tokenList(ids, 'decode');
    for (const id of list) this.#checkId(id);
    const e = this.#wasm.exports;
    const ptr = e.malloc(Math.max(4, list.length * 4));
    if (!ptr) throw new NucleusError('cannot allocate the token list', 'OUT_OF_MEMORY');
    try {
      this.#wasm.i32(ptr, list.length).set(list);
      return this.#decoder.decode(this.#bytes(e.nu_model_decode(this.handle, ptr, list.length)));
    } finally {
      e.free(ptr);
    }
  }

  /** A display form of one token: its text, <0xNN> for a lone byte, the name of a control token. */
  tokenText(id) {
    this.#checkId(id);
    return this.#decoder.decode(this.#bytes(this.#wasm.exports.nu_model_token_text(this.handle, id)));
  }

  /** tokenizer.chat_template of the file, or null. */
  get chatTemplate() {
    return this.infoStr('chatTemplate') || null;
  }

  /**
   * The chat template rendered over messages ([{ role, content }]) as Hugging Face's
   * apply_chat_template does. Options: addGenerationPrompt (true), variables (merged into the
   * template's context, e.g. { enable_thinking: false }).
   */
  applyChatTemplate(messages, options = {}) {
    const compiled = compiledTemplate(this); // first: it throws when there is no template
    return chat.renderTemplate(compiled, { messages, ...renderOptions(this, options) });
  }

  /**
   * The prompt ids of a conversation: the chat template's text with special tokens parsed,
   * message text never (see web/chat.js), BOS first when the vocabulary wants it and the
   * template did not write it. Options as applyChatTemplate.
   */
  tokenizeChat(messages, options = {}) {
    const compiled = compiledTemplate(this);
    const render = renderOptions(this, options);
    const ids = chat.conversationTokens(this, (m) => chat.renderTemplate(compiled, { ...render, messages: m }), messages, {
      context: [this.chatTemplate, render.variables, render.bosToken, render.eosToken],
      bos: [...this.encode('', { eos: false })], // BOS when the vocabulary wants it
    });
    return Int32Array.from(ids);
  }

  dispose() {
    if (!this.#handle) return;
    registry.unregister(this);
    this.#wasm.exports.nu_model_close(this.#handle);
    this.#handle = 0;
  }
}

/** A vocabulary without weights: { vocabSize, addBos, addEos, eogIds, encode, decode, tokenText, dispose }. */
export class Tokenizer extends Vocabulary {}

export class Model extends Vocabulary {
  #cached = []; // tokens whose keys and values sit in the KV cache at positions 0..n-1
  #fed = 0; // positions the last #feed ran (the rest came from the cache)
  #busy = false;
  #info;
  #helpers; // the helper threads (web/threads.js), or null

  constructor(wasm, handle, { name, bytes, threads = 1, threadsReason = null, helpers = null }) {
    super(wasm, handle);
    this.#helpers = helpers;
    const e = wasm.exports;
    this.#info = Object.freeze({
      name: this.infoStr('name') || name,
      architecture: this.infoStr('architecture'),
      vocabSize: this.infoInt('vocab'),
      contextLength: this.infoInt('context'),
      embeddingLength: this.infoInt('dim'),
      feedForwardLength: this.infoInt('hidden'),
      layers: this.infoInt('layers'),
      heads: this.infoInt('heads'),
      kvHeads: this.infoInt('kvHeads'),
      quantization: this.infoStr('quantization'),
      tensorTypes: this.infoStr('tensorTypes'),
      tokenizer: this.infoStr('tokenizer'),
      parameters: e.nu_model_parameters(handle),
      bytes,
      stateBytes: e.nu_model_state_bytes(handle),
      bosId: this.infoInt('bos'),
      eosId: this.infoInt('eos'),
      eogIds: Object.freeze(this.eogIds),
      addBos: this.addBos,
      addEos: this.addEos,
      chatTemplate: this.chatTemplate,
      simd: wasm.simd,
      relaxedSimd: wasm.relaxed,
      threads,
      threadsReason,
    });
  }

  /** Frees the model; its helper threads, released by the C side, are then ended. */
  dispose() {
    super.dispose();
    this.#helpers?.stop();
    this.#helpers = null;
  }

  get info() {
    return this.#info;
  }

  /** encode() under the name a model uses: same options and defaults. */
  tokenize(text, options = {}) {
    return this.encode(text, options);
  }

  /**
   * Answers a conversation: generate() from tokenizeChat(messages). Options: generate's, plus
   * variables for the template.
   */
  async *chat(messages, { variables, ...options } = {}) {
    yield* this.generate([...this.tokenizeChat(messages, variables === undefined ? {} : { variables })], options);
  }

  #claim() {
    this.handle; // throws when disposed
    if (this.#busy) throw new NucleusError('the model is busy with another generate() or logits() call', 'INVALID_STATE');
    this.#busy = true;
  }

  /**
   * Runs the model on tokens from position 0, reusing cached positions; returns the logits
   * pointer. Several new tokens go in as one batch (nu_model_forward_batch: chunks of positions
   * through the layers, the same logits bits as one at a time).
   */
  #feed(tokens) {
    const e = this.wasm.exports;
    const context = this.#info.contextLength;
    if (tokens.length === 0) throw invalid('at least one token is needed');
    if (tokens.length > context) {
      throw new NucleusError(`${tokens.length} tokens do not fit the context of ${context}`, 'INVALID_STATE');
    }
    let start = 0;
    while (start < tokens.length - 1 && start < this.#cached.length && this.#cached[start] === tokens[start]) start++;
    this.#cached.length = start;
    const fresh = tokens.slice(start);
    let logits;
    if (fresh.length === 1) {
      logits = e.nu_model_forward(this.handle, fresh[0], start);
    } else {
      const ptr = e.malloc(fresh.length * 4);
      if (!ptr) throw new NucleusError(`cannot allocate ${fresh.length} token ids`, 'OUT_OF_MEMORY');
      try {
        this.wasm.i32(ptr, fresh.length).set(fresh);
        logits = e.nu_model_forward_batch(this.handle, ptr, fresh.length, start);
      } finally {
        e.free(ptr);
      }
    }
    if (!logits) throw this.fail(e.nu_model_error_code(this.handle));
    this.#cached.push(...fresh);
    this.#fed = fresh.length;
    return logits;
  }

  /** Logits after feeding tokens from position 0 in a fresh context. */
  logits(tokens) {
    this.#claim();
    try {
      const list = tokenList(tokens, 'logits');
      const ptr = this.#feed(list);
      return this.wasm.f32(ptr, this.#info.vocabSize).slice();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Streams generated tokens. prompt: text (tokenized as tokenize(prompt) does: BOS as the
   * vocabulary asks, special-token texts kept as text) or an array of token ids used
   * as is. Options: the sampler's (temperature, topP, topK, minP, minKeep, seed, topN, penalties,
   * logitBias), maxTokens (256), stop (string or strings), signal (AbortSignal), logits (true:
   * each step carries a copy of its logits), trace (called with each token's trace record),
   * reportEntries (how many of the report's ordered entries each step carries; default topN,
   * Infinity: all, which at top-p on a flat distribution is most of the vocabulary).
   */
  async *generate(prompt, options = {}) {
    const { maxTokens = 256, stop = [], signal, logits: withLogits = false, trace, reportEntries, ...samplerOptions } = options;
    if (trace !== undefined && typeof trace !== 'function') throw invalid('trace must be a function');
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw invalid(`maxTokens must be a positive integer, got ${maxTokens}`);
    const entries = reportEntries ?? samplerOptions.topN ?? DEFAULTS.topN;
    if (!(Number.isInteger(entries) || entries === Infinity) || entries < 0) {
      throw invalid(`reportEntries must be a non-negative integer or Infinity, got ${String(reportEntries)}`);
    }
    const stops = stopList(stop);
    if (signal?.aborted) throw new NucleusError('generation was aborted before it started', 'ABORTED');
    let tokens = typeof prompt === 'string' ? [...this.tokenize(prompt)] : tokenList(prompt, 'prompt');
    if (tokens.length === 0) {
      if (this.#info.bosId < 0) throw invalid('the prompt is empty and the model has no BOS token');
      tokens = [this.#info.bosId];
    }
    this.#claim();
    let sampler;
    try {
      sampler = new Sampler(this.wasm, samplerOptions);
      // topN only sizes the report: the sampler need not order more entries than are copied.
      if (entries < sampler.params.topN) sampler.configure({ topN: entries });
      sampler.accept(tokens);
      const stream = new TextStream(stops);
      const { vocabSize, contextLength } = this.#info;
      const eog = new Set(this.#info.eogIds);
      let lastYield = performance.now();
      for (let index = 0; ; index++) {
        const started = performance.now();
        const logitsPtr = this.#feed(tokens);
        const fed = performance.now();
        const report = sampler.stepAt(logitsPtr, vocabSize, 1, entries);
        const done = performance.now();
        const timing = { ms: done - started, forwardMs: fed - started, sampleUs: (done - fed) * 1000 };
        const step = { index, ...report, text: '', ...timing, finishReason: null };
        // The first step's forward pass is the prompt's (less what the cache already held).
        if (index === 0) Object.assign(step, { promptMs: timing.forwardMs, promptTokens: this.#fed });
        if (withLogits) step.logits = this.wasm.f32(logitsPtr, vocabSize).slice();
        tokens.push(report.token);
        const ended = eog.has(report.token);
        if (!ended) step.text = stream.push(this.pieceBytes(report.token));
        // Positions 0..contextLength-1 can be fed; a drawn token beyond them ends the run.
        step.finishReason =
          ended ? 'eos'
          : stream.stopped ? 'stop'
          : index + 1 >= maxTokens ? 'length'
          : tokens.length > contextLength ? 'context'
          : signal?.aborted ? 'abort'
          : null;
        if (step.finishReason) step.text += stream.end(); // held-back text and unfinished bytes
        if (trace) {
          const { token, prob, coin, nucleusSize, nucleusMass, entropy, forwardMs, sampleUs } = step;
          trace({ index, token, text: step.text, prob, coin, nucleusSize, nucleusMass, entropy, sampleUs, forwardMs });
        }
        yield step;
        if (step.finishReason) return;
        // Lets an abort (or a worker message) arrive. Not after every token: each round trip
        // through the event loop also slows the next forward pass (~10% at 15M parameters).
        if (performance.now() - lastYield >= YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
    } finally {
      this.#busy = false;
      sampler?.dispose();
    }
  }
}

/**
 * How many threads a model gets: options.threads (1..64), by default half the logical cores;
 * one where the engine cannot run more, with the reason.
 */
async function planThreads({ threads, simd, wasmUrl }) {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
    throw invalid(`threads must be an integer from 1 to 64, got ${String(threads)}`);
  }
  const wanted = threads ?? (await defaultThreads());
  if (wanted === 1) return { threads: 1, reason: null };
  const reason = wasmUrl !== undefined ? 'a custom wasmUrl has no threaded build' : threadsUnavailable({ simd });
  return reason ? { threads: 1, reason } : { threads: wanted, reason: null };
}

/**
 * Splits the model's matrix products over plan.threads threads: the pool in C, then its
 * helpers. A helper that cannot start leaves the model on one thread, saying why.
 */
async function startThreads(wasm, handle, plan) {
  const e = wasm.exports;
  if (plan.threads === 1) return { threads: 1, threadsReason: plan.reason, helpers: null };
  const rc = e.nu_model_set_threads(handle, plan.threads);
  if (rc < 0) throw NucleusError.fromC(-rc, wasm.cstring(e.nu_model_error(handle)));
  try {
    const helpers = await startHelpers(wasm, e.nu_model_pool(handle), plan.threads);
    return { threads: plan.threads, threadsReason: null, helpers };
  } catch (error) {
    e.nu_model_set_threads(handle, 1); // frees the pool: the helpers that joined leave it
    error.stop?.();
    return { threads: 1, threadsReason: `the helper threads did not start: ${error.message}`, helpers: null };
  }
}

async function open(source, options, vocabOnly) {
  const { onProgress, tokenizer, simd, relaxed, wasmUrl } = options;
  const plan = vocabOnly ? { threads: 1, reason: null } : await planThreads(options);
  const wasm = await loadWasm(plan.threads > 1 ? { threads: true, relaxed } : { simd, relaxed, url: wasmUrl });
  const e = wasm.exports;
  const file = await readSource(wasm, source, onProgress);
  let tok = { ptr: 0, size: 0 };
  try {
    if (tokenizer !== undefined) tok = await readSource(wasm, tokenizer);
  } catch (error) {
    e.free(file.ptr);
    throw error;
  }
  // nu_model_open owns both buffers from here, on success and on failure.
  const handle = e.nu_model_open(file.ptr, file.size, tok.ptr, tok.size, vocabOnly ? 1 : 0);
  if (!handle) {
    throw NucleusError.fromC(e.nu_creation_code(), `${file.name}: ${wasm.cstring(e.nu_creation_error())}`);
  }
  return { wasm, handle, file, plan };
}

/**
 * Loads a model: GGUF (llama, qwen2, qwen3 or gemma3 architecture; F32, F16, Q8_0, Q4_0) or a llama2.c checkpoint with
 * { tokenizer: tokenizer.bin source }. source: path (Node), URL, ArrayBuffer, typed array, Blob/File.
 */
export async function loadModel(source, options = {}) {
  const { wasm, handle, file, plan } = await open(source, options, false);
  let threads;
  try {
    if (wasm.cstring(wasm.exports.nu_model_str(handle, STR.chatTemplate))) await loadChat();
    threads = await startThreads(wasm, handle, plan);
  } catch (error) {
    wasm.exports.nu_model_close(handle);
    throw error;
  }
  return new Model(wasm, handle, { name: file.name, bytes: file.size, ...threads });
}

/** Loads only the tokenizer of any GGUF file, vocab-only files included. */
export async function loadTokenizer(source, options = {}) {
  const { wasm, handle } = await open(source, options, true);
  if (wasm.cstring(wasm.exports.nu_model_str(handle, STR.chatTemplate))) await loadChat();
  return new Tokenizer(wasm, handle);
}
