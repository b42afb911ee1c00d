// The model API behind a Web Worker message protocol, so a page never blocks on the model.
// Requests: { id, op, ...args }. Replies: { id, type: 'progress' | 'step' | 'steps' | 'result' | 'error', ... }.
// ops: load { source, options }, generate { prompt, options, batch } (step { step } per token;
//      with batch: true, steps { steps } about BATCH_MS apart), abort { target },
//      sweep { prompts, topPs, temperatures, seeds, maxTokens } (progress { done, total, row? };
//      result: the rows of web/trace.js runSweep), tokenize { text, bos }, decode { ids },
//      tokenText { ids }, pieces { ids }, logits { tokens }, info, dispose,
//      applyChatTemplate { messages, options }, tokenizeChat { messages, options },
//      chat { messages, options, batch } (steps as generate),
//      runtime { module, simd, relaxed } (the page's compiled wasm, used instead of fetching it).
import { loadModel } from './index.js';
import { loadWasm } from './wasm.js';

let model = null;
const running = new Map(); // generate or sweep request id -> AbortController
// Posting a message per token costs more than the token's own JS work (it wakes the page's
// thread); a frame's worth of tokens in one message reads the same on screen.
const BATCH_MS = 16;

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

/** Runs a generate or chat iterator, posting its steps (in batches about BATCH_MS apart when batch). */
async function stream(id, start, batch) {
  const controller = new AbortController();
  running.set(id, controller);
  let batched = [];
  let transfer = [];
  let sentAt = -Infinity;
  const flush = () => {
    reply({ id, type: 'steps', steps: batched }, transfer);
    batched = [];
    transfer = [];
    sentAt = performance.now();
  };
  try {
    let stepAt = performance.now();
    for await (const step of start(controller.signal)) {
      const buffers = [step.ids.buffer, step.probs.buffer, step.cumulative.buffer];
      if (step.logits) buffers.push(step.logits.buffer);
      if (!batch) {
        reply({ id, type: 'step', step }, buffers);
        continue;
      }
      batched.push(step);
      transfer.push(...buffers);
      // Post now unless the next step, due at this one's pace, still falls within BATCH_MS of the last post.
      const now = performance.now();
      if (step.finishReason || 2 * now - stepAt - sentAt >= BATCH_MS) flush();
      stepAt = now;
    }
  } finally {
    if (batched.length > 0) flush(); // steps before an error reach the page first
    running.delete(id);
  }
  return null;
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
  generate({ id, prompt, options = {}, batch = false }) {
    return stream(id, (signal) => requireModel().generate(prompt, { ...options, signal }), batch);
  },
  chat({ id, messages, options = {}, batch = false }) {
    return stream(id, (signal) => requireModel().chat(messages, { ...options, signal }), batch);
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
  async runtime({ module, simd, relaxed }) {
    await loadWasm({ module, simd, relaxed });
    return null;
  },
  info: () => requireModel().info,
  tokenize: ({ text, bos = true }) => [...requireModel().tokenize(text, { bos })],
  decode: ({ ids }) => requireModel().decode(ids),
  tokenText: ({ ids }) => ids.map((id) => requireModel().tokenText(id)),
  pieces: ({ ids }) => ids.map((id) => requireModel().pieceBytes(id)),
  applyChatTemplate: ({ messages, options }) => requireModel().applyChatTemplate(messages, options),
  tokenizeChat: ({ messages, options }) => [...requireModel().tokenizeChat(messages, options)],
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
