// Tokenizers through loadTokenizer on the built wasm: llama.cpp's GPT-2 test vectors, known
// SentencePiece ids, round trips, display forms, and errors that leave the handle usable.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadModel, loadTokenizer, NucleusError } from '../web/index.js';
import { synthModel } from '../web/convert.js';
import { repoRoot, sharedDir } from './helpers.js';

const VOCAB = join(sharedDir, 'models/vocab');

// llama.cpp's test-tokenizer-0 inputs: cases separated by this line (the file ends with one),
// and the expected ids, one line of space-separated numbers per case.
const CASES = readFileSync(join(VOCAB, 'ggml-vocab-gpt-2.gguf.inp'), 'utf8').split('\n__ggml_vocab_test__\n').slice(0, -1);
const GPT2_IDS = readFileSync(join(VOCAB, 'ggml-vocab-gpt-2.gguf.out'), 'utf8')
  .split('\n')
  .slice(0, CASES.length)
  .map((line) => line.split(' ').filter(Boolean).map(Number));

const VARIED = [
  'Hello world',
  '  two leading spaces and trailing  ',
  'line one\nline two\n\nline four\r\n',
  'Ünïcödé: naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어, עברית, العربية',
  'emoji 🦙🚀😶‍🌫️ and CJK 我想在apple工作',
  "don't, I'll, they're, 'RE 'S",
  '<s> and </s> are plain text here',
  '\x01\x02\x7f control bytes',
  ' ',
  '\n',
];

describe('GPT-2 byte-level BPE (ggml-vocab-gpt-2.gguf)', () => {
  let tok;
  before(async () => {
    tok = await loadTokenizer(join(VOCAB, 'ggml-vocab-gpt-2.gguf'));
  });
  after(() => tok.dispose());

  test('the file has 46 cases and as many id lines', () => {
    assert.equal(CASES.length, 46);
    assert.equal(GPT2_IDS.length, 46);
    assert.equal(tok.vocabSize, 50257);
  });

  test('every llama.cpp test case encodes to the expected ids and decodes back', () => {
    CASES.forEach((text, i) => {
      const ids = tok.encode(text);
      assert.deepEqual([...ids], GPT2_IDS[i], `case ${i} ${JSON.stringify(text)}`);
      assert.equal(tok.decode(ids), text, `round trip of case ${i}`);
    });
  });

  test('no BOS unless asked; BOS is <|endoftext|> (50256)', () => {
    assert.deepEqual([...tok.encode('Hello world')], [15496, 995]);
    assert.deepEqual([...tok.encode('Hello world', { bos: true })], [50256, 15496, 995]);
    assert.equal(tok.tokenText(50256), '<|endoftext|>');
    assert.equal(tok.decode([15496, 995]), 'Hello world');
  });
});

