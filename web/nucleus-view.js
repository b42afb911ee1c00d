// The nucleus view: one step's token probabilities sorted descending as bars, the cumulative
// curve, the line at p and the cut, and where the coin landed. drawNucleus draws it into any
// <svg>; the demo page and the <nucleus-view> custom element (below) both use it, and both
// style it with NUCLEUS_CSS, themable through CSS custom properties. SVG built with DOM calls:
// every label is a text node, so token text never becomes markup.

const NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes; a string child becomes a text node. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

/** A short, visible form of a token: spaces and control characters made readable. */
export function displayToken(text, max = 12) {
  const shown = text.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\t/g, '⇥');
  return shown.length > max ? shown.slice(0, max - 1) + '…' : shown;
}

const f = (x, digits = 3) => x.toFixed(digits);

/** Index of the kept entry a coin lands on: first running cumulative sum above coin * mass. */
export function landingRank(report, coin) {
  const target = coin * report.nucleusMass;
  for (let i = 0; i < report.nucleusSize; i++) if (report.cumulative[i] > target) return i;
  return report.nucleusSize - 1;
}

/** The viewBox every nucleus view is drawn in. */
export const NUCLEUS_VIEWBOX = '0 0 800 305';
const BOX = { left: 46, right: 46, top: 18, plotH: 210, width: 800 };

/** Sets the attributes that differ: an unchanged attribute costs no style, layout or paint work. */
function update(node, attrs) {
  for (const [name, raw] of Object.entries(attrs)) {
    const value = String(raw);
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }
  return node;
}

/** Sets an element's text if it differs (the same text would still be laid out again). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// Each nucleus view keeps its elements between draws: moving p or T only changes attributes
// and a few texts, so the browser restyles, lays out and paints just what moved.
const nucleusParts = new WeakMap();

function nucleusSkeleton(root) {
  const text = (attrs) => svg('text', attrs, '');
  const parts = {
    pMax: text({ 'text-anchor': 'end' }),
    bars: svg('g', { class: 'bars' }),
    slots: [],
    rest: { title: svg('title'), fill: svg('rect', { class: 'fill' }), tick: text({ class: 'tick', 'text-anchor': 'end' }) },
    curve: svg('polyline', { class: 'cumulative' }),
    pLine: svg('line'),
    pText: text({ 'text-anchor': 'end' }),
    cutLine: svg('line'),
    cutText: text({}),
    coinLine: svg('line'),
    coinDot: svg('circle', { r: 5 }),
    coinText: text({}),
    onPick: null,
  };
  parts.rest.g = svg('g', { class: 'bar rest' }, parts.rest.title, parts.rest.fill, parts.rest.tick);
  parts.coin = svg('g', { class: 'coin' }, parts.coinLine, parts.coinDot, parts.coinText);
  // One listener for all bars: a click reports the bar's rank in the step drawn last.
  parts.bars.addEventListener('click', (event) => {
    const bar = event.target.closest('.bar[data-rank]');
    if (bar) parts.onPick?.(Number(bar.dataset.rank));
  });
  const bottom = BOX.top + BOX.plotH;
  const mid = BOX.top + BOX.plotH / 2;
  root.classList.add('nucleus-chart');
  root.replaceChildren(
    svg('g', { class: 'axes' },
      svg('line', { x1: BOX.left, y1: bottom, x2: BOX.width - BOX.right, y2: bottom }),
      update(parts.pMax, { x: BOX.left - 6, y: BOX.top + 4 }),
      svg('text', { x: BOX.left - 6, y: bottom, 'text-anchor': 'end' }, '0'),
      svg('text', { x: BOX.width - BOX.right + 6, y: BOX.top + 4 }, '1.0'),
      svg('text', { x: BOX.width - BOX.right + 6, y: bottom - 0.5 * BOX.plotH + 4 }, '0.5'),
      svg('text', { x: 12, y: mid, transform: `rotate(-90 12 ${mid})`, 'text-anchor': 'middle' }, 'probability'),
      svg('text', { x: BOX.width - 10, y: mid, transform: `rotate(90 ${BOX.width - 10} ${mid})`, 'text-anchor': 'middle' }, 'cumulative'),
    ),
    parts.bars,
    parts.curve,
    svg('g', { class: 'p-line' }, parts.pLine, parts.pText),
    svg('g', { class: 'cut' }, parts.cutLine, parts.cutText),
  );
  nucleusParts.set(root, parts);
  return parts;
}

function barSlot() {
  const slot = { title: svg('title'), hit: svg('rect', { class: 'hit' }), fill: svg('rect', { class: 'fill' }), tick: svg('text', { class: 'tick', 'text-anchor': 'end' }, '') };
  slot.g = svg('g', {}, slot.title, slot.hit, slot.fill, slot.tick);
  return slot;
}

/**
 * Draws the nucleus of one step into root (an <svg> with viewBox NUCLEUS_VIEWBOX). view:
 * { report (a sampler report: ids, probs, cumulative, nucleusSize, nucleusMass, vocabSize),
 * label(id), topP, chosen (token id drawn or forced at this step, or -1), coin (or null), focus
 * (rank with keyboard focus or -1), pickHint (the bars' tooltip ending) }. onPick(rank) when a
 * bar is clicked. Returns the rank the coin lands on (or -1).
 */
