// Traces (one JSON line per generated token, after a header line), their replay, and sweeps
// over p and temperature. The file functions are Node-only; runSweep runs anywhere a model does.
import { summarize } from './metrics.js';

export const TRACE_VERSION = 1;

const SAMPLER_KEYS = ['temperature', 'topP', 'topK', 'minP', 'minKeep', 'penaltyLastN', 'repeatPenalty', 'frequencyPenalty', 'presencePenalty'];

/** The sampler parameters of generate options, for a trace header. */
export function samplerParams(options) {
  const params = {};
  for (const key of SAMPLER_KEYS) if (options[key] !== undefined) params[key] = options[key];
  return params;
}

export async function sha256File(path) {
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/** The header line of a trace: what is needed to run the same generation again. */
export async function traceHeader(model, modelPath, { prompt, seed = 0, maxTokens, ...options }) {
  return {
    version: TRACE_VERSION,
    model: {
      name: model.info.name,
      sha256: await sha256File(modelPath),
      quantization: model.info.quantization,
      path: modelPath,
    },
    prompt,
    params: samplerParams(options),
    seed: String(seed),
    maxTokens,
  };
}

/** Reads a trace file: { header, steps }. Throws a readable Error for a malformed file. */
export async function readTrace(path) {
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON line`);
    }
  });
  const [header, ...steps] = parsed;
  if (!header || header.version !== TRACE_VERSION || !header.model || typeof header.prompt !== 'string') {
    throw new Error(`${path}: the first line is not a version ${TRACE_VERSION} trace header`);
  }
  steps.forEach((step, i) => {
    if (step.index !== i || !Number.isInteger(step.token)) throw new Error(`${path}:${i + 2}: not step ${i} of the trace`);
  });
  return { header, steps };
}

/**
 * Generates again with a trace's settings on model and compares tokens. Returns
 * { ok: true, steps } or { ok: false, index, expected, actual } for the first difference.
 */
export async function replayTrace(model, { header, steps }) {
  const options = { ...header.params, seed: BigInt(header.seed), maxTokens: header.maxTokens ?? steps.length, reportEntries: 0 };
  let index = 0;
  for await (const step of model.generate(header.prompt, options)) {
    const expected = steps[index];
    if (!expected || expected.token !== step.token) {
      return { ok: false, index, expected: expected?.token ?? null, actual: step.token, text: step.text };
    }
    index++;
  }
  if (index !== steps.length) return { ok: false, index, expected: steps[index].token, actual: null };
  return { ok: true, steps: index };
}

/**
 * Runs every (topP, temperature) pair over prompts x seeds 0..seeds-1 and summarises each
 * setting (see metrics.js summarize). onProgress({ done, total }) after each run.
 */
export async function runSweep(model, { prompts, topPs, temperatures, seeds, maxTokens, onProgress, signal }) {
  const rows = [];
  const total = topPs.length * temperatures.length * prompts.length * seeds;
  let done = 0;
  for (const topP of topPs) {
    for (const temperature of temperatures) {
      const runs = [];
      for (const prompt of prompts) {
        for (let seed = 0; seed < seeds; seed++) {
          const run = { tokens: [], steps: [], seconds: 0 };
          const started = performance.now();
          for await (const step of model.generate(prompt, { topP, temperature, seed, maxTokens, signal, reportEntries: 0 })) {
            if (step.finishReason === 'abort') throw Object.assign(new Error('sweep aborted'), { code: 'ABORTED' });
            run.tokens.push(step.token);
            run.steps.push({ nucleusSize: step.nucleusSize, nucleusMass: step.nucleusMass, entropy: step.entropy, prob: step.prob });
          }
          run.seconds = (performance.now() - started) / 1000;
          runs.push(run);
          onProgress?.({ done: ++done, total });
        }
      }
      rows.push({ topP, temperature, ...summarize(runs) });
    }
  }
  return rows;
}

const COLUMNS = [
  ['topP', 'p', 2], ['temperature', 'T', 2], ['meanNucleusSize', 'mean size', 1], ['medianNucleusSize', 'median size', 1],
  ['meanEntropy', 'entropy', 3], ['meanTruncatedMass', 'cut mass', 4], ['meanKL', 'KL', 4], ['distinct1', 'dist-1', 3],
  ['distinct2', 'dist-2', 3], ['distinct3', 'dist-3', 3], ['repetitionRate', 'rep-4', 3], ['meanProb', 'mean prob', 3],
  ['tokensPerSecond', 'tok/s', 0],
];

/** A sweep as CSV (machine-readable, full precision). */
export function sweepCsv(rows) {
  const keys = COLUMNS.map(([key]) => key);
  return [keys.join(','), ...rows.map((row) => keys.map((key) => row[key]).join(','))].join('\n') + '\n';
}

/** A sweep as an aligned text table. */
export function sweepTable(rows) {
  const cells = [COLUMNS.map(([, title]) => title), ...rows.map((row) => COLUMNS.map(([key, , digits]) => row[key].toFixed(digits)))];
  const widths = COLUMNS.map((_, c) => Math.max(...cells.map((line) => line[c].length)));
  return cells.map((line) => line.map((cell, c) => cell.padStart(widths[c])).join('  ')).join('\n') + '\n';
}
