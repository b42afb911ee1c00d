// Tokenizer parity with llama.cpp (node-llama-cpp's prebuilt CPU addon, vocab-only loads): for
// every vocabulary in ../shared/models/vocab, llama.cpp's test-tokenizer-0 texts and texts full
// of special tokens must give the same ids with special parsing on and off; the vocabulary's
// BOS / EOS wishes and the end-of-generation ids must match too.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama } from 'node-llama-cpp';
import { loadTokenizer } from '../web/index.js';
import { sharedDir } from './helpers.js';

const VOCAB = join(sharedDir, 'models/vocab');
const SEP = '\n__ggml_vocab_test__\n';

const cases = (file) => readFileSync(join(VOCAB, file), 'utf8').split(SEP).slice(0, -1);

// Chat markup of several families, adjacent and overlapping special texts, spaces around them
// (Phi-3 strips those after its special tokens), and near misses that must stay text.
const SPECIAL_TEXTS = [
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  '<s>[INST] What is 2+2? [/INST] 4</s><s>[INST] and 3+3? [/INST]',
  '<|user|>\nWrite a haiku.<|end|>\n<|assistant|>\nLeaves fall <|end|>  \n next',
  '<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n',
  '<|endoftext|>text<|endoftext|><|endoftext|>',
  '<|im_start|><|im_start|><<|im_end|>><|im_end',
  '</s> </s>\n</s>\t x <unk> <s>  <s>',
  'a<|fim_prefix|>b<|fim_suffix|>c<|fim_middle|>d<|file_sep|>e<|repo_name|>f',
  '<|reserved_special_token_0|> <|eom_id|> <|python_tag|>',
  ' <|im_start|> leading and trailing spaces <|im_end|> ',
];

/**
 * A vocab-only GGUF (no tensors) with tokenizer.ggml.pre set to `pre`, or removed when pre is
 * null: llama.cpp's "default" pre-tokenizer, which no stored vocabulary uses.
 */
function withPre(bytes, pre) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  let at = 24;
  const str = () => {
    const n = Number(view.getBigUint64(at, true));
    const s = new TextDecoder().decode(bytes.subarray(at + 8, at + 8 + n));
    at += 8 + n;
    return s;
  };
  const skip = (type) => {
    if (type === 8) str();
    else if (type === 9) {
      const inner = view.getUint32(at, true);
      const count = Number(view.getBigUint64(at + 4, true));
      at += 12;
      for (let i = 0; i < count; i++) skip(inner);
    } else at += SIZES[type];
  };
  assert.equal(Number(view.getBigUint64(8, true)), 0, 'a vocab-only file');
  const kept = [];
  let nKv = Number(view.getBigUint64(16, true));
  for (let i = 0, count = nKv; i < count; i++) {
    const start = at;
    const key = str();
    skip(view.getUint32((at += 4) - 4, true));
    if (key === 'tokenizer.ggml.pre') nKv--;
    else kept.push(bytes.subarray(start, at));
  }
  if (pre !== null) {
    const enc = (s) => { const b = new TextEncoder().encode(s); const out = new Uint8Array(8 + b.length); new DataView(out.buffer).setBigUint64(0, BigInt(b.length), true); out.set(b, 8); return out; };
    const type = new Uint8Array(4);
    new DataView(type.buffer).setUint32(0, 8, true);
    kept.push(enc('tokenizer.ggml.pre'), type, enc(pre));
    nKv++;
  }
  const head = bytes.slice(0, 24);
  new DataView(head.buffer).setBigUint64(16, BigInt(nKv), true);
  const size = [head, ...kept].reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(Math.ceil(size / 32) * 32);
  let o = 0;
  for (const b of [head, ...kept]) out.set(b, (o += b.length) - b.length);
  return out;
}

const FILES = ['gpt-2', 'llama-bpe', 'qwen2', 'llama-spm', 'phi-3', 'starcoder'].map((n) => `ggml-vocab-${n}.gguf`);
// GPT-2's vocabulary under llama.cpp's "default" pre-tokenizer, named and by omission.
const VARIANTS = { 'gpt-2 as "default"': 'default', 'gpt-2 without a pre-tokenizer': null };

let llama, scratch;
before(async () => {
  llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: 'error', maxThreads: 1 });
  scratch = mkdtempSync(join(tmpdir(), 'nucleus-vocab-'));
  const gpt2 = readFileSync(join(VOCAB, 'ggml-vocab-gpt-2.gguf'));
  for (const [name, pre] of Object.entries(VARIANTS)) writeFileSync(join(scratch, name), withPre(gpt2, pre));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

for (const file of [...FILES, ...Object.keys(VARIANTS)]) {
  describe(file, () => {
    let ours, theirs;
    before(async () => {
      const path = file in VARIANTS ? join(scratch, file) : join(VOCAB, file);
      ours = await loadTokenizer(path);
      theirs = await llama.loadModel({ modelPath: path, vocabOnly: true, gpuLayers: 0 });
    });
    after(async () => {
      ours.dispose();
      await theirs.dispose();
    });

    const own = join(VOCAB, `${file}.inp`);
    // the default pre-tokenizer's own rules: punctuation runs, number runs, 3-digit groups
    const extra = file in VARIANTS ? ['a+b=c; x<=y|z ~ ^$ 12345678 ١٢٣4567 3.14159 (((a))) "q" ...!?', 'x'.repeat(5) + '1234567890123'] : [];
    const texts = [...new Set([...cases('ggml-vocab-gpt-2.gguf.inp'), ...(existsSync(own) ? cases(`${file}.inp`) : []), ...SPECIAL_TEXTS, ...extra])];

    for (const special of [false, true]) {
      test(`${texts.length} texts, special ${special}: same ids as llama.cpp`, () => {
        let exact = 0;
        const wrong = [];
        for (const text of texts) {
          const want = [...theirs.tokenize(text, special)];
          const got = [...ours.encode(text, { bos: false, eos: false, special })];
          if (JSON.stringify(got) === JSON.stringify(want)) exact++;
          else wrong.push(`${JSON.stringify(text)}\n  llama.cpp ${want}\n  ours      ${got}`);
        }
        console.log(`# ${file} special ${special}: ${exact}/${texts.length} exact`);
        assert.equal(wrong.length, 0, wrong.slice(0, 3).join('\n'));
      });
    }

    test('BOS / EOS wishes and end-of-generation ids', () => {
      assert.equal(ours.addBos, theirs.tokens.shouldPrependBosToken);
      assert.equal(ours.addEos, theirs.tokens.shouldAppendEosToken);
      const eog = [];
      for (let id = 0; id < ours.vocabSize; id++) if (theirs.isEogToken(id)) eog.push(id);
      assert.deepEqual(ours.eogIds, eog);
    });
  });
}