export function drawNucleus(root, view, onPick) {
  let parts = nucleusParts.get(root);
  if (!parts || parts.bars.parentNode !== root) parts = nucleusSkeleton(root);
  parts.onPick = onPick;
  const { report, label, topP, chosen = -1, coin = null, focus = -1, pickHint = 'Click to force it here.' } = view;
  const shown = Math.min(50, report.ids.length);
  const restMass = Math.max(0, 1 - (shown > 0 ? report.cumulative[shown - 1] : 0));
  const restCount = report.vocabSize - shown;
  const slots = shown + (restCount > 0 ? 1 : 0);
  const plotW = BOX.width - BOX.left - BOX.right;
  const slotW = plotW / Math.max(1, slots);
  const bottom = BOX.top + BOX.plotH;
  const pMax = Math.max(report.probs[0] || 0, 1e-9);
  const yProb = (p) => bottom - (Math.min(p, pMax) / pMax) * BOX.plotH;
  const yCum = (c) => bottom - Math.min(1, Math.max(0, c)) * BOX.plotH;
  const x = (i) => BOX.left + i * slotW;
  const tickAt = (i) => `translate(${x(i) + slotW / 2 + 3} ${bottom + 8}) rotate(-60)`;

  // Axes: probability on the left (0..largest), cumulative on the right (0..1).
  setText(parts.pMax, pMax >= 0.01 ? f(pMax, 2) : pMax.toPrecision(2)); // a flat distribution's top is small

  const picked = coin === null ? -1 : landingRank(report, coin);
  while (parts.slots.length > shown) parts.slots.pop().g.remove();
  while (parts.slots.length < shown) {
    const slot = barSlot();
    parts.bars.insertBefore(slot.g, parts.slots.length ? parts.slots.at(-1).g.nextSibling : parts.bars.firstChild);
    parts.slots.push(slot);
  }
  for (let i = 0; i < shown; i++) {
    const slot = parts.slots[i];
    const id = report.ids[i];
    const inside = i < report.nucleusSize;
    const text = label(id);
    // A bar depends on these alone; moving p mostly leaves them as they were.
    const drawn = [id, text, report.probs[i], report.cumulative[i], inside, id === chosen, i === focus, slotW, pMax, pickHint];
    if (slot.drawn && drawn.every((v, k) => v === slot.drawn[k])) continue;
    slot.drawn = drawn;
    const classes = ['bar', inside ? 'in' : 'out'];
    if (id === chosen) classes.push('chosen');
    if (i === focus) classes.push('focus');
    const y = yProb(report.probs[i]);
    update(slot.g, { class: classes.join(' '), 'data-rank': i, 'data-token-id': id });
    setText(slot.title, `${JSON.stringify(text)} (id ${id}): p ${f(report.probs[i], 4)}, cumulative ${f(report.cumulative[i])}${inside ? ', in the nucleus' : ', cut off'}.${pickHint ? ' ' + pickHint : ''}`);
    update(slot.hit, { x: x(i), y: BOX.top, width: slotW, height: BOX.plotH + 60 });
    update(slot.fill, { x: x(i) + slotW * 0.12, y, width: slotW * 0.76, height: Math.max(0.5, bottom - y) });
    update(slot.tick, { transform: tickAt(i) });
    setText(slot.tick, displayToken(text));
  }
  if (restCount > 0) {
    const { g, title, fill, tick } = parts.rest;
    const y = yProb(restMass);
    setText(title, `the other ${restCount} tokens: ${f(restMass * 100, 2)}% together`);
    update(fill, { x: x(shown) + slotW * 0.12, y, width: slotW * 0.76, height: Math.max(0.5, bottom - y) });
    update(tick, { transform: tickAt(shown) });
    setText(tick, `+${restCount} more`);
    if (g.parentNode !== parts.bars) parts.bars.append(g);
  } else parts.rest.g.remove();

  // Cumulative curve: a step up at each token, ending at 1 after the rest of the vocabulary.
  const points = [[x(0), yCum(0)]];
  for (let i = 0; i < shown; i++) points.push([x(i + 1), yCum(report.cumulative[i])]);
  if (restCount > 0) points.push([x(slots), yCum(1)]);
  update(parts.curve, { points: points.map((p) => p.map((v) => v.toFixed(1)).join(',')).join(' ') });

  // The line at p and the cut.
  const pLine = yCum(topP);
  update(parts.pLine, { x1: BOX.left, y1: pLine, x2: BOX.width - BOX.right, y2: pLine });
  update(parts.pText, { x: BOX.width - BOX.right - 4, y: pLine - 5 });
  setText(parts.pText, `p = ${f(topP, 2)}`);
  const cutSlot = Math.min(report.nucleusSize, shown);
  const cutX = report.nucleusSize <= shown ? x(cutSlot) : x(shown) + slotW / 2;
  update(parts.cutLine, { x1: cutX, y1: BOX.top - 6, x2: cutX, y2: bottom });
  // Near the right edge the label goes left of the cut, inside the plot.
  const leftOfCut = cutX > BOX.width - BOX.right - 90;
  update(parts.cutText, { x: leftOfCut ? cutX - 4 : cutX + 4, y: BOX.top + 4, 'text-anchor': leftOfCut ? 'end' : 'start' });
  setText(parts.cutText, `cut: ${report.nucleusSize} token${report.nucleusSize === 1 ? '' : 's'}`);

  // Where the coin landed: coin * nucleus mass on the cumulative axis, and the token it falls in.
  if (coin !== null) {
    const target = coin * report.nucleusMass;
    const yT = yCum(target);
    const landX = x(picked) + slotW / 2;
    update(parts.coinLine, { x1: BOX.left, y1: yT, x2: landX, y2: yT });
    update(parts.coinDot, { cx: landX, cy: yT });
    update(parts.coinText, { x: BOX.left + 4, y: yT - 5 });
    setText(parts.coinText, `coin ${f(coin)} × mass ${f(report.nucleusMass)} = ${f(target)}`);
    if (parts.coin.parentNode !== root) root.append(parts.coin);
  } else parts.coin.remove();
  return picked;
}

