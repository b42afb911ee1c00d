// Issue 12's memory bound: loading streams the file into wasm memory once, so the module's
// memory after loading and generating stays within file size + run state + 64 MiB. Each case
// runs on a fresh instance of the module (memory never shrinks, so its size is the peak) and
// through each way in: a path (chunked reads), a Blob (a browser File's stream) and bytes.
// stories15M F32 (59 MiB) is large enough that a second copy of the file would show: the
// overhead must also stay under half the file. The 128k-token BPE vocabulary of arch-llama3
// checks the tokenizer's share. The real-size model of `make models-large` (0.8 GB, not made by
// `make test`) is checked too when it is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { loadWasm } from '../web/wasm.js';
import { repoRoot } from './helpers.js';

const MiB = 2 ** 20;
const SLACK = 64 * MiB;
let instances = 0;

/** A module of its own: the loader caches one per URL, and a query makes the URL new. */
async function freshModule() {
  const url = `./dist/nucleus-simd.wasm?memory-test-${instances++}`;
  return { url, wasm: await loadWasm({ url }) };
}

const SOURCES = {
  path: (file) => file,
  blob: (file) => new Blob([readFileSync(file)]),
  bytes: (file) => new Uint8Array(readFileSync(file)),
};

async function peakOf(file, kind) {
  const { url, wasm } = await freshModule();
  const model = await loadModel(SOURCES[kind](file), { wasmUrl: url });
  try {
    let steps = 0;
    for await (const step of model.generate('Once upon a time', { maxTokens: 4, seed: 1, temperature: 1, topP: 0.9 })) {
      steps++;
      if (step.finishReason) break;
    }
    assert.ok(steps > 0);
    const { bytes, stateBytes } = model.info;
    return { peak: wasm.memory.buffer.byteLength, bytes, stateBytes };
  } finally {
    model.dispose();
  }
}

for (const name of ['stories15M-f32', 'stories15M-q8_0', 'arch-llama3-f32']) {
  for (const kind of Object.keys(SOURCES)) {
    test(`${name} from a ${kind}: peak wasm memory <= file + run state + 64 MiB`, async () => {
      const file = join(repoRoot, 'models', `${name}.gguf`);
      const { peak, bytes, stateBytes } = await peakOf(file, kind);
      assert.ok(stateBytes > 0, 'the run state is reported');
      const over = peak - bytes - stateBytes;
      const detail = `peak ${peak}, file ${bytes}, run state ${stateBytes}: ${(over / MiB).toFixed(1)} MiB over`;
      assert.ok(peak <= bytes + stateBytes + SLACK, detail);
      if (bytes > 32 * MiB) assert.ok(over < bytes / 2, `a second copy of the file? ${detail}`);
    });
  }
}

const LARGE = join(repoRoot, 'models/llama3.2-1b-q4_k_m.gguf');
test('llama3.2-1b-q4_k_m from a path: peak wasm memory <= file + run state + 64 MiB',
  { skip: !existsSync(LARGE) && 'models/llama3.2-1b-q4_k_m.gguf is missing (make models-large)' }, async () => {
    const { peak, bytes, stateBytes } = await peakOf(LARGE, 'path');
    assert.ok(peak <= bytes + stateBytes + SLACK, `peak ${peak}, file ${bytes}, run state ${stateBytes}`);
  });

test('stateBytes counts the KV cache of the whole context', async () => {
  const { url } = await freshModule();
  const model = await loadModel(join(repoRoot, 'models/stories15M-q8_0.gguf'), { wasmUrl: url });
  try {
    const { layers, contextLength, kvHeads, heads, embeddingLength, stateBytes } = model.info;
    const kvCache = 2 * layers * contextLength * (embeddingLength / heads) * kvHeads * 4;
    assert.ok(stateBytes > kvCache && stateBytes < kvCache + 4 * MiB, `${stateBytes} vs KV cache ${kvCache}`);
  } finally {
    model.dispose();
  }
});
