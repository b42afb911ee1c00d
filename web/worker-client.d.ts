// Types for web/worker-client.js: the model API run in a Web Worker (web/worker.js).
import type { ChatMessage, ChatOptions, ChatTemplateOptions, GenerateOptions, GenerateStep, LoadOptions, ModelInfo, ModelSource } from './index.js';

/** A p x T sweep run in the worker (web/trace.js runSweep). */
export interface SweepPlan {
  prompts: string[];
  topPs: number[];
  temperatures: number[];
  /** Runs per prompt: seeds 0 .. seeds - 1. */
  seeds: number;
  maxTokens: number;
}

/** One sweep row: a (topP, temperature) setting and the means over its runs. */
export interface SweepRow {
  topP: number;
  temperature: number;
  runs: number;
  tokens: number;
  meanNucleusSize: number;
  medianNucleusSize: number;
  meanEntropy: number;
  meanTruncatedMass: number;
  meanKL: number;
  distinct1: number;
  distinct2: number;
  distinct3: number;
  repetitionRate: number;
  meanProb: number;
  tokensPerSecond: number;
}

export class WorkerModel {
  /**
   * workerUrl defaults to web/worker.js beside this module. runtime: the page's compiled wasm
   * from compileRuntime(), so the worker neither fetches nor compiles its own.
   */
  constructor(workerUrl?: string | URL, options?: { runtime?: { module: WebAssembly.Module; simd: boolean; relaxed?: boolean } });
  /** Loads a model in the worker (a URL, bytes or a Blob/File); resolves to its info. */
  load(source: ModelSource, options?: Omit<LoadOptions, 'tokenizer'>): Promise<ModelInfo>;
  tokenize(text: string, options?: { bos?: boolean }): Promise<number[]>;
  decode(ids: ArrayLike<number>): Promise<string>;
  tokenText(ids: ArrayLike<number>): Promise<string[]>;
  /** The raw bytes each token appends to a stream. */
  pieces(ids: ArrayLike<number>): Promise<Uint8Array[]>;
  /** Logits after feeding tokens from position 0. */
  logits(tokens: ArrayLike<number>): Promise<Float32Array>;
  /** Rejects with code ABORTED when signal aborts. */
  sweep(plan: SweepPlan, options?: { onProgress?: (progress: { done: number; total: number; row?: SweepRow }) => void; signal?: AbortSignal }): Promise<SweepRow[]>;
  /** Steps as Model.generate gives them; they arrive in batches about 16 ms apart. */
  generate(prompt: string | ArrayLike<number>, options?: Omit<GenerateOptions, 'trace'>): AsyncGenerator<GenerateStep, void, void>;
  /** Steps as Model.chat gives them, in batches as generate. */
  chat(messages: ChatMessage[], options?: Omit<ChatOptions, 'trace'>): AsyncGenerator<GenerateStep, void, void>;
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): Promise<string>;
  tokenizeChat(messages: ChatMessage[], options?: ChatTemplateOptions): Promise<number[]>;
  terminate(): void;
}