/**
 * The view's styles, scoped to svg.nucleus-chart. Theme it by setting these custom properties
 * on the element or any ancestor: --nucleus-in (bars in the nucleus), --nucleus-out (cut off),
 * --nucleus-rest (the rest of the vocabulary), --nucleus-chosen (the drawn token and the coin),
 * --nucleus-ink (curve, cut, token labels), --nucleus-muted (axis labels), --nucleus-axis,
 * --nucleus-p (the line at p), --nucleus-hover, --nucleus-font, --nucleus-mono.
 */
export const NUCLEUS_CSS = `
.nucleus-chart { display: block; width: 100%; height: auto; font-family: var(--nucleus-font, inherit); }
.nucleus-chart text { font-size: 11px; fill: var(--nucleus-muted, #667085); }
.nucleus-chart .axes line { stroke: var(--nucleus-axis, #9aa3b2); stroke-width: 1; }
.nucleus-chart .bar { cursor: pointer; }
.nucleus-chart .bar .hit { fill: transparent; }
.nucleus-chart .bar.in .fill { fill: var(--nucleus-in, #2f6fdf); }
.nucleus-chart .bar.out .fill { fill: var(--nucleus-out, #c9ced8); }
.nucleus-chart .bar.rest { cursor: default; }
.nucleus-chart .bar.rest .fill { fill: var(--nucleus-rest, #e6e9ef); }
.nucleus-chart .bar.chosen .fill { fill: var(--nucleus-chosen, #e07b24); }
.nucleus-chart .bar:hover .hit, .nucleus-chart .bar.focus .hit { fill: var(--nucleus-hover, rgb(47 111 223 / 0.08)); }
.nucleus-chart .bar.focus .fill { stroke: var(--nucleus-ink, #1d2330); stroke-width: 1.5; }
.nucleus-chart .bar .tick { font-family: var(--nucleus-mono, ui-monospace, Menlo, Consolas, monospace); font-size: 10px; fill: var(--nucleus-ink, #1d2330); }
.nucleus-chart .bar.out .tick, .nucleus-chart .bar.rest .tick { fill: var(--nucleus-axis, #9aa3b2); }
.nucleus-chart .bar.chosen .tick { fill: var(--nucleus-chosen, #e07b24); font-weight: 700; }
.nucleus-chart .cumulative, .nucleus-chart .p-line, .nucleus-chart .cut, .nucleus-chart .coin { pointer-events: none; }
.nucleus-chart .cumulative { fill: none; stroke: var(--nucleus-ink, #1d2330); stroke-width: 1.6; }
.nucleus-chart .p-line line { stroke: var(--nucleus-p, #c8372d); stroke-width: 1.4; stroke-dasharray: 5 4; }
.nucleus-chart .p-line text { fill: var(--nucleus-p, #c8372d); font-weight: 600; }
.nucleus-chart .cut line { stroke: var(--nucleus-ink, #1d2330); stroke-width: 1; stroke-dasharray: 2 3; }
.nucleus-chart .cut text { fill: var(--nucleus-ink, #1d2330); }
.nucleus-chart .coin line { stroke: var(--nucleus-chosen, #e07b24); stroke-width: 1.2; stroke-dasharray: 1 3; }
.nucleus-chart .coin circle { fill: var(--nucleus-background, #fff); stroke: var(--nucleus-chosen, #e07b24); stroke-width: 2.5; }
.nucleus-chart .coin text { fill: var(--nucleus-chosen, #e07b24); }
`;

