// The CLI's convert and synth commands: files they write load with loadModel and behave like
// their sources; user mistakes exit 1 with a message and no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, loadTokenizer } from '../web/index.js';
import { repoRoot, sharedDir } from './helpers.js';

const cli = join(repoRoot, 'web/cli.js');
const bin = join(sharedDir, 'models/stories260K/stories260K.bin');
const tok = join(sharedDir, 'models/stories260K/tok512.bin');
const spm = join(sharedDir, 'models/vocab/ggml-vocab-llama-spm.gguf');

function run(...args) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function withTempDir(body) {
  const dir = mkdtempSync(join(tmpdir(), 'nucleus-convert-'));
  return Promise.resolve(body(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

test('convert: stories260K from llama2.c files, f32 bit-identical and q8_0 close', () =>
  withTempDir(async (dir) => {
    const f32 = join(dir, 'f32.gguf');
    const q8 = join(dir, 'q8.gguf');
    let r = run('convert', '--input', bin, '--tokenizer', tok, '--output', f32, '--type', 'f32');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote .*f32\.gguf/);
    r = run('convert', '--input', bin, '--tokenizer', tok, '--output', q8, '--type', 'q8_0');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(q8).size < statSync(f32).size / 2);

    const reference = await loadModel(bin, { tokenizer: tok });
    const converted = await loadModel(f32);
    const quantized = await loadModel(q8);
    try {
      assert.equal(converted.info.name, 'stories260K');
      assert.equal(converted.info.contextLength, 512);
      assert.equal(converted.info.vocabSize, 512);
      assert.equal(converted.info.quantization, 'f32');
      assert.notEqual(quantized.info.quantization, 'f32');
      const text = 'Once upon a time, there was a little dog.';
      const ids = reference.tokenize(text);
      assert.deepEqual(converted.tokenize(text), ids);
      assert.equal(converted.decode(ids), reference.decode(ids));
      const prefix = [...ids];
      let agree = 0;
      for (let step = 0; step < 8; step++) {
        const expected = reference.logits(prefix);
        assert.deepEqual(converted.logits(prefix), expected);
        if (argmax(quantized.logits(prefix)) === argmax(expected)) agree++;
        prefix.push(argmax(expected));
      }
      assert.ok(agree >= 7, `q8_0 agreed on ${agree} of 8 greedy steps`);
    } finally {
      reference.dispose();
      converted.dispose();
      quantized.dispose();
    }
  }));

test('convert: GGUF to GGUF keeps the model', () =>
  withTempDir(async (dir) => {
    const f32 = join(dir, 'f32.gguf');
    const again = join(dir, 'again.gguf');
    assert.equal(run('convert', '--input', bin, '--tokenizer', tok, '--output', f32, '--type', 'f32').code, 0);
    const r = run('convert', '--input', f32, '--output', again, '--type', 'f32');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(again), readFileSync(f32));
  }));

test('synth: a small custom shape loads with the vocabulary and is deterministic per seed', () =>
  withTempDir(async (dir) => {
    const shape = '64,96,2,4,2,32000,32';
    const paths = ['a', 'b', 'c'].map((name) => join(dir, `${name}.gguf`));
    const seeds = ['5', '5', '6'];
    for (let i = 0; i < 3; i++) {
      const r = run('synth', '--shape', shape, '--vocab', spm, '--output', paths[i], '--type', 'q8_0', '--seed', seeds[i]);
      assert.equal(r.code, 0, r.stderr);
    }
    const [a, b, c] = paths.map((path) => readFileSync(path));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);

    const model = await loadModel(paths[0]);
    const vocab = await loadTokenizer(spm);
    try {
      assert.equal(model.info.vocabSize, 32000);
      assert.equal(model.info.contextLength, 32);
      assert.equal(model.info.embeddingLength, 64);
      assert.equal(model.info.layers, 2);
      assert.equal(model.info.kvHeads, 2);
      const text = 'Hello world, this is a test.';
      assert.deepEqual(model.tokenize(text, { bos: false }), vocab.encode(text, { bos: false }));
      const logits = model.logits([1, 15043]);
      assert.equal(logits.length, 32000);
      assert.ok(logits.every(Number.isFinite));
    } finally {
      model.dispose();
      vocab.dispose();
    }
  }));

