// web/stream.js: streamed text never shows a broken character or the start of a stop string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextStream } from '../web/stream.js';

const bytes = (s) => new TextEncoder().encode(s);

test('a character split across tokens waits for its last byte', () => {
  const stream = new TextStream();
  const e = bytes('é'); // 0xC3 0xA9
  assert.equal(stream.push(bytes('caf')), 'caf');
  assert.equal(stream.push(e.subarray(0, 1)), '');
  assert.equal(stream.push(e.subarray(1)), 'é');
  assert.equal(stream.end(), '');
  assert.equal(stream.text, 'café');
});

test('an unfinished character at the end becomes U+FFFD', () => {
  const stream = new TextStream();
  assert.equal(stream.push(bytes('a')), 'a');
  assert.equal(stream.push(new Uint8Array([0xe2, 0x82])), '');
  assert.equal(stream.end(), '\uFFFD');
});

test('the start of a stop string is held back, then cut or released', () => {
  const cut = new TextStream(['<|end|>']);
  const shown = ['Hi', ' <|', 'en', 'd|', '>more'].map((piece) => cut.push(bytes(piece)));
  assert.deepEqual(shown, ['Hi', ' ', '', '', '']);
  assert.equal(cut.stopped, true);
  assert.equal(cut.push(bytes('x')), '');
  assert.equal(cut.end(), '');
  assert.equal(cut.text, 'Hi ');

  const released = new TextStream(['<|end|>']);
  assert.equal(released.push(bytes('a <|e')), 'a ');
  assert.equal(released.push(bytes('x')), '<|ex');
  assert.equal(released.push(bytes('<')), '');
  assert.equal(released.end(), '<');
  assert.equal(released.stopped, false);
  assert.equal(released.text, 'a <|ex<');
});

test('the earliest of several stop strings wins; empty stop strings are ignored', () => {
  const stream = new TextStream(['', 'END', 'D']);
  assert.equal(stream.push(bytes('abcDEND')), 'abc');
  assert.equal(stream.stopped, true);
  assert.equal(stream.text, 'abc');
});
