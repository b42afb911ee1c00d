// The demo's diversity measures on hand-made texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distinct2, repetitionRate, words } from '../demo/metrics.js';

test('distinct-2: distinct bigrams over all bigrams', () => {
  assert.equal(distinct2(words('the cat sat on the mat')), 1); // 5 bigrams, all different
  // "the cat" twice among 6 bigrams: the cat | cat and | and the | the cat | cat ran | ran off
  assert.equal(distinct2(words('the cat and the cat ran off')), 5 / 6);
  assert.equal(distinct2(words('la la la la la')), 1 / 4);
  assert.equal(distinct2([7, 7]), 1);
});

test('distinct-2 of fewer than two tokens is 0', () => {
  assert.equal(distinct2([]), 0);
  assert.equal(distinct2(words('alone')), 0);
});

test('repetition rate: share of 4-grams that occur more than once', () => {
  assert.equal(repetitionRate(words('one two three four five six')), 0);
  // a b c d a b c d: 5 four-grams, "a b c d" occurs twice, the other three once
  assert.equal(repetitionRate(words('a b c d a b c d')), 2 / 5);
  // a loop of one word: every 4-gram is the same
  assert.equal(repetitionRate(words('go go go go go go go')), 1);
  assert.equal(repetitionRate([1, 2, 3]), 0); // no 4-gram at all
});

test('tokens compare as whole units, ids or strings', () => {
  // ab|c and a|bc are different bigrams (joined naively both would read "abc"): 4 distinct of 5
  assert.equal(distinct2(['ab', 'c', 'a', 'bc', 'ab', 'c']), 4 / 5);
  assert.equal(repetitionRate([1, 2, 3, 4, 1, 2, 3, 4, 9]), 2 / 6);
  assert.equal(repetitionRate(Int32Array.from([5, 5, 5, 5, 5])), 1);
});
