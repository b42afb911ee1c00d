// The live page. The model runs in a Web Worker (it only computes logits); the page samples
// every token with a main-thread sampler, so the settings in force at each step are the ones on
// screen, and each step's logits are kept so the nucleus can be redrawn for any p and T at once.
// The sampler alone: the model code is only needed in the worker.
import { createSampler, Sampler } from '/web/sampler.js';
import { compileRuntime } from '/web/wasm.js';
import { WorkerModel } from '/web/worker-client.js';
import { openModelCache } from '/web/model-cache.js';
import { drawNucleus, drawChart, drawHistogram, displayToken, setText, svg, nucleusStyleSheet } from './views.js';
import { createTeach } from './teach.js';
import { createSweep } from './sweep.js';
import { distinct2, repetitionRate } from './metrics.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_MODEL = '/models/stories260K-q8_0.gguf';
const UINT64_MAX = (1n << 64n) - 1n;
const TOP_N = 64; // report entries: the 50 bars plus the tokens just past the cut
const f = (x, digits = 3) => x.toFixed(digits);

const ui = {
  topP: $('top-p'), temperature: $('temperature'), topK: $('top-k'), minP: $('min-p'),
  seed: $('seed'), maxTokens: $('max-tokens'), prompt: $('prompt'),
  generate: $('generate'), step: $('step'), stop: $('stop'), reroll: $('reroll'), sample: $('sample-1000'),
  output: $('output'), genStatus: $('gen-status'), branches: $('branches'),
  view: $('nucleus-view'), coinNote: $('coin-note'), stepIndex: $('step-index'),
  nucleusSize: $('nucleus-size'), vocabSize: $('vocab-size'), nucleusMass: $('nucleus-mass'), entropy: $('entropy'),
  chosenToken: $('chosen-token'), chosenRank: $('chosen-rank'), chosenProb: $('chosen-prob'),
  sampleBox: $('sample-box'), sampleView: $('sample-view'), sampleNote: $('sample-note'),
  chartSize: $('chart-size'), chartEntropy: $('chart-entropy'),
  modelSelect: $('model-select'), modelFile: $('model-file'), progress: $('model-progress'), modelStatus: $('model-status'),
  modelUrl: $('model-url'), loadUrl: $('model-load-url'), cancel: $('model-cancel'),
  cacheList: $('model-cache'), cacheUsage: $('model-cache-usage'), threads: $('threads'),
};

// ---- settings --------------------------------------------------------------------------

/** Marks an input (in)valid; an unchanged attribute is left alone, so a slider move restyles nothing. */
function setInvalid(input, invalid) {
  if (input.getAttribute('aria-invalid') !== String(invalid)) input.setAttribute('aria-invalid', String(invalid));
}

/** The value of a number input, or fallback (and the input marked invalid) when out of range. */
function readNumber(input, { min, max, integer = false, fallback }) {
  const raw = input.value.trim();
  const value = Number(raw);
  const ok = raw !== '' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
  setInvalid(input, !ok);
  return ok ? value : fallback;
}

function settings() {
  return {
    topP: Number(ui.topP.value),
    temperature: Number(ui.temperature.value),
    topK: readNumber(ui.topK, { min: 0, max: 2 ** 31 - 1, integer: true, fallback: 0 }),
    minP: readNumber(ui.minP, { min: 0, max: 1, fallback: 0 }),
  };
}

function seedValue() {
  const raw = ui.seed.value.trim();
  const ok = /^\d+$/.test(raw) && BigInt(raw) <= UINT64_MAX;
  setInvalid(ui.seed, !ok);
  return ok ? BigInt(raw) : 0n;
}

const maxTokens = () => readNumber(ui.maxTokens, { min: 1, max: 4096, integer: true, fallback: 128 });

// ---- state ------------------------------------------------------------------------------

const state = {
  worker: null, // the WorkerModel, made in main() with the page's compiled runtime
  info: null, // the loaded model's info
  modelName: '',
  labels: [], // display text per token id
  pieces: [], // bytes per token id
  loading: Promise.resolve(),
  cache: null, // the ModelCache (web/model-cache.js); null where the browser has no storage for it
  cacheError: '',
  download: null, // the AbortController of the running download
  branches: [], // { name, promptText, prompt, steps, rng, decoder, finish }
  active: -1,
  selected: null, // pinned step index (null: follow the last step)
  hover: null,
  focus: -1, // keyboard-focused candidate rank in the nucleus view
  view: null, // { at, report } drawn last
  sample: null, // { step, shares } from "Sample 1000"
  job: null, // the running job: { signal, stopped, stop() }
};

let viewSampler; // inspects stored logits for the view
let genSampler; // draws the tokens of the explore mode
let histSampler; // "Sample 1000"

