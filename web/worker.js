// The model API behind a Web Worker message protocol, so a page never blocks on the model.
// Requests: { id, op, ...args }. Replies: { id, type: 'progress' | 'step' | 'result' | 'error', ... }.
// ops: load { source, options }, generate { prompt, options }, abort { target },
//      sweep { prompts, topPs, temperatures, seeds, maxTokens } (progress { done, total, row? };
//      result: the rows of web/trace.js runSweep), tokenize { text, bos }, decode { ids },
//      tokenText { ids }, pieces { ids }, logits { tokens }, info, dispose.
import { loadModel } from './index.js';

let model = null;
const running = new Map(); // generate or sweep request id -> AbortController

function reply(message, transfer = []) {
  self.postMessage(message, transfer);
}

function errorOf(error) {
  return { message: error?.message ?? String(error), code: error?.code ?? 'INTERNAL' };
}

function requireModel() {
  if (!model) throw Object.assign(new Error('no model is loaded'), { code: 'INVALID_STATE' });
  return model;
}

const OPS = {
  async load({ id, source, options = {} }) {
    const next = await loadModel(source, {
      ...options,
      onProgress: ({ loaded, total }) => reply({ id, type: 'progress', loaded, total }),
    });
    model?.dispose();
    model = next;
    return model.info;
  },
  async generate({ id, prompt, options = {} }) {
    const controller = new AbortController();
    running.set(id, controller);
    try {
      for await (const step of requireModel().generate(prompt, { ...options, signal: controller.signal })) {
        const transfer = [step.ids.buffer, step.probs.buffer, step.cumulative.buffer];
        if (step.logits) transfer.push(step.logits.buffer);
        reply({ id, type: 'step', step }, transfer);
      }
    } finally {
      running.delete(id);
    }
    return null;
  },
  // One runSweep per (topP, temperature), in runSweep's order, so each setting's row reaches
  // the page as soon as it is done. An abort ends it with an ABORTED error.
  async sweep({ id, prompts, topPs, temperatures, seeds, maxTokens }) {
    const controller = new AbortController();
    running.set(id, controller); // before any await: an abort sent right after must find it
    try {
      const { runSweep } = await import('./trace.js'); // only pages that sweep load it
      const total = topPs.length * temperatures.length * prompts.length * seeds;
      const rows = [];
      for (const topP of topPs) {
        for (const temperature of temperatures) {
          const before = rows.length * prompts.length * seeds;
          const [row] = await runSweep(requireModel(), {
            prompts, topPs: [topP], temperatures: [temperature], seeds, maxTokens, signal: controller.signal,
            onProgress: ({ done }) => done < prompts.length * seeds && reply({ id, type: 'progress', done: before + done, total }),
          });
          rows.push(row);
          reply({ id, type: 'progress', done: before + prompts.length * seeds, total, row });
        }
      }
      return rows;
    } finally {
      running.delete(id);
    }
  },
  abort({ target }) {
    running.get(target)?.abort();
    return null;
  },
  info: () => requireModel().info,
  tokenize: ({ text, bos = true }) => [...requireModel().tokenize(text, { bos })],
  decode: ({ ids }) => requireModel().decode(ids),
  tokenText: ({ ids }) => ids.map((id) => requireModel().tokenText(id)),
  pieces: ({ ids }) => ids.map((id) => requireModel().pieceBytes(id)),
  logits({ tokens }) {
    const logits = requireModel().logits(tokens);
    return logits;
  },
  dispose() {
    model?.dispose();
    model = null;
    return null;
  },
};

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  const run = OPS[op];
  try {
    if (!run) throw new Error(`unknown worker op "${op}"`);
    const value = await run(data);
    reply({ id, type: 'result', value }, value instanceof Float32Array ? [value.buffer] : []);
  } catch (error) {
    reply({ id, type: 'error', error: errorOf(error) });
  }
};
