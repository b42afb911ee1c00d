// The npm package as a user gets it: `npm pack`, installed into an empty project, then used
// from Node (import 'nucleus-sampler', the bin, the example server), type-checked by tsc
// --strict, and loaded by a static page in Chromium (<nucleus-view> and the worker client).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './browser.js';
import { repoRoot } from './helpers.js';

const MODEL = join(repoRoot, 'models/stories260K-q8_0.gguf');
let dir; // the empty project
let tarball;

const run = (file, args, options = {}) => execFileSync(file, args, { cwd: dir, encoding: 'utf8', ...options });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nucleus-package-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  tarball = packed[0];
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'empty-project', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, tarball.filename)], { stdio: 'ignore' });
  copyFileSync(MODEL, join(dir, 'model.gguf'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the tarball holds the API, the wasm, the element, the example; no sources, tests or demo; no runtime dependency', () => {
  const files = tarball.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'web/index.js', 'web/index.d.ts', 'web/worker.js', 'web/worker-client.js',
    'web/worker-client.d.ts', 'web/nucleus-view.js', 'web/nucleus-view.d.ts', 'web/cli.js', 'web/dist/nucleus-simd.wasm',
    'web/dist/nucleus.wasm', 'web/dist/nucleus-relaxed.wasm', 'web/dist/nucleus-mt.wasm', 'web/dist/nucleus-mt-relaxed.wasm', 'web/dist/jinja.js', 'web/examples/story-server.js']) assert.ok(files.includes(f), f);
  assert.deepEqual(files.filter((f) => /^(src|demo|wasm_tests|bench|models)\//.test(f)), []);
  const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/nucleus-sampler/package.json'), 'utf8'));
  assert.deepEqual(manifest.dependencies ?? {}, {});
  for (const field of ['files', 'exports', 'types', 'bin', 'engines']) assert.ok(manifest[field], field);
});

test('Node: import from nucleus-sampler, sample, load a model, generate; the bin and the example server', async () => {
  writeFileSync(join(dir, 'use.js'), `
import { createSampler, loadModel } from 'nucleus-sampler';
import { createStoryServer } from 'nucleus-sampler/examples/story-server';
const s = await createSampler({ topP: 0.9, seed: 42 });
const r = s.sample([2.4, 1.8, 0.5, 0.2, -0.3, -1.0]);
const model = await loadModel('model.gguf');
const tokens = [];
for await (const step of model.generate('Once upon a time', { seed: 1, temperature: 0.8, maxTokens: 12 })) tokens.push(step.token);
const server = createStoryServer(model).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const res = await fetch('http://127.0.0.1:' + server.address().port + '/story?prompt=Once%20upon%20a%20time&seed=1&temperature=0.8&maxTokens=12');
const lines = (await res.text()).trim().split('\\n').map((l) => JSON.parse(l));
const bad = await fetch('http://127.0.0.1:' + server.address().port + '/story?topP=2');
server.close();
console.log(JSON.stringify({ token: r.token, size: r.nucleusSize, tokens, lines, bad: [bad.status, await bad.json()] }));
`);
  const out = JSON.parse(run(process.execPath, ['use.js']));
  const { createSampler, loadModel } = await import('../web/index.js');
  const s = await createSampler({ topP: 0.9, seed: 42 });
  const r = s.sample([2.4, 1.8, 0.5, 0.2, -0.3, -1.0]);
  assert.deepEqual([out.token, out.size], [r.token, r.nucleusSize]);
  const model = await loadModel(MODEL);
  const expected = [];
  for await (const step of model.generate('Once upon a time', { seed: 1, temperature: 0.8, maxTokens: 12 })) expected.push(step);
  model.dispose();
  assert.deepEqual(out.tokens, expected.map((step) => step.token));
  // The example's JSON lines: the same tokens, each with its report.
  assert.deepEqual(out.lines.map((l) => l.token), out.tokens);
  assert.equal(out.lines.map((l) => l.text).join(''), expected.map((step) => step.text).join(''));
  assert.equal(out.lines[0].nucleusSize, expected[0].nucleusSize);
  assert.equal(out.lines[0].top.length, 5);
  assert.equal(out.lines.at(-1).finishReason, 'length');
  assert.equal(out.bad[0], 400);
  assert.match(out.bad[1].error, /topP must be a number from 0 to 1/);

  const story = run(join(dir, 'node_modules/.bin/nucleus'), ['generate', '--model', 'model.gguf', '--prompt', 'Once upon a time',
    '--temperature', '0', '--max-tokens', '8']);
  assert.match(story, /^Once upon a time/);
});