const label = (id) => state.labels[id] ?? `#${id}`;
const activeBranch = () => state.branches[state.active] ?? null;
const tokensOf = (branch) => [...branch.prompt, ...branch.steps.map((s) => s.token)];

function currentIndex() {
  const branch = activeBranch();
  if (!branch || branch.steps.length === 0) return -1;
  return Math.min(state.hover ?? state.selected ?? branch.steps.length - 1, branch.steps.length - 1);
}

// ---- jobs: one model user at a time ------------------------------------------------------

let queue = Promise.resolve();
let ticket = 0;
let pending = 0; // requested jobs and loads not finished yet: the page is busy from the click on

function setBusy(delta) {
  pending += delta;
  const busy = pending > 0;
  document.body.dataset.busy = String(busy);
  ui.output.dataset.state = busy ? 'running' : 'done';
  ui.stop.disabled = $('compare-stop').disabled = !busy;
}

function newJob() {
  const controller = new AbortController();
  return { signal: controller.signal, get stopped() { return controller.signal.aborted; }, stop: () => controller.abort() };
}

/** Runs work(job) after the current job stops; a job superseded before it starts never runs. */
function runJob(work) {
  const mine = ++ticket;
  state.job?.stop();
  setBusy(+1);
  const run = queue.then(async () => {
    if (mine !== ticket) return;
    await state.loading;
    if (!state.info) {
      ui.genStatus.textContent = 'No model is loaded.';
      return;
    }
    const job = newJob();
    state.job = job;
    try {
      await work(job);
    } catch (error) {
      ui.genStatus.textContent = `Error: ${error.message}`;
    } finally {
      state.job = null;
      renderAll(true);
    }
  }).finally(() => setBusy(-1));
  queue = run.catch(() => {});
  return run;
}

async function promptTokens() {
  const ids = await state.worker.tokenize(ui.prompt.value, { bos: true });
  return ids.length > 0 ? ids : [state.info.bosId];
}

function newBranch(name, prompt, promptText, rng) {
  return { name, prompt, promptText, steps: [], rng, decoder: new TextDecoder(), finish: null };
}

/** Every end-of-generation token (eos, eot, <|im_end|>, ...) ends a branch, as generate() does. */
function isEndOfGeneration(id) {
  return state.info?.eogIds?.includes(id) ?? false;
}

/** Appends a step, decoding its bytes like Model.generate does (a split UTF-8 character waits). */
function addStep(branch, step) {
  step.text = isEndOfGeneration(step.token) ? '' : branch.decoder.decode(state.pieces[step.token], { stream: true });
  branch.steps.push(step);
}

function finish(branch, reason) {
  branch.finish = reason;
  const tail = branch.decoder.decode();
  if (tail && branch.steps.length) branch.steps.at(-1).text += tail;
}

/** Draws tokens into branch until it has limit steps, ends, or the job stops. */
async function extend(branch, limit, job) {
  const { contextLength } = state.info;
  genSampler.reseed(branch.rng);
  branch.finish = null;
  while (branch.steps.length < limit) {
    const tokens = tokensOf(branch);
    if (tokens.length >= contextLength) return finish(branch, 'context');
    const started = performance.now();
    const logits = await state.worker.logits(tokens);
    if (job.stopped) return finish(branch, 'stop');
    const used = settings();
    genSampler.configure({ ...used, topN: TOP_N });
    const rngBefore = branch.rng;
    const report = genSampler.sample(logits);
    branch.rng = genSampler.rngState;
    addStep(branch, { ...report, logits, rngBefore, used, forced: false, ms: performance.now() - started });
    if (isEndOfGeneration(report.token)) return finish(branch, 'eos');
    scheduleRender();
  }
  finish(branch, 'length');
}

function generate() {
  return runJob(async (job) => {
    const prompt = await promptTokens();
    resetBranches([newBranch('main', prompt, ui.prompt.value, seedValue())]);
    await extend(state.branches[0], maxTokens(), job);
  });
}

function stepOnce() {
  return runJob(async (job) => {
    let branch = activeBranch();
    if (!branch || branch.promptText !== ui.prompt.value) {
      resetBranches([newBranch('main', await promptTokens(), ui.prompt.value, seedValue())]);
      branch = state.branches[0];
    } else if (branch.finish === 'eos' || branch.finish === 'context') {
      ui.genStatus.textContent = 'This branch has ended; press Generate to start again.';
      return;
    }
    state.selected = null;
    await extend(branch, branch.steps.length + 1, job);
  });
}