// A constructed stylesheet: it applies under a Content-Security-Policy without 'unsafe-inline'.
let sheet = null;
/** NUCLEUS_CSS as a CSSStyleSheet, made once, for document.adoptedStyleSheets or a shadow root. */
export function nucleusStyleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(NUCLEUS_CSS);
  }
  return sheet;
}

// ---- <nucleus-view> --------------------------------------------------------------------------

const ELEMENT_CSS = `
:host { display: block; color: var(--nucleus-ink, #1d2330); font-family: var(--nucleus-font, system-ui, sans-serif); }
:host([hidden]) { display: none; }
.controls { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; align-items: center; font-size: 0.85rem; }
.controls[hidden] { display: none; }
.controls label { display: flex; gap: 0.4rem; align-items: center; }
.controls input { accent-color: var(--nucleus-in, #2f6fdf); }
.controls output { font-variant-numeric: tabular-nums; min-width: 2.5em; }
.nucleus-chart:focus-visible { outline: 2px solid var(--nucleus-in, #2f6fdf); outline-offset: 2px; }
.summary { margin: 0.2rem 0 0; font-size: 0.8rem; color: var(--nucleus-muted, #667085); }
.summary.error { color: var(--nucleus-p, #c8372d); }
`;

// Reports are computed with the package's sampler (web/sampler.js), loaded with the first
// logits: a page that only hands over reports never loads the wasm.
let samplerPromise = null;
function sharedSampler() {
  samplerPromise ??= import('./sampler.js').then(({ createSampler }) => createSampler({ topN: 64 }));
  return samplerPromise;
}

/** Numbers from an attribute: separated by commas and/or whitespace. */
function parseNumbers(text) {
  return text.trim() === '' ? [] : text.trim().split(/[\s,]+/).map(Number);
}

const BaseElement = globalThis.HTMLElement ?? class {};

