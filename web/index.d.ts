// Types for the Nucleus ES-module API (web/index.js).
// URL, Blob, AbortSignal and WebAssembly are the web platform's (Node has them too): this
// brings their declarations to a project whose lib has no DOM and that has no @types/node.
/// <reference lib="dom" />

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_LOGITS'
  | 'OUT_OF_MEMORY'
  | 'BAD_FORMAT'
  | 'UNSUPPORTED'
  | 'INVALID_STATE'
  | 'INVALID_TEXT'
  | 'DISPOSED'
  | 'IO'
  | 'ABORTED'
  /** A chat template that does not parse, raises, fails, or exceeds a time or size limit. */
  | 'TEMPLATE';

export class NucleusError extends Error {
  readonly name: 'NucleusError';
  readonly code: ErrorCode;
  /** The C result code, when the error came from the wasm module. */
  readonly errno?: number;
  constructor(message: string, code: ErrorCode, options?: ErrorOptions);
}

export type LogitBias = Record<number, number> | Map<number, number> | Array<[number, number]>;

export interface SamplerParams {
  /** <= 0: greedy. Default 1. */
  temperature?: number;
  /** In [0, 1]; 1: off; 0: keep one token. Default 0.9. */
  topP?: number;
  /** <= 0 or >= vocabulary size: off. Default 0. */
  topK?: number;
  /** In [0, 1]; 0: off. Default 0. */
  minP?: number;
  /** No filter keeps fewer tokens. Default 1. */
  minKeep?: number;
  /** The report lists at least this many entries. Default 64. */
  topN?: number;
  /** Recent tokens the repetition penalties look at; 0: off. Default 0. */
  penaltyLastN?: number;
  /** > 0; 1: off. */
  repeatPenalty?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  logitBias?: LogitBias;
}

export interface SamplerOptions extends SamplerParams {
  /** uint64 seed; default 0. */
  seed?: number | bigint;
  /** Force the SIMD128 (true) or scalar (false) build; default: SIMD when supported. */
  simd?: boolean;
  /** Force the relaxed-SIMD twin of the SIMD build in (true) or out (false); default: used when supported. */
  relaxed?: boolean;
  /** Where to load the wasm file from, relative to web/wasm.js. */
  wasmUrl?: string | URL;
}

export interface StepReport {
  /** The drawn token; -1 when inspecting. */
  token: number;
  /** Index of the token in `ids`; -1 when inspecting. */
  rank: number;
  /** The drawn token's probability before truncation; null when inspecting. */
  prob: number | null;
  /** The uniform number in [0, 1) used by the draw; null when none was used (greedy, inspect). */
  coin: number | null;
  nucleusSize: number;
  nucleusMass: number;
  /** Nats, of the full distribution after temperature. */
  entropy: number;
  vocabSize: number;
  /** Ordered entries (probability descending, id ascending), max(nucleusSize, topN) of them. */
  ids: Int32Array;
  /** Probability after temperature, before truncation. */
  probs: Float32Array;
  /** Running sum of probs. */
  cumulative: Float64Array;
}

export class Sampler {
  /** The parameters in force (a copy). */
  readonly params: Required<Omit<SamplerParams, 'logitBias'>>;
  /** The current splitmix64 state. */
  readonly rngState: bigint;
  sample(logits: Float32Array | ArrayLike<number>): StepReport;
  inspect(logits: Float32Array | ArrayLike<number>): StepReport;
  configure(params: SamplerParams): this;
  setLogitBias(bias: LogitBias): this;
  reseed(seed: number | bigint): this;
  accept(tokens: number | Iterable<number>): this;
  resetHistory(): this;
  dispose(): void;
}

export const DEFAULTS: Readonly<Required<Omit<SamplerParams, 'logitBias'>>>;

export function createSampler(options?: SamplerOptions): Promise<Sampler>;
export function simdSupported(): boolean;
/** Whether the engine runs relaxed SIMD's byte dot product, which the nucleus-relaxed builds use. */
export function relaxedSimdSupported(): boolean;
/** Bytes allocated in the wasm module's heap and the size of its linear memory. */
export function memoryUsage(options?: { simd?: boolean; relaxed?: boolean; wasmUrl?: string | URL }): Promise<{ heapUsed: number; memoryBytes: number }>;
/**
 * The runtime's compiled wasm (the SIMD build unless { simd: false }). A page passes it to
 * `new WorkerModel(url, { runtime })` so its worker neither fetches nor compiles the module again.
 */