/** A new branch sharing the first `at` steps of the active one. */
function fork(at, name, rng) {
  const parent = activeBranch();
  const branch = newBranch(name, parent.prompt, parent.promptText, rng);
  for (const step of parent.steps.slice(0, at)) {
    if (!isEndOfGeneration(step.token)) branch.decoder.decode(state.pieces[step.token], { stream: true });
    branch.steps.push(step);
  }
  state.branches.push(branch);
  state.active = state.branches.length - 1;
  state.selected = at;
  state.sample = null;
  return branch;
}

/** Forces token at step `at` of the active branch and continues from it as a new branch. */
function forceToken(at, token) {
  return runJob(async (job) => {
    const source = activeBranch()?.steps[at];
    if (!source) return;
    const branch = fork(at, `step ${at + 1} → ${displayToken(label(token))}`, source.rngBefore);
    const used = settings();
    viewSampler.configure({ ...used, topN: TOP_N });
    const report = viewSampler.inspect(source.logits);
    const rank = report.ids.indexOf(token);
    addStep(branch, {
      ...report, token, rank, prob: rank >= 0 ? report.probs[rank] : 0, coin: null,
      logits: source.logits, rngBefore: source.rngBefore, used, forced: true, ms: 0,
    });
    if (isEndOfGeneration(token)) return finish(branch, 'eos');
    renderAll(true);
    await extend(branch, Math.max(maxTokens(), at + 1), job);
  });
}

/** Draws step `at` again with a new seed and continues, as a new branch. */
function reroll(at) {
  return runJob(async (job) => {
    if (!activeBranch()?.steps[at]) return;
    const seed = (seedValue() + BigInt(state.branches.length)) & UINT64_MAX;
    const branch = fork(at, `re-roll @${at + 1} (seed ${seed})`, seed);
    renderAll(true);
    await extend(branch, Math.max(maxTokens(), at + 1), job);
  });
}

function resetBranches(branches) {
  state.branches = branches;
  state.active = branches.length ? 0 : -1;
  state.selected = null;
  state.hover = null;
  state.focus = -1;
  state.sample = null;
  renderAll(true);
}

// ---- rendering --------------------------------------------------------------------------

// While tokens stream in, the text updates every frame but the SVG views at most every 200 ms:
// redrawing them costs more than a token of a small model.
let frame = 0;
let lastHeavy = 0;
function scheduleRender() {
  if (!frame) frame = requestAnimationFrame((now) => {
    frame = 0;
    const heavy = now - lastHeavy >= 200;
    if (heavy) lastHeavy = now;
    renderAll(false, !heavy);
  });
}

const rendered = { branch: null, count: 0 };

function tokenSpan(step, index) {
  const span = document.createElement('span');
  const bucket = Math.min(9, Math.floor((step.prob ?? 0) * 10));
  span.className = `tok p${bucket}`;
  if (step.forced) span.classList.add('forced');
  if (isEndOfGeneration(step.token)) span.classList.add('eos');
  span.dataset.tokenId = String(step.token);
  span.dataset.step = String(index);
  span.textContent = step.text;
  span.title = `step ${index + 1}: ${JSON.stringify(label(step.token))}, p ${f(step.prob ?? 0)}${step.forced ? ' (forced)' : ''}`;
  return span;
}

function renderOutput(full) {
  const branch = activeBranch();
  const steps = branch?.steps ?? [];
  if (full || rendered.branch !== branch || rendered.count > steps.length) {
    // The prompt as a bare text node: the stream reads like the CLI's, one element per token.
    ui.output.replaceChildren(branch ? branch.promptText : '');
    rendered.branch = branch;
    rendered.count = 0;
  }
  const fragment = document.createDocumentFragment();
  for (let i = rendered.count; i < steps.length; i++) fragment.append(tokenSpan(steps[i], i));
  ui.output.append(fragment);
  rendered.count = steps.length;
  const at = currentIndex();
  for (const child of ui.output.children) child.classList.toggle('selected', Number(child.dataset.step) === at);
}

function renderBranches() {
  ui.branches.replaceChildren();
  state.branches.forEach((branch, i) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `${branch.name} · ${branch.steps.length}`;
    if (i === state.active) button.setAttribute('aria-current', 'true');
    button.addEventListener('click', () => {
      state.active = i;
      state.selected = null;
      state.sample = null;
      renderAll(true);
    });
    const li = document.createElement('li');
    li.append(button);
    ui.branches.append(li);
  });
}

function renderStatus() {
  const branch = activeBranch();
  if (!branch) return;
  const n = branch.steps.length;
  const ms = branch.steps.reduce((sum, s) => sum + s.ms, 0) / Math.max(1, n);
  const reasons = { eos: 'end of text', length: 'reached max tokens', context: 'context full', stop: 'stopped' };
  ui.genStatus.textContent = state.job
    ? `generating… ${n} tokens`
    : `${n} token${n === 1 ? '' : 's'}, ${f(ms, 1)} ms per token${branch.finish ? `, ${reasons[branch.finish]}` : ''}`;
}

