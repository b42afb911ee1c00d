// Measuring sampling: metrics on hand-made texts, traces that replay, sweeps on stories260K.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../web/index.js';
import { distinctN, median, repetitionRate, summarize } from '../web/metrics.js';
import { runSweep } from '../web/trace.js';
import { repoRoot, sharedDir } from './helpers.js';

const MODEL = join(sharedDir, 'models/stories260K/stories260K.gguf');
const CLI = join(repoRoot, 'web/cli.js');

test('distinct-n and repetition on hand-made texts', () => {
  const text = 'the cat sat on the cat sat on the mat'.split(' ');
  // bigrams: the-cat cat-sat sat-on on-the the-cat cat-sat sat-on on-the the-mat: 5 distinct of 9
  assert.equal(distinctN(text, 2), 5 / 9);
  assert.equal(distinctN(text, 1), 5 / 10);
  // 4-grams: 7 positions; "the cat sat on", "cat sat on the" occur twice -> 4 of 7 positions repeat
  assert.equal(repetitionRate(text, 4), 4 / 7);
  assert.equal(repetitionRate('a b c d e f'.split(' ')), 0);
  assert.equal(repetitionRate(['a', 'b']), 0);
  // pooled over several texts
  assert.equal(distinctN([[1, 2, 3], [1, 2, 4]], 2), 3 / 4);
  assert.equal(median([3, 1, 2, 10]), 2.5);
  const s = summarize([{ tokens: [1, 2], seconds: 0.5, steps: [
    { nucleusSize: 2, nucleusMass: 0.5, entropy: 1, prob: 0.25 },
    { nucleusSize: 4, nucleusMass: 1, entropy: 2, prob: 0.75 },
  ] }]);
  assert.equal(s.meanNucleusSize, 3);
  assert.equal(s.meanTruncatedMass, 0.25);
  assert.equal(s.meanKL, Math.log(2) / 2);
  assert.equal(s.meanProb, 0.5);
  assert.equal(s.tokensPerSecond, 4);
});

test('a trace replays exactly, and a changed trace is caught at its step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nucleus-trace-'));
  try {
    const file = join(dir, 'run.jsonl');
    execFileSync('node', [CLI, 'generate', '--model', MODEL, '--prompt', 'Once upon a time', '--seed', '11', '--top-p', '0.8', '--max-tokens', '24', '--trace', file]);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const [header, ...steps] = lines;
    assert.equal(header.model.quantization, 'f32');
    assert.match(header.model.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(header.params, { temperature: 1, topP: 0.8, topK: 0, minP: 0 });
    assert.equal(header.seed, '11');
    assert.equal(steps.length, 24);
    for (const key of ['index', 'token', 'text', 'prob', 'coin', 'nucleusSize', 'nucleusMass', 'entropy', 'sampleUs', 'forwardMs']) {
      assert.ok(key in steps[0], key);
    }
    const ok = spawnSync('node', [CLI, 'replay', file], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /all 24 tokens match/);
    steps[7].token = (steps[7].token + 1) % 512;
    writeFileSync(file, [header, ...steps].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const bad = spawnSync('node', [CLI, 'replay', file], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /step 7 differs/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('sweep: mean nucleus size grows with p at fixed T, and the CLI prints every column', async () => {
  const model = await loadModel(MODEL);
  const prompts = ['Once upon a time', 'The little dog', 'Lily and Tom'];
  const rows = await runSweep(model, { prompts, topPs: [0.3, 0.6, 0.9, 1], temperatures: [0.8, 1.2], seeds: 2, maxTokens: 24 });
  model.dispose();
  for (const temperature of [0.8, 1.2]) {
    const sizes = rows.filter((r) => r.temperature === temperature).map((r) => r.meanNucleusSize);
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i] > sizes[i - 1], `T ${temperature}: ${sizes}`);
  }
  for (const row of rows) {
    assert.ok(row.meanTruncatedMass >= 0 && row.meanTruncatedMass < 1);
    assert.ok(row.distinct2 > 0 && row.distinct2 <= 1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nucleus-sweep-'));
  try {
    writeFileSync(join(dir, 'prompts.txt'), prompts.join('\n') + '\n');
    const csv = execFileSync('node', [CLI, 'sweep', '--model', MODEL, '--prompts', join(dir, 'prompts.txt'), '--top-p', '0.5,1', '--temperature', '1', '--seeds', '1', '--max-tokens', '8', '--csv'], { encoding: 'utf8' });
    const [head, ...body] = csv.trim().split('\n');
    assert.equal(head, 'topP,temperature,meanNucleusSize,medianNucleusSize,meanEntropy,meanTruncatedMass,meanKL,distinct1,distinct2,distinct3,repetitionRate,meanProb,tokensPerSecond');
    assert.equal(body.length, 2);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