describe('SentencePiece (ggml-vocab-llama-spm.gguf)', () => {
  let tok;
  before(async () => {
    tok = await loadTokenizer(join(VOCAB, 'ggml-vocab-llama-spm.gguf'));
  });
  after(() => tok.dispose());

  test('known Llama 2 ids from llama.cpp', () => {
    assert.equal(tok.vocabSize, 32000);
    const known = [
      ['Hello world', [15043, 3186]],
      [' Hello world', [29871, 15043, 3186]],
      ['Hello, world!', [15043, 29892, 3186, 29991]],
      [' ', [259]],
      ['\n\n', [29871, 13, 13]],
      [' this is 🦙.cpp', [29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223]], // 🦙 as 4 byte tokens
    ];
    for (const [text, ids] of known) assert.deepEqual([...tok.encode(text, { bos: false })], ids, JSON.stringify(text));
    // BOS by default: SentencePiece vocabularies ask for it (llama.cpp's default without the key)
    assert.equal(tok.addBos, true);
    assert.deepEqual([...tok.encode('Hello world')], [1, 15043, 3186]);
    assert.deepEqual([...tok.encode('Hello world', { bos: true, eos: true })], [1, 15043, 3186, 2]);
  });

  test('round trips (with and without BOS), pieces and display forms', () => {
    for (const text of [...VARIED, ...CASES.slice(0, 20)]) {
      assert.equal(tok.decode(tok.encode(text, { bos: false })), text, JSON.stringify(text));
      assert.equal(tok.decode(tok.encode(text)), text, `${JSON.stringify(text)} with BOS`);
    }
    assert.equal(tok.decode([1, 15043, 3186, 2]), 'Hello world');
    assert.deepEqual(tok.pieceBytes(15043), new TextEncoder().encode(' Hello'));
    assert.equal(tok.tokenText(15043), ' Hello');
    assert.equal(tok.tokenText(1), '<s>');
    assert.equal(tok.tokenText(2), '</s>');
    assert.equal(tok.tokenText(243), '<0xF0>'); // byte tokens that are not UTF-8 on their own
    assert.deepEqual(tok.pieceBytes(243), Uint8Array.of(0xf0));
    assert.deepEqual(tok.pieceBytes(1), new Uint8Array(0));
  });

  test('lone surrogates reach the tokenizer as U+FFFD (TextEncoder replaces them)', () => {
    assert.deepEqual([...tok.encode('a\uD800b')], [...tok.encode('a\uFFFDb')]);
    assert.equal(tok.decode(tok.encode('a\uDFFFb')), 'a\uFFFDb');
  });

  test('bad ids and arguments are INVALID_ARGUMENT errors; the handle works afterwards', () => {
    const invalid = (fn, what) => assert.throws(fn, (e) => e instanceof NucleusError && e.code === 'INVALID_ARGUMENT' &&
      /outside the vocabulary|must be/.test(e.message), what);
    invalid(() => tok.decode([15043, 32000]), 'decode 32000');
    invalid(() => tok.decode([-1]), 'decode -1');
    invalid(() => tok.tokenText(40000), 'tokenText');
    invalid(() => tok.pieceBytes(-3), 'pieceBytes');
    invalid(() => tok.encode(42), 'encode a number');
    invalid(() => tok.encode('x', { special: 1 }), 'special must be a boolean');
    invalid(() => tok.encode('x', { bos: 'yes' }), 'bos must be a boolean');
    assert.equal(tok.decode([15043, 3186]), 'Hello world');
    assert.deepEqual([...tok.encode('Hello world', { bos: false })], [15043, 3186]);
  });

  test('a disposed tokenizer says so', async () => {
    const t = await loadTokenizer(join(VOCAB, 'ggml-vocab-llama-spm.gguf'));
    t.dispose();
    t.dispose(); // twice is fine
    assert.throws(() => t.encode('x'), { name: 'NucleusError', code: 'DISPOSED' });
    assert.throws(() => t.decode([1]), { code: 'DISPOSED' });
  });
});

describe('other GGUF vocabularies', () => {
  // Expected ids from llama.cpp's models/ggml-vocab-{phi-3,starcoder}.gguf.out.
  const EXPECTED = {
    'ggml-vocab-phi-3.gguf': { size: 32064, cases: { 12: [29871, 15043, 3186], 28: [268, 15043, 13, 1678, 15043], 36: [29871, 29941, 29941, 29941] } },
    'ggml-vocab-starcoder.gguf': { size: 49152, cases: { 12: [12009, 5810], 28: [283, 12009, 303, 12009], 36: [56, 56, 56] } },
  };
  for (const [file, { size, cases }] of Object.entries(EXPECTED)) {
    test(file, async () => {
      const tok = await loadTokenizer(join(VOCAB, file));
      assert.equal(tok.vocabSize, size);
      for (const [i, ids] of Object.entries(cases)) {
        assert.deepEqual([...tok.encode(CASES[i], { bos: false })], ids, `case ${i} ${JSON.stringify(CASES[i])}`);
        assert.equal(tok.decode(tok.encode(CASES[i])), CASES[i]);
      }
      tok.dispose();
    });
  }
});

describe('loadTokenizer refusals', () => {
  test('a llama2.c tokenizer.bin alone (it does not store its size) or bytes that are no GGUF', async () => {
    for (const source of [join(sharedDir, 'models/stories260K/tok512.bin'), new Uint8Array([1, 2, 3, 4, 5])]) {
      await assert.rejects(loadTokenizer(source), (e) => e instanceof NucleusError && e.code === 'BAD_FORMAT' && /GGUF/.test(e.message));
    }
    await assert.rejects(loadTokenizer(new Uint8Array(0)), { code: 'BAD_FORMAT', message: /empty/ });
    const tok = await loadTokenizer(join(VOCAB, 'ggml-vocab-llama-spm.gguf'));
    assert.deepEqual([...tok.encode('Hello world', { bos: false })], [15043, 3186]);
    tok.dispose();
  });
});