function renderCharts() {
  const steps = activeBranch()?.steps ?? [];
  const options = { selected: currentIndex(), forced: steps.map((s) => s.forced) };
  const select = (i) => {
    state.selected = i;
    renderAll(false);
  };
  drawChart(ui.chartSize, steps.map((s) => s.nucleusSize), { ...options, format: (v) => String(Math.round(v)) }, select);
  drawChart(ui.chartEntropy, steps.map((s) => s.entropy), { ...options, format: (v) => f(v, 2) }, select);
}

function clearStep() {
  state.view = null;
  for (const el of [ui.nucleusSize, ui.nucleusMass, ui.entropy, ui.chosenToken, ui.chosenRank, ui.chosenProb, ui.stepIndex]) el.textContent = '–';
  ui.vocabSize.textContent = state.info ? String(state.info.vocabSize) : '–';
  ui.coinNote.textContent = '';
  ui.view.replaceChildren(svg('text', { x: 400, y: 150, 'text-anchor': 'middle', class: 'empty' },
    state.info ? 'Press Generate or Step: the nucleus of every token appears here.' : 'Load a model to generate (or try the Teach tab).'));
  ui.reroll.disabled = ui.sample.disabled = true;
  ui.sampleBox.hidden = true;
}

/** The current step's nucleus with the settings on screen; synchronous, from the stored logits. */
function renderStep() {
  const branch = activeBranch();
  const at = currentIndex();
  if (at < 0) return clearStep();
  const step = branch.steps[at];
  const s = settings();
  viewSampler.configure({ ...s, topN: TOP_N });
  const report = viewSampler.inspect(step.logits);
  state.view = { at, report };
  state.focus = Math.min(state.focus, Math.min(50, report.ids.length) - 1);
  const landed = drawNucleus(ui.view, {
    report, label, topP: s.topP, chosen: step.token, coin: step.coin, focus: state.focus,
  }, (rank) => forceToken(at, report.ids[rank]));

  // Only changed texts are set: each one set is shaped and laid out again.
  setText(ui.stepIndex, `${at + 1} of ${branch.steps.length}`);
  setText(ui.nucleusSize, String(report.nucleusSize));
  setText(ui.vocabSize, String(report.vocabSize));
  setText(ui.nucleusMass, f(report.nucleusMass));
  setText(ui.entropy, f(report.entropy));
  const rank = report.ids.indexOf(step.token);
  setText(ui.chosenToken, JSON.stringify(label(step.token)));
  setText(ui.chosenRank, rank >= 0 ? String(rank + 1) : `> ${report.ids.length}`);
  setText(ui.chosenProb, rank >= 0 ? f(report.probs[rank]) : '< ' + f(report.probs.at(-1)));

  const u = step.used;
  const changed = u.topP !== s.topP || u.temperature !== s.temperature || u.topK !== s.topK || u.minP !== s.minP;
  let note;
  if (step.forced) note = 'You forced this token here; the branch continues from it.';
  else if (step.coin === null) note = 'Greedy (T = 0): the most probable token, no coin drawn.';
  else {
    note = `The coin ${f(step.coin)} landed at ${f(step.coin * report.nucleusMass)} on the cumulative axis (coin × nucleus mass).`;
    const would = report.ids[landed];
    if (changed && would !== step.token) note += ` With these settings the same coin picks ${JSON.stringify(label(would))} instead.`;
  }
  if (changed) note += ` Drawn with p ${f(u.topP, 2)}, T ${f(u.temperature, 2)}.`;
  setText(ui.coinNote, note);
  ui.reroll.disabled = false;
  ui.sample.disabled = false;
  renderSample(step, report);
}

function renderSample(step, report) {
  const sample = state.sample;
  ui.sampleBox.hidden = !sample || sample.step !== step;
  if (ui.sampleBox.hidden) return;
  drawHistogram(ui.sampleView, report, sample.shares, label);
  let gap = 0;
  let inside = 0;
  for (let i = 0; i < report.nucleusSize; i++) {
    const share = sample.shares.get(report.ids[i]) ?? 0;
    inside += share;
    gap = Math.max(gap, Math.abs(share - report.probs[i] / report.nucleusMass));
  }
  ui.sampleNote.textContent =
    `1000 draws with seed ${sample.seed} (bars) against the nucleus renormalized by its mass ${f(report.nucleusMass)} (outlines): ` +
    `${Math.round(inside * 1000)} of 1000 inside the nucleus of ${report.nucleusSize}; largest gap ${f(gap)}.`;
}

function renderAll(full, textOnly = false) {
  renderOutput(full);
  renderBranches();
  renderStatus();
  if (textOnly) return;
  renderCharts();
  renderStep();
}