test('synth --arch: each architecture with a real vocabulary, a reduced preset and a chat template', () =>
  withTempDir(async (dir) => {
    const qwenVocab = join(sharedDir, 'models/vocab/ggml-vocab-qwen2.gguf');
    const template = join(dir, 'template.jinja');
    writeFileSync(template, "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}");
    const cases = [
      ['qwen3', ['--arch', 'qwen3', '--shape', '64,96,2,4,2,0,64,32', '--vocab', qwenVocab, '--chat-template', template]],
      ['gemma3', ['--shape', 'gemma3-270m', '--layers', '1', '--vocab', spm]],
      ['llama', ['--arch', 'llama', '--shape', '64,96,2,4,2,0,64', '--untied-output', '--llama3-rope', '--std', '0.1', '--vocab', spm]],
    ];
    for (const [arch, args] of cases) {
      const path = join(dir, `${arch}.gguf`);
      const r = run('synth', ...args, '--output', path, '--type', 'q8_0', '--seed', '3');
      assert.equal(r.code, 0, r.stderr);
      const model = await loadModel(path);
      try {
        assert.equal(model.info.architecture, arch);
        if (arch === 'qwen3') {
          assert.equal(model.info.vocabSize, 151936); // the vocabulary file's
          assert.equal(readFileSync(path).includes(readFileSync(template)), true);
        }
        if (arch === 'gemma3') {
          assert.equal(model.info.layers, 1);
          assert.equal(model.info.embeddingLength, 640);
          assert.equal(model.info.contextLength, 4096); // 32768 in the file, cut by the loader
        }
        const logits = model.logits([1, 2, 3]);
        assert.ok(logits.every(Number.isFinite));
      } finally {
        model.dispose();
      }
    }
  }));

function assertUserError(result, pattern) {
  assert.equal(result.code, 1);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
  assert.equal(result.stdout, '');
}

test('convert and synth: user mistakes exit 1 with a message', () =>
  withTempDir(async (dir) => {
    const out = join(dir, 'out.gguf');
    assertUserError(run('convert'), /--input is required/);
    assertUserError(run('convert', '--input', bin, '--tokenizer', tok, '--output', out), /--type is required/);
    assertUserError(run('convert', '--input', bin, '--tokenizer', tok, '--output', out, '--type', 'iq2_xxs'), /--type must be one of f32, f16, bf16, q8_0, .* got "iq2_xxs"/);
    assertUserError(run('convert', '--input', join(dir, 'missing.bin'), '--output', out, '--type', 'f32'), /cannot open .*missing\.bin/);
    assertUserError(run('convert', '--input', bin, '--output', out, '--type', 'f32'), /needs its tokenizer\.bin/);
    assertUserError(run('convert', '--input', tok, '--tokenizer', tok, '--output', out, '--type', 'f32'), /llama2\.c checkpoint/);
    assertUserError(run('synth', '--shape', 'stories15M', '--output', out, '--type', 'f32'), /--vocab is required/);
    assertUserError(run('synth', '--shape', 'big', '--vocab', spm, '--output', out, '--type', 'f32'), /shape 'big'/);
    assertUserError(run('synth', '--shape', '64,96,2,4,2,512,32', '--vocab', spm, '--output', out, '--type', 'f32'), /vocabulary is 512 tokens but the vocabulary file has 32000/);
    assertUserError(run('synth', '--shape', 'stories15M', '--vocab', spm, '--output', out, '--type', 'f32', '--seed', '-1'), /--seed/);
    assertUserError(run('synth', '--shape', '64,96,2,4,2,32000,32', '--vocab', spm, '--output', join(dir, 'no/such/dir.gguf'), '--type', 'q4_0'), /cannot write/);
    assertUserError(run('synth', '--shape', 'qwen3-0.6b', '--arch', 'gemma3', '--vocab', spm, '--output', out, '--type', 'f32'), /shape qwen3-0\.6b is a qwen3 model, not gemma3/);
    assertUserError(run('synth', '--shape', '64,96,2,4,2,0,32', '--arch', 'mamba', '--vocab', spm, '--output', out, '--type', 'f32'), /arch must be one of llama, qwen2, qwen3, gemma3/);
    assertUserError(run('synth', '--shape', '64,96,2,4,2,0,32', '--layers', '0', '--vocab', spm, '--output', out, '--type', 'f32'), /--layers must be a positive integer/);
    assertUserError(run('synth', '--shape', '64,96,2,4,2,0,32', '--window', '8', '--vocab', spm, '--output', out, '--type', 'f32'), /a sliding window is for gemma3 models, not llama/);
    assertUserError(run('synth', '--shape', '64,96,2,4,2,0,32', '--chat-template', join(dir, 'none.jinja'), '--vocab', spm, '--output', out, '--type', 'f32'), /cannot read .*none\.jinja: no such file/);
    assert.throws(() => statSync(out));
  }));