test('TypeScript: the types resolve under tsc --strict, and a wrong call is refused', () => {
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: [] }, // no DOM lib, no @types/node: the package brings what it uses
    files: ['check.ts'],
  }));
  writeFileSync(join(dir, 'check.ts'), `
import { createSampler, loadModel, NucleusError, type StepReport, type GenerateStep } from 'nucleus-sampler';
import { WorkerModel } from 'nucleus-sampler/worker-client';
import type { NucleusViewElement } from 'nucleus-sampler/nucleus-view';
export async function main(): Promise<number> {
  const s = await createSampler({ topP: 0.9, temperature: 1, seed: 42 });
  const r: StepReport = s.sample([1, 2, 3]);
  const model = await loadModel('model.gguf');
  let n: number = r.nucleusSize;
  for await (const step of model.generate('Once', { maxTokens: 4 })) { const g: GenerateStep = step; n += g.text.length; }
  const view: NucleusViewElement = document.createElement('nucleus-view');
  view.logits = [1, 2];
  view.tokens = ['a', 'b'];
  const w: WorkerModel | null = null;
  return n + (w ? 1 : 0) + (new NucleusError('x', 'INVALID_ARGUMENT').code.length);
}
`);
  run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  writeFileSync(join(dir, 'check.ts'), `
import { createSampler } from 'nucleus-sampler';
export const s = createSampler({ topP: 'high' });
`);
  assert.throws(() => run(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'pipe' }), (error) => /TS2322|TS2769|TS2345/.test(error.stdout));
});

test('a static page loads <nucleus-view> and the worker client from the installed package', async () => {
  writeFileSync(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><title>use</title>
<nucleus-view id="v" controls tokens='["cat","dog","bird","fish","lizard","hamster"]' logits="2.4 1.8 0.5 0.2 -0.3 -1.0"></nucleus-view>
<script type="module" src="page.js"></script>`);
  writeFileSync(join(dir, 'page.js'), `
import './node_modules/nucleus-sampler/web/nucleus-view.js';
import { WorkerModel } from './node_modules/nucleus-sampler/web/worker-client.js';
const worker = new WorkerModel(); // web/worker.js beside the client
const info = await worker.load('/model.gguf');
const tokens = [];
for await (const step of worker.generate('Once upon a time', { seed: 1, temperature: 0.8, maxTokens: 12 })) tokens.push(step.token);
window.result = { vocabSize: info.vocabSize, tokens };
`);
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.gguf': 'application/octet-stream' };
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    if (!path.startsWith(dir + sep) || !types[extname(path)]) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': types[extname(path)] }).end(readFileSync(path));
    } catch {
      res.writeHead(404).end();
    }
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const profile = mkdtempSync(join(tmpdir(), 'nucleus-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForFunction(() => window.result, null, { timeout: 60_000 });
    const result = await page.evaluate(() => ({ ...window.result, size: document.getElementById('v').report?.nucleusSize, bars: document.getElementById('v').shadowRoot.querySelectorAll('.bar.in').length }));
    const { loadModel } = await import('../web/index.js');
    const model = await loadModel(MODEL);
    const expected = [];
    for await (const step of model.generate('Once upon a time', { seed: 1, temperature: 0.8, maxTokens: 12 })) expected.push(step.token);
    model.dispose();
    assert.deepEqual(result.tokens, expected);
    assert.equal(result.size, 4);
    assert.equal(result.bars, 4);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