/** "Sample 1000": draws from the current step's logits with the settings on screen and a fixed seed. */
function sampleThousand(step) {
  const seed = seedValue();
  histSampler.configure({ ...settings(), topN: TOP_N }).reseed(seed);
  const counts = new Map();
  for (let k = 0; k < 1000; k++) {
    const { token } = histSampler.sample(step.logits);
    counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  const shares = new Map([...counts].map(([id, c]) => [id, c / 1000]));
  state.sample = { step, shares, seed };
}

// ---- model loading ----------------------------------------------------------------------

function setModelStatus(kind, text) {
  ui.modelStatus.dataset.state = kind;
  ui.modelStatus.textContent = text;
}

function describe(info, name) {
  const params = info.parameters >= 1e6 ? `${f(info.parameters / 1e6, 1)}M` : `${Math.round(info.parameters / 1e3)}K`;
  const types = info.tensorTypes ? `, tensors ${info.tensorTypes}` : '';
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}${info.threadsReason ? `: ${info.threadsReason}` : ''}`;
  return `Ready: ${name} (${info.architecture}, ${info.quantization}${types}, ${params} parameters, ${info.layers} layers, vocabulary ${info.vocabSize}, context ${info.contextLength}${info.simd ? `, SIMD128${info.relaxedSimd ? ' + relaxed SIMD' : ''}` : ''}, ${threads}).`;
}

/** The threads choices: 1 to the logical cores (at most 16), half of them selected. */
function fillThreads() {
  const cores = Math.min(16, Math.max(1, navigator.hardwareConcurrency || 1));
  for (let n = 1; n <= Math.max(2, cores); n++) ui.threads.add(new Option(String(n), String(n)));
  ui.threads.value = String(Math.max(1, Math.floor(cores / 2)));
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
function bytes(n) {
  const at = Math.min(BYTE_UNITS.length - 1, Math.max(0, Math.floor(Math.log10(Math.max(1, n)) / 3)));
  return `${at === 0 ? n : (n / 1000 ** at).toFixed(at === 1 ? 0 : 1)} ${BYTE_UNITS[at]}`;
}

function showDownload(name, { loaded, total, bytesPerSecond }) {
  const of = total > 0 ? ` of ${bytes(total)} (${Math.floor((100 * loaded) / total)}%)` : '';
  setModelStatus('loading', `Downloading ${name}: ${bytes(loaded)}${of}, ${bytes(Math.round(bytesPerSecond))}/s`);
  if (total > 0) ui.progress.value = loaded / total;
}

/**
 * The bytes to hand the worker: a URL goes through the cache (validated, or downloaded into
 * it, cancellable); files and bytes as they are. A URL is loaded directly where there is no cache.
 */
async function fetchModel(source, name, signal) {
  if (typeof source !== 'string' || !state.cache) return { file: source, fresh: null, note: '' };
  ui.cancel.hidden = false;
  setModelStatus('loading', `Checking ${name}…`);
  try {
    const { file, entry, fromCache, offline, stored } = await state.cache.fetch(source, { signal, onProgress: (p) => showDownload(name, p) });
    const note = offline ? ' From the cache (the server could not be reached).'
      : fromCache ? ' From the cache.' : stored ? '' : ' Not cached: it does not fit in the storage quota.';
    return { file, fresh: fromCache || !stored ? null : entry, note };
  } finally {
    ui.cancel.hidden = true;
    await renderCache(); // the list is current before the page says what happened
  }
}

/**
 * Loads a model into the worker; on failure the previous model stays in use. keep: copy a
 * picked or dropped file into the cache once it has loaded.
 */
function loadModel(source, name, { keep = false } = {}) {
  ticket++;
  state.job?.stop();
  state.download?.abort(); // a newer choice replaces a download still running
  const download = new AbortController();
  state.download = download;
  const previous = queue;
  setBusy(+1);
  const task = (async () => {
    await previous;
    ui.progress.hidden = false;
    ui.progress.value = 0;
    let fresh = null;
    try {
      if (download.signal.aborted) throw Object.assign(new Error('replaced'), { code: 'ABORTED' });
      const fetched = await fetchModel(source, name, download.signal);
      fresh = fetched.fresh;
      setModelStatus('loading', `Loading ${name}…`);
      ui.progress.value = 0;
      const info = await state.worker.load(fetched.file, {
        threads: Number(ui.threads.value),
        onProgress: ({ loaded, total }) => {
          if (total > 0) ui.progress.value = loaded / total;
        },
      });
      const ids = Array.from({ length: info.vocabSize }, (_, i) => i);
      const [labels, pieces] = await Promise.all([state.worker.tokenText(ids), state.worker.pieces(ids)]);
      Object.assign(state, { info, labels, pieces, modelName: name, modelSource: source });
      resetBranches([]);
      await showChat(info);
      setModelStatus('ready', describe(info, name) + fetched.note);
      if (keep && state.cache) state.cache.putFile(source).then(renderCache, (error) => renderCache(`Not cached: ${error.message}`));
      return true;
    } catch (error) {
      if (fresh) await state.cache.delete(fresh.key).finally(renderCache); // a download that does not load is not kept
      const still = state.info ? ` Still using ${state.modelName}.` : '';
      if (error.code === 'ABORTED') {
        setModelStatus('error', `Cancelled loading ${name}; nothing was cached.${still}`);
        return false;
      }
      let reason = error.message.replace(/\.$/, '');
      if (reason.startsWith(`${name}: `)) reason = reason.slice(name.length + 2); // model.js names the file too
      setModelStatus('error', `Error: cannot load ${name}: ${reason}.${still}`);
      return false;
    } finally {
      if (state.download === download) state.download = null;
      ui.progress.hidden = true;
      renderAll(true);
      setBusy(-1);
    }
  })();
  state.loading = task;
  queue = task;
  return task;
}

/** The file name in a URL's path (no query), decoded. */
function fileName(url) {
  const last = new URL(url, location.href).pathname.split('/').pop() || url;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** The URL box: https anywhere (the CSP allows nothing else off this server), or this server. */
function loadUrl() {
  const raw = ui.modelUrl.value.trim();
  let url = null;
  try {
    url = new URL(raw, location.href);
  } catch {
    // refused below
  }
  const ok = raw !== '' && url !== null && (url.protocol === 'https:' || url.origin === location.origin);
  setInvalid(ui.modelUrl, !ok);
  if (!ok) return setModelStatus('error', `Error: ${JSON.stringify(raw)} is not an https URL.${state.info ? ` Still using ${state.modelName}.` : ''}`);
  loadModel(url.href, fileName(url.href));
}

// ---- the model cache list ----------------------------------------------------------------

let cacheRenders = 0;
/** Lists the cached models with the storage used and the quota; note: a message to show too. */
async function renderCache(note = '') {
  const mine = ++cacheRenders;
  if (!state.cache) {
    ui.cacheUsage.textContent = `No model cache in this browser: ${state.cacheError}`;
    return;
  }
  let entries, usage, quota;
  try {
    [entries, { usage, quota }] = await Promise.all([state.cache.list(), state.cache.estimate()]);
  } catch (error) {
    ui.cacheUsage.textContent = `The model cache cannot be read: ${error.message}`;
    return;
  }
  if (mine !== cacheRenders) return; // a later render is under way
  ui.cacheList.replaceChildren(...entries.map(cacheItem));
  const count = entries.length === 1 ? '1 model' : `${entries.length} models`;
  ui.cacheUsage.textContent = `${note ? note + ' ' : ''}${count}, ${bytes(entries.reduce((sum, e) => sum + e.size, 0))}. ` +
    `This site uses ${bytes(usage)} of its ${bytes(quota)} quota (${state.cache.storage === 'opfs' ? 'Origin Private File System' : 'Cache Storage'}).`;
}

function cacheItem(entry) {
  const li = document.createElement('li');
  li.dataset.modelKey = entry.key;
  li.dataset.size = String(entry.size);
  li.title = entry.url.startsWith('file:') ? `${entry.name}, from a file on this computer` : entry.url;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = entry.name;
  const size = document.createElement('span');
  size.className = 'size';
  size.textContent = bytes(entry.size);
  const button = (action, text) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.action = action;
    b.textContent = text;
    b.setAttribute('aria-label', `${text} ${entry.name}${action === 'delete' ? ' from the cache' : ''}`);
    return b;
  };
  li.append(name, size, button('load', 'Load'), button('delete', 'Delete'));
  return li;
}

async function onCacheClick(event) {
  const button = event.target.closest?.('button[data-action]');
  const key = button?.closest('li')?.dataset.modelKey;
  if (key === undefined) return;
  button.disabled = true;
  if (button.dataset.action === 'delete') {
    return renderCache(await state.cache.delete(key).then(() => '', (error) => `Not deleted: ${error.message}.`));
  }
  setBusy(+1); // busy from the click on: the copy is looked up first
  try {
    const file = await state.cache.get(key).catch(() => null);
    if (file) loadModel(file, file.name).finally(() => renderCache());
    else renderCache('That copy cannot be read any more.');
  } finally {
    setBusy(-1);
  }
}

// ---- compare mode -----------------------------------------------------------------------

function compare() {
  return runJob(async (job) => {
    const prompt = await promptTokens();
    const { topK, minP } = settings();
    const seed = seedValue();
    const limit = maxTokens();
    for (const side of ['a', 'b']) {
      const topP = readNumber($(`compare-${side}-top-p`), { min: 0, max: 1, fallback: side === 'a' ? 0.9 : 0.5 });
      const temperature = readNumber($(`compare-${side}-temperature`), { min: 0, max: 100, fallback: side === 'a' ? 1 : 0.7 });
      const out = $(`compare-${side}-output`);
      out.replaceChildren(ui.prompt.value);
      for (const id of ['distinct2', 'repetition', 'mean-size']) $(`compare-${side}-${id}`).textContent = '…';
      const sampler = new Sampler(viewSampler.wasm, { topP, temperature, topK, minP, seed, topN: 0 });
      try {
        const branch = newBranch(side, prompt, ui.prompt.value, seed);
        while (branch.steps.length < limit && !job.stopped) {
          const tokens = tokensOf(branch);
          if (tokens.length >= state.info.contextLength) break;
          const report = sampler.sample(await state.worker.logits(tokens));
          addStep(branch, { ...report, forced: false });
          out.append(tokenSpan(branch.steps.at(-1), branch.steps.length - 1));
          if (isEndOfGeneration(report.token)) break;
        }
        finish(branch, 'length');
        const ids = branch.steps.map((s) => s.token);
        $(`compare-${side}-distinct2`).textContent = f(distinct2(ids));
        $(`compare-${side}-repetition`).textContent = f(repetitionRate(ids));
        const mean = branch.steps.reduce((sum, s) => sum + s.nucleusSize, 0) / Math.max(1, ids.length);
        $(`compare-${side}-mean-size`).textContent = f(mean, 1);
      } finally {
        sampler.dispose();
      }
    }
  });
}

// ---- wiring -----------------------------------------------------------------------------

function showSettings() {
  setText($('top-p-value'), f(Number(ui.topP.value), 2));
  setText($('temperature-value'), f(Number(ui.temperature.value), 2));
}

function selectMode(mode) {
  document.body.dataset.mode = mode;
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const on = tab.id === `tab-${mode}`;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !on;
  }
  if (mode === 'teach') teach.render();
  if (mode === 'sweep') sweep.render();
  if (mode === 'chat') chat?.render();
}

let teach;
let sweep;
let chat = null; // demo/chat.js, loaded with the first model that has a chat template

/** The Chat tab for a newly loaded model: shown when it has a chat template. */
async function showChat(info) {
  if (!chat && info.chatTemplate) {
    const { createChat } = await import('./chat.js');
    chat = createChat({
      runJob,
      worker: state.worker,
      settings,
      model: () => state,
      setSampling: ({ topP, temperature }) => {
        ui.topP.value = String(topP);
        ui.temperature.value = String(temperature);
        onSettings();
      },
      showMode: selectMode,
    });
  }
  chat?.setModel(info);
}

/** A sweep cell's setting on the sliders, shown in Generate (the current step redrawn with it). */
function pickSetting(topP, temperature) {
  ui.topP.value = String(topP);
  ui.temperature.value = String(temperature);
  selectMode('explore');
  onSettings();
  ui.generate.focus();
}

function onSettings() {
  showSettings();
  const step = state.sample?.step;
  if (step && currentIndex() >= 0 && activeBranch().steps[currentIndex()] === step) {
    // Cheap for small vocabularies: follow the settings; otherwise drop the stale histogram.
    if (step.logits.length <= 4096) sampleThousand(step);
    else state.sample = null;
  }
  renderStep();
  if (document.body.dataset.mode === 'teach') teach.render();
  if (document.body.dataset.mode === 'chat') chat?.onSettings();
}

function wire() {
  for (const input of [ui.topP, ui.temperature, ui.topK, ui.minP]) {
    input.addEventListener('input', onSettings);
    input.addEventListener('change', onSettings);
  }
  ui.generate.addEventListener('click', generate);
  ui.step.addEventListener('click', stepOnce);
  ui.stop.addEventListener('click', () => state.job?.stop());
  $('compare-stop').addEventListener('click', () => state.job?.stop());
  ui.reroll.addEventListener('click', () => state.view && reroll(state.view.at));
  ui.sample.addEventListener('click', () => {
    const at = currentIndex();
    if (at < 0) return;
    state.selected = at;
    sampleThousand(activeBranch().steps[at]);
    renderAll(false);
  });
  $('compare-run').addEventListener('click', compare);

  // The token stream: hover shows a step, click pins it, arrows move it, Escape follows the end.
  ui.output.addEventListener('mouseover', (event) => {
    const span = event.target.closest?.('.tok');
    if (!span) return;
    state.hover = Number(span.dataset.step);
    renderStep();
  });
  ui.output.addEventListener('mouseleave', () => {
    state.hover = null;
    renderStep();
  });
  ui.output.addEventListener('click', (event) => {
    const span = event.target.closest?.('.tok');
    if (!span) return;
    const i = Number(span.dataset.step);
    state.selected = state.selected === i ? null : i;
    state.hover = null;
    renderAll(false);
  });
  // The stream and both charts: arrows move the shown step, Escape follows the end again.
  const stepKeys = (event) => {
    const n = activeBranch()?.steps.length ?? 0;
    if (n === 0) return;
    const at = currentIndex();
    const moves = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: n - 1 };
    if (event.key in moves) state.selected = Math.max(0, Math.min(n - 1, moves[event.key]));
    else if (event.key === 'Escape') state.selected = null;
    else return;
    event.preventDefault();
    renderAll(false);
  };
  for (const el of [ui.output, ui.chartSize, ui.chartEntropy]) el.addEventListener('keydown', stepKeys);

  // The nucleus view: arrows pick a candidate, Enter forces it.
  ui.view.addEventListener('keydown', (event) => {
    if (!state.view) return;
    const shown = Math.min(50, state.view.report.ids.length);
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      state.focus = Math.max(0, Math.min(shown - 1, state.focus + (event.key === 'ArrowRight' ? 1 : -1)));
      renderStep();
      const { report } = state.view;
      $('view-focus').textContent = `candidate ${state.focus + 1}: ${JSON.stringify(label(report.ids[state.focus]))}, ` +
        `p ${f(report.probs[state.focus])}, ${state.focus < report.nucleusSize ? 'in the nucleus' : 'cut off'}. Enter forces it.`;
    } else if ((event.key === 'Enter' || event.key === ' ') && state.focus >= 0) {
      forceToken(state.view.at, state.view.report.ids[state.focus]);
    } else return;
    event.preventDefault();
  });

  // Tabs, with arrow keys between the shown ones (Chat shows with a chat model only).
  const allTabs = [...document.querySelectorAll('[role=tab]')];
  allTabs.forEach((tab) => {
    tab.addEventListener('click', () => selectMode(tab.id.slice(4)));
    tab.addEventListener('keydown', (event) => {
      const tabs = allTabs.filter((t) => !t.hidden);
      const i = tabs.indexOf(tab);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      const next = tabs[(to + tabs.length) % tabs.length];
      next.focus();
      selectMode(next.id.slice(4));
    });
  });

  // Models: built-in variants, a URL, a file, or a drop anywhere on the page; the cache list.
  ui.modelSelect.addEventListener('change', () => loadModel(ui.modelSelect.value, fileName(ui.modelSelect.value)));
  ui.loadUrl.addEventListener('click', loadUrl);
  ui.modelUrl.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') loadUrl();
  });
  ui.cancel.addEventListener('click', () => state.download?.abort());
  ui.threads.addEventListener('change', () => {
    if (state.info) loadModel(state.modelSource, state.modelName);
  });
  ui.cacheList.addEventListener('click', onCacheClick);
  ui.modelFile.addEventListener('change', () => {
    const file = ui.modelFile.files?.[0];
    if (file) loadModel(file, file.name, { keep: true });
  });
  const hint = $('drop-hint');
  document.addEventListener('dragover', (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
    event.preventDefault();
    hint.hidden = false;
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) hint.hidden = true;
  });
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    hint.hidden = true;
    const file = event.dataTransfer?.files?.[0];
    if (file) loadModel(file, file.name, { keep: true });
  });
}

async function main() {
  // The nucleus view's styles come with it (web/nucleus-view.js), as a constructed sheet.
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, nucleusStyleSheet()];
  // One fetch and one compile of the wasm: the worker gets the page's compiled module.
  state.worker = new WorkerModel(new URL('/web/worker.js', location.href), { runtime: await compileRuntime() });
  try {
    state.cache = await openModelCache();
  } catch (error) {
    state.cacheError = error.message; // models then load straight from their URLs
  }
  renderCache();
  [viewSampler, genSampler, histSampler] = await Promise.all([0, 1, 2].map(() => createSampler({ topN: TOP_N })));
  teach = createTeach({ sampler: await createSampler(), settings });
  sweep = createSweep({
    runJob,
    worker: state.worker,
    modelName: () => (state.info ? state.modelName : ''),
    pick: pickSetting,
    current: () => ({ topP: Number(ui.topP.value), temperature: Number(ui.temperature.value) }),
  });
  fillThreads();
  wire();
  showSettings();
  selectMode('explore');
  clearStep();
  renderCharts();
  if (await loadModel(DEFAULT_MODEL, fileName(DEFAULT_MODEL))) document.body.dataset.ready = 'true';
}

main().catch((error) => setModelStatus('error', `Error: the page could not start: ${error.message}`));