export function compileRuntime(options?: { simd?: boolean; relaxed?: boolean; wasmUrl?: string | URL }): Promise<{ module: WebAssembly.Module; simd: boolean; relaxed: boolean }>;

// ---- models -------------------------------------------------------------------------------

/** A path (Node), a URL or URL string, bytes, or a Blob/File. */
export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob;

export interface LoadOptions {
  /** Called as the file is read: bytes loaded and the total (0 when unknown). */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  /** llama2.c checkpoints: their tokenizer.bin. */
  tokenizer?: ModelSource;
  simd?: boolean;
  /** Force the relaxed-SIMD build in (true) or out (false); default: used when supported. Same bits either way. */
  relaxed?: boolean;
  wasmUrl?: string | URL;
  /**
   * Threads the matrix products are split over (1..64); default half the logical cores, at
   * least 1. More than one needs shared memory (a cross-origin isolated page, in a worker);
   * otherwise the model runs on one and info.threadsReason says why. Any count gives the same bits.
   */
  threads?: number;
}

export interface ModelInfo {
  name: string;
  /** general.architecture: 'llama', 'qwen2', 'qwen3' or 'gemma3' ('llama' for a llama2.c checkpoint). */
  architecture: string;
  vocabSize: number;
  /** The context the run state holds: the file's, cut to 4096 positions. */
  contextLength: number;
  embeddingLength: number;
  feedForwardLength: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Type holding most of the layer matrices' weights: ggml's name, 'f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_K', ... */
  quantization: string;
  /** How many tensors of each type, the most common first and F32 last: 'Q4_K x96, Q6_K x17, F32 x34'. */
  tensorTypes: string;
  /** tokenizer.ggml.model: 'llama' (SentencePiece) or 'gpt2' (byte-level BPE). */
  tokenizer: string;
  parameters: number;
  /** Size of the model file. */
  bytes: number;
  /**
   * Bytes of the run state (KV cache for contextLength positions, activations, logits). Loading
   * costs the module about bytes + stateBytes of wasm memory (within 64 MiB more).
   */
  stateBytes: number;
  bosId: number;
  eosId: number;
  /**
   * Every token that ends generation (generate() stops with finishReason 'eos' on any):
   * eos, eot, eom and the texts llama.cpp marks (<|eot_id|>, <|im_end|>, <end_of_turn>,
   * <|endoftext|>, ...), ascending.
   */
  eogIds: readonly number[];
  /** What the vocabulary asks for around a prompt: the defaults of tokenize's bos and eos. */
  addBos: boolean;
  addEos: boolean;
  /** The file's tokenizer.chat_template (Jinja source), or null. */
  chatTemplate: string | null;
  /** Whether the SIMD128 build runs it. */
  simd: boolean;
  /** Whether that build is the relaxed-SIMD one (faster sub-8-bit kernels, the same bits). */
  relaxedSimd: boolean;
  /** Threads its matrix products are split over. */
  threads: number;
  /** Why it runs on one thread when more were asked for (no shared memory, ...); null otherwise. */
  threadsReason: string | null;
}

export type FinishReason = 'eos' | 'length' | 'stop' | 'abort' | 'context';

export interface GenerateOptions extends SamplerParams {
  seed?: number | bigint;
  /** Default 256. */
  maxTokens?: number;
  /** Generation ends when the text contains one; the text returned stops before it. */
  stop?: string | string[];
  /**
   * Ends the run with finishReason 'abort' at the next token. The abort is seen between tokens;
   * generate() gives the event loop a turn at least every 8 ms so an abort from a timer or a
   * message can arrive.
   */
  signal?: AbortSignal;
  /** Attach a copy of each step's logits (Float32Array) as `step.logits`. */
  logits?: boolean;
  /**
   * How many of the report's ordered entries each step's ids / probs / cumulative hold: the
   * first min(reportEntries, max(nucleusSize, topN)). Default: topN (64). Infinity: the whole
   * report, as Sampler.sample gives it (at top-p on a flat distribution, most of the
   * vocabulary: copying it costs more per token than the sampler). 0: none. Tokens and the
   * other fields do not depend on it.
   */
  reportEntries?: number;
}

