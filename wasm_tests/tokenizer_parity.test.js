// Tokenizer parity with llama.cpp (node-llama-cpp's prebuilt CPU addon, vocab-only loads): for
// every vocabulary in ../shared/models/vocab, llama.cpp's test-tokenizer-0 texts and texts full
// of special tokens must give the same ids with special parsing on and off; the vocabulary's
// BOS / EOS wishes and the end-of-generation ids must match too.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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

const FILES = ['gpt-2', 'llama-bpe', 'qwen2', 'llama-spm', 'phi-3', 'starcoder'].map((n) => `ggml-vocab-${n}.gguf`);

let llama;
before(async () => {
  llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: 'error', maxThreads: 1 });
});

for (const file of FILES) {
  describe(file, () => {
    let ours, theirs;
    before(async () => {
      ours = await loadTokenizer(join(VOCAB, file));
      theirs = await llama.loadModel({ modelPath: join(VOCAB, file), vocabOnly: true, gpuLayers: 0 });
    });
    after(async () => {
      ours.dispose();
      await theirs.dispose();
    });

    const own = join(VOCAB, `${file}.inp`);
    const texts = [...new Set([...cases('ggml-vocab-gpt-2.gguf.inp'), ...(existsSync(own) ? cases(`${file}.inp`) : []), ...SPECIAL_TEXTS])];

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
