// Manual check of our quantizer against llama.cpp's (bench/llama_quantize.sh runs it):
//   node bench/gguf_diff.js OURS.gguf THEIRS.gguf '[[1, 450, 4996], ...]'
// compares the two files tensor by tensor (type, and for the same type the bytes, block by
// block), then runs both files through the llama.cpp parity comparison (wasm_tests/oracle.js:
// llama.cpp's greedy path from each prompt (token ids), our model teacher-forced along it)
// and prints the figures.
import { readFileSync } from 'node:fs';
import { readGgufFileInfo, GgmlType } from 'node-llama-cpp';
import { loadModel } from '../web/index.js';
import { openLlama, compareWithOurs } from '../wasm_tests/oracle.js';

// [block bytes, block elements] of the types the files here hold.
const BLOCK = { F32: [4, 1], F16: [2, 1], BF16: [2, 1], Q4_0: [18, 32], Q4_1: [20, 32], Q5_0: [22, 32],
  Q5_1: [24, 32], Q8_0: [34, 32], Q2_K: [84, 256], Q3_K: [110, 256], Q4_K: [144, 256], Q5_K: [176, 256],
  Q6_K: [210, 256], IQ4_NL: [18, 32], IQ4_XS: [136, 256] };

async function tensors(path) {
  const info = await readGgufFileInfo(path);
  const bytes = readFileSync(path);
  const out = new Map();
  for (const t of info.fullTensorInfo) {
    const type = GgmlType[t.ggmlType];
    const elements = t.dimensions.reduce((n, d) => n * Number(d), 1);
    const [blockBytes, blockSize] = BLOCK[type] ?? [0, 1];
    const start = Number(t.fileOffset);
    out.set(t.name, { type, blockBytes, data: bytes.subarray(start, start + (elements / blockSize) * blockBytes) });
  }
  return out;
}

function diffTensors(ours, theirs) {
  let same = 0;
  for (const [name, a] of ours) {
    const b = theirs.get(name);
    if (!b) { console.log(`${name}: only in ours`); continue; }
    if (a.type !== b.type) { console.log(`${name}: ${a.type} in ours, ${b.type} in theirs`); continue; }
    if (!a.blockBytes) { console.log(`${name}: ${a.type}, not compared`); continue; }
    let blocks = 0;
    for (let i = 0; i < a.data.length; i += a.blockBytes) {
      if (Buffer.compare(a.data.subarray(i, i + a.blockBytes), b.data.subarray(i, i + a.blockBytes)) !== 0) blocks++;
    }
    if (blocks === 0) same++;
    else console.log(`${name}: ${a.type}, ${blocks} of ${a.data.length / a.blockBytes} blocks differ`);
  }
  for (const name of theirs.keys()) if (!ours.has(name)) console.log(`${name}: only in theirs`);
  console.log(`${same} of ${ours.size} tensors byte-identical`);
}

async function parity(path, prompts) {
  const llama = await openLlama(path);
  const model = await loadModel(path);
  try {
    for (const prompt of prompts) {
      const r = compareWithOurs(model, await llama.greedyPath(prompt, 32));
      console.log(`${path} [${prompt}]: top-1 ${r.agree}/${r.steps}, max diff ${r.maxDiffPct.toFixed(3)}% of range`);
    }
  } finally {
    model.dispose();
    await llama.dispose();
  }
}

const [oursPath, theirsPath, promptsJson] = process.argv.slice(2);
if (!promptsJson) {
  console.error("usage: node bench/gguf_diff.js OURS.gguf THEIRS.gguf '[[1, 450, 4996], ...]'");
  process.exit(1);
}
const prompts = JSON.parse(promptsJson);
diffTensors(await tensors(oursPath), await tensors(theirsPath));
await parity(oursPath, prompts);
await parity(theirsPath, prompts);