/** ids, probs and cumulative hold the first GenerateOptions.reportEntries entries of the report. */
export interface GenerateStep extends StepReport {
  index: number;
  /** Text this token adds; '' while a UTF-8 character or a possible stop string is incomplete. */
  text: string;
  /** Milliseconds for this token's forward pass and sampling. */
  ms: number;
  /** Of ms: the forward pass (milliseconds) and the sampler (microseconds). */
  forwardMs: number;
  sampleUs: number;
  /**
   * First step only: milliseconds to feed the prompt (its forwardMs) and how many prompt
   * positions that ran, the rest reused from the KV cache of the previous call. Prompts go
   * through the layers in chunks of 64 positions; promptTokens / promptMs * 1000 is the prompt
   * speed in tokens/s.
   */
  promptMs?: number;
  promptTokens?: number;
  /** Set on the last step only. */
  finishReason: FinishReason | null;
  logits?: Float32Array;
}

/** A chat message; other fields (tool_calls, reasoning_content...) reach the template as given. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn. Default true. */
  addGenerationPrompt?: boolean;
  /** Merged into the template's context, e.g. { enable_thinking: false, date_string: '26 Jul 2024' }. */
  variables?: Record<string, unknown>;
}

export interface ChatOptions extends GenerateOptions {
  variables?: Record<string, unknown>;
}

export interface EncodeOptions {
  /** BOS first. Default: as the vocabulary asks (tokenizer.ggml.add_bos_token, llama.cpp's defaults). */
  bos?: boolean;
  /**
   * Turn control-token texts in the text ('<|im_start|>', '<|eot_id|>', '</s>', ...) into
   * those tokens, longest first, as llama.cpp's parse_special does. Default false: they are
   * encoded as plain text. User-defined tokens are matched either way (as in llama.cpp).
   */
  special?: boolean;
  /** EOS last. Default: as the vocabulary asks (tokenizer.ggml.add_eos_token, usually false). */
  eos?: boolean;
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** See ModelInfo.eogIds. */
  readonly eogIds: number[];
  /** The file's tokenizer.chat_template, or null. */
  readonly chatTemplate: string | null;
  /**
   * The chat template rendered as Hugging Face's apply_chat_template renders it. Errors: no
   * template (UNSUPPORTED), a template that raises (TEMPLATE, its message), bad messages.
   */
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): string;
  /**
   * The prompt ids of a conversation: the template's text with special tokens parsed, message
   * text never (a user's "<|im_start|>" stays text), BOS first when the vocabulary wants it.
   */
  tokenizeChat(messages: ChatMessage[], options?: ChatTemplateOptions): Int32Array;
  encode(text: string, options?: EncodeOptions): Int32Array;
  decode(ids: ArrayLike<number>): string;
  tokenText(id: number): string;
  /** The raw bytes a token appends to a stream. */
  pieceBytes(id: number): Uint8Array;
  dispose(): void;
}

export class Model extends Tokenizer {
  readonly info: ModelInfo;
  /** Token ids of text: encode() with the same options and defaults. */
  tokenize(text: string, options?: EncodeOptions): Int32Array;
  /** Logits after feeding tokens from position 0 in a fresh context. */
  logits(tokens: ArrayLike<number>): Float32Array;
  /** prompt: text (tokenized as tokenize(prompt) does) or token ids used as they are. */
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions): AsyncGenerator<GenerateStep, void, void>;
  /** generate() from tokenizeChat(messages, { variables }). */
  chat(messages: ChatMessage[], options?: ChatOptions): AsyncGenerator<GenerateStep, void, void>;
}

export function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model>;
export function loadTokenizer(source: ModelSource, options?: Omit<LoadOptions, 'tokenizer'>): Promise<Tokenizer>;