/**
 * <nucleus-view>: the nucleus view of one step. Give it either `logits` (an array of numbers; it
 * computes the report with the sampler at its top-p and temperature, and redraws when they
 * change) or `report` (a step report from Sampler.sample/inspect or Model.generate, drawn as
 * it is), and `tokens` (token texts by id: an array, or a function id -> text).
 * Attributes: logits="2.4 1.8 ..." and tokens='["cat", ...]' (JSON) for static pages, top-p,
 * temperature, top-k, min-p, chosen (a token id to mark), controls (show p and T sliders; with
 * logits). Events (bubbling, composed): nucleus-pick { rank, id, text } when a bar is clicked,
 * nucleus-input { topP, temperature } when a slider moves, nucleus-draw { report } after each
 * draw, nucleus-error { error } when the logits are refused (the message is shown too).
 */
export class NucleusViewElement extends BaseElement {
  static observedAttributes = ['logits', 'tokens', 'top-p', 'temperature', 'top-k', 'min-p', 'chosen', 'controls'];

  #logits = null;
  #report = null; // given, or computed from #logits
  #given = false; // #report came from the caller
  #tokens = [];
  #coin = null;
  #focus = -1; // the bar with keyboard focus
  #parts = null;
  #pending = false;

  connectedCallback() {
    if (!this.#parts) this.#build();
    this.#schedule();
  }

  attributeChangedCallback(name, _old, value) {
    if (name === 'logits') this.#logits = value === null ? null : parseNumbers(value);
    if (name === 'tokens') {
      try {
        this.#tokens = value === null ? [] : JSON.parse(value);
      } catch {
        this.#tokens = [];
      }
    }
    if (name === 'logits' && value !== null) this.#given = false;
    this.#schedule();
  }

  get logits() { return this.#logits; }
  set logits(values) {
    this.#logits = values == null ? null : values;
    this.#given = false;
    this.#schedule();
  }

  /** The report drawn last (given, or computed from the logits). */
  get report() { return this.#report; }
  set report(report) {
    this.#report = report;
    this.#given = report != null;
    this.#coin = report?.coin ?? null;
    if (report && Number.isInteger(report.token) && report.token >= 0 && !this.hasAttribute('chosen')) this.#chosenFromReport = report.token;
    this.#schedule();
  }
  #chosenFromReport = -1;

  get tokens() { return this.#tokens; }
  set tokens(tokens) {
    this.#tokens = tokens ?? [];
    this.#schedule();
  }

  #number(name, fallback) {
    const raw = this.getAttribute(name);
    const value = raw === null || raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(value) ? value : fallback;
  }

  get topP() { return this.#number('top-p', 0.9); }
  set topP(v) { this.setAttribute('top-p', String(v)); }
  get temperature() { return this.#number('temperature', 1); }
  set temperature(v) { this.setAttribute('temperature', String(v)); }
  get chosen() { return this.#number('chosen', this.#chosenFromReport); }
  set chosen(v) { if (v == null) this.removeAttribute('chosen'); else this.setAttribute('chosen', String(v)); }

  #label = (id) => {
    const t = this.#tokens;
    const text = typeof t === 'function' ? t(id) : t[id];
    return typeof text === 'string' ? text : `#${id}`;
  };

  #build() {
    const root = this.attachShadow({ mode: 'open' });
    const host = new CSSStyleSheet();
    host.replaceSync(ELEMENT_CSS);
    root.adoptedStyleSheets = [nucleusStyleSheet(), host];
    const slider = (name, text, min, max, step) => {
      const input = document.createElement('input');
      Object.assign(input, { type: 'range', min, max, step });
      input.setAttribute('part', name);
      input.setAttribute('aria-label', text);
      const output = document.createElement('output');
      const label = document.createElement('label');
      label.append(text, input, output);
      input.addEventListener('input', () => this.#slide());
      return { label, input, output };
    };
    const p = slider('top-p', 'p', 0, 1, 0.01);
    const t = slider('temperature', 'T', 0, 2, 0.05);
    const controls = document.createElement('div');
    controls.className = 'controls';
    controls.setAttribute('part', 'controls');
    controls.append(p.label, t.label);
    const chart = svg('svg', { viewBox: NUCLEUS_VIEWBOX, role: 'img', part: 'chart', class: 'nucleus-chart', tabindex: 0,
      'aria-label': 'Token probabilities sorted descending, the cumulative curve, the line at p and the cut. Left and right arrows move between the bars, Enter picks one.' });
    chart.addEventListener('keydown', (event) => this.#key(event));
    const summary = document.createElement('p');
    summary.className = 'summary';
    summary.setAttribute('part', 'summary');
    summary.setAttribute('aria-live', 'polite');
    root.append(controls, chart, summary);
    this.#parts = { controls, p, t, chart, summary };
  }

  /** Arrow keys move the focused bar, Enter or Space picks it (as a click does). */
  #key(event) {
    const report = this.#report;
    if (!report) return;
    const shown = Math.min(50, report.ids.length);
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      this.#focus = Math.max(0, Math.min(shown - 1, this.#focus + (event.key === 'ArrowRight' ? 1 : -1)));
      this.#render(report);
      const id = report.ids[this.#focus];
      this.#parts.summary.textContent = `bar ${this.#focus + 1}: ${JSON.stringify(this.#label(id))}, p ${f(report.probs[this.#focus], 4)}, ` +
        `${this.#focus < report.nucleusSize ? 'in the nucleus' : 'cut off'}`;
    } else if ((event.key === 'Enter' || event.key === ' ') && this.#focus >= 0 && this.#focus < shown) {
      this.#pick(report, this.#focus);
    } else return;
    event.preventDefault();
  }

  #pick(report, rank) {
    const id = report.ids[rank];
    this.dispatchEvent(new CustomEvent('nucleus-pick', { bubbles: true, composed: true, detail: { rank, id, text: this.#label(id) } }));
  }

  #slide() {
    const { p, t } = this.#parts;
    // Attributes, so the element's state can be read back and reflected by a page.
    this.setAttribute('top-p', p.input.value);
    this.setAttribute('temperature', t.input.value);
    this.#pending = false;
    this.#draw(); // at once: a slider should follow the pointer frame by frame
    this.dispatchEvent(new CustomEvent('nucleus-input', { bubbles: true, composed: true, detail: { topP: this.topP, temperature: this.temperature } }));
  }

  #schedule() {
    if (this.#pending || !this.#parts) return;
    this.#pending = true;
    queueMicrotask(() => {
      if (!this.#pending) return;
      this.#pending = false;
      this.#draw();
    });
  }

  #draw() {
    const { controls, p, t, summary } = this.#parts;
    const withLogits = !this.#given && this.#logits != null;
    controls.hidden = !(this.hasAttribute('controls') && withLogits);
    setText(p.output, f(this.topP, 2));
    setText(t.output, f(this.temperature, 2));
    if (p.input.value !== String(this.topP)) p.input.value = String(this.topP);
    if (t.input.value !== String(this.temperature)) t.input.value = String(this.temperature);
    if (withLogits) return this.#drawLogits();
    if (this.#report) return this.#render(this.#report);
    summary.textContent = 'No distribution yet.';
  }

  async #drawLogits() {
    const logits = this.#logits;
    const sampler = await sharedSampler();
    if (logits !== this.#logits || this.#given) return; // replaced while the wasm loaded
    try {
      sampler.configure({
        topP: this.topP, temperature: this.temperature, topK: this.#number('top-k', 0), minP: this.#number('min-p', 0), topN: 64,
      });
      this.#coin = null;
      this.#report = sampler.inspect(logits);
      this.#render(this.#report);
    } catch (error) {
      this.#report = null;
      this.#parts.chart.replaceChildren();
      this.#parts.summary.textContent = `Error: ${error.message}`;
      this.#parts.summary.classList.add('error');
      this.dispatchEvent(new CustomEvent('nucleus-error', { bubbles: true, composed: true, detail: { error } }));
    }
  }

  #render(report) {
    const { chart, summary } = this.#parts;
    this.#focus = Math.min(this.#focus, Math.min(50, report.ids.length) - 1);
    drawNucleus(chart, { report, label: this.#label, topP: this.topP, chosen: this.chosen, coin: this.#coin, focus: this.#focus, pickHint: '' },
      (rank) => this.#pick(report, rank));
    summary.classList.remove('error');
    setText(summary, `nucleus: ${report.nucleusSize} of ${report.vocabSize} tokens, mass ${f(report.nucleusMass)}, entropy ${f(report.entropy ?? NaN)} nats`);
    this.dispatchEvent(new CustomEvent('nucleus-draw', { bubbles: true, composed: true, detail: { report } }));
  }
}

if (globalThis.customElements && !customElements.get('nucleus-view')) customElements.define('nucleus-view', NucleusViewElement);