// The ids below are llama.cpp's (checked against node-llama-cpp in tokenizer_parity.test.js).
describe('special tokens and end of generation', () => {
  const open = (name) => loadTokenizer(join(VOCAB, `ggml-vocab-${name}.gguf`));

  test('Llama 3 (llama-bpe): header tokens with special on, plain text off; BOS by default', async () => {
    const tok = await open('llama-bpe');
    const text = '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>';
    assert.equal(tok.addBos, true);
    const on = [...tok.encode(text, { bos: false, special: true })];
    assert.deepEqual(on, [128000, 128006, 882, 128007, 271, 13347, 128009]);
    const off = [...tok.encode(text, { bos: false })];
    assert.ok(!off.some((id) => id >= 128000), 'no special ids without special');
    assert.equal(tok.decode(off), text);
    assert.deepEqual([...tok.encode('Hi')], [128000, 13347]);
    assert.deepEqual(tok.eogIds, [128001, 128009]); // <|end_of_text|>, <|eot_id|>
    tok.dispose();
  });

  test('Qwen2: <|im_start|> / <|im_end|>, no BOS by default, <|im_end|> and <|endoftext|> end generation', async () => {
    const tok = await open('qwen2');
    assert.equal(tok.addBos, false);
    const ids = [...tok.encode('<|im_start|>user\nHi<|im_end|>', { special: true })];
    assert.deepEqual(ids, [151644, 872, 198, 13048, 151645]);
    assert.equal(tok.tokenText(151644), '<|im_start|>');
    assert.equal(tok.decode(ids), 'user\nHi'); // control tokens decode to nothing
    for (const id of [151643, 151645]) assert.ok(tok.eogIds.includes(id), `eog ${id}`);
    tok.dispose();
  });

  test('SentencePiece: a space is added after a special token; Phi-3 drops spaces after <|end|>', async () => {
    const spm = await open('llama-spm');
    assert.deepEqual([...spm.encode('<s>Hi</s>', { bos: false, special: true })], [1, 6324, 2]); // ▁Hi
    assert.deepEqual(spm.eogIds, [2]);
    spm.dispose();
    const phi = await open('phi-3');
    const a = [...phi.encode('Hi<|end|>  x', { bos: false, special: true })];
    const b = [...phi.encode('Hi<|end|>x', { bos: false, special: true })];
    assert.deepEqual(a, b);
    assert.ok(a.includes(32007));
    phi.dispose();
  });
});

describe('generate ends on every end-of-generation token', () => {
  let dir, model;
  before(async () => {
    // a tiny random model over Qwen2's vocabulary, whose eog ids are more than its eos
    dir = mkdtempSync(join(tmpdir(), 'nucleus-eog-'));
    const output = join(dir, 'qwen-vocab.gguf');
    await synthModel({ shape: '8,16,1,1,1,151936,16', vocab: join(VOCAB, 'ggml-vocab-qwen2.gguf'), output, type: 'f32', seed: 7 });
    model = await loadModel(output);
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('info.eogIds lists eos and <|im_end|>; a drawn eog token ends the run with "eos" and adds no text', async () => {
    const { eogIds, eosId } = model.info;
    assert.ok(eogIds.includes(eosId) && eogIds.includes(151645) && Object.isFrozen(eogIds));
    const prompt = [...model.tokenize('<|im_start|>user\nHi<|im_end|>', { special: true })];
    assert.deepEqual(prompt, [151644, 872, 198, 13048, 151645]);
    for (const id of [151645, eosId, ...eogIds.filter((x) => x !== 151645 && x !== eosId)]) {
      const steps = [];
      for await (const step of model.generate(prompt, { logitBias: { [id]: 100 }, temperature: 0, maxTokens: 3 })) steps.push(step);
      assert.equal(steps.length, 1, `eog ${id}`);
      assert.equal(steps[0].token, id);
      assert.equal(steps[0].finishReason, 'eos');
      assert.equal(steps[0].text, '');
    }
    // a token that is no eog does not end it
    const steps = [];
    for await (const step of model.generate(prompt, { logitBias: { 13048: 100 }, temperature: 0, maxTokens: 3 })) steps.push(step);
    assert.deepEqual(steps.map((s) => s.finishReason), [null, null, 'length']);
  });
});

test('cli tokenize: no BOS and special texts as text unless --bos / --special', () => {
  const cli = (...flags) => {
    const args = [join(repoRoot, 'web/cli.js'), 'tokenize', '--model', join(VOCAB, 'ggml-vocab-llama-bpe.gguf'), '--text', '<|eot_id|>Hi', ...flags];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const plain = cli();
  assert.ok(plain.length > 2 && plain.every((id) => id < 128000));
  assert.deepEqual(cli('--special'), [128009, 13347]);
  assert.deepEqual(cli('--special', '--bos'), [128000, 128009, 13347]);
  assert.deepEqual(cli('--bos'), [128000, ...plain]);
});
