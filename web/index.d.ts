// Types for the Nucleus ES-module API (web/index.js).

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
  | 'ABORTED';

export class NucleusError extends Error {
  readonly name: 'NucleusError';
  readonly code: ErrorCode;
  /** The C result code, when the error came from the wasm module. */
  readonly errno?: number;
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
