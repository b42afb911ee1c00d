// Drawing: the nucleus view, the per-step charts and the 1000-draw histogram, as SVG built
// with DOM calls. Every label is a text node: token text never becomes markup.

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
  // One listener for all bars: a click forces the bar's rank with the step drawn last.
  parts.bars.addEventListener('click', (event) => {
    const bar = event.target.closest('.bar[data-rank]');
    if (bar) parts.onPick(Number(bar.dataset.rank));
  });
  const bottom = BOX.top + BOX.plotH;
  const mid = BOX.top + BOX.plotH / 2;
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
 * The nucleus of one step. view: { report (sampler.inspect with the current settings), label(id),
 * topP, chosen (token id drawn or forced at this step), coin (or null), focus (rank with keyboard
 * focus or -1) }. onPick(rank) when a bar is clicked. Returns the rank the coin lands on (or -1).
 */
export function drawNucleus(root, view, onPick) {
  let parts = nucleusParts.get(root);
  if (!parts || parts.bars.parentNode !== root) parts = nucleusSkeleton(root);
  parts.onPick = onPick;
  const { report, label, topP, chosen, coin, focus } = view;
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
  setText(parts.pMax, f(pMax, 2));

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
    const drawn = [id, text, report.probs[i], report.cumulative[i], inside, id === chosen, i === focus, slotW, pMax];
    if (slot.drawn && drawn.every((v, k) => v === slot.drawn[k])) continue;
    slot.drawn = drawn;
    const classes = ['bar', inside ? 'in' : 'out'];
    if (id === chosen) classes.push('chosen');
    if (i === focus) classes.push('focus');
    const y = yProb(report.probs[i]);
    update(slot.g, { class: classes.join(' '), 'data-rank': i, 'data-token-id': id });
    setText(slot.title, `${JSON.stringify(text)} (id ${id}): p ${f(report.probs[i], 4)}, cumulative ${f(report.cumulative[i])}${inside ? ', in the nucleus' : ', cut off'}. Click to force it here.`);
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
  update(parts.cutText, { x: cutX + 4, y: BOX.top + 4 });
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

/** Bars per step (values), the selected step outlined; onSelect(step) on click. */
export function drawChart(root, values, { selected, forced = [], format = (v) => String(v) }, onSelect) {
  root.replaceChildren();
  const W = 400, H = 120, left = 30, top = 8, bottom = 104;
  const n = values.length;
  if (n === 0) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'no steps yet'));
    return;
  }
  const max = Math.max(...values, 1e-9);
  const w = (W - left - 4) / n;
  root.append(svg('g', { class: 'axes' },
    svg('line', { x1: left, y1: bottom, x2: W - 4, y2: bottom }),
    svg('text', { x: left - 4, y: top + 8, 'text-anchor': 'end' }, format(max)),
    svg('text', { x: left - 4, y: bottom, 'text-anchor': 'end' }, '0'),
  ));
  const bars = svg('g', { class: 'bars' });
  values.forEach((v, i) => {
    const h = (v / max) * (bottom - top);
    const classes = ['bar'];
    if (i === selected) classes.push('selected');
    if (forced[i]) classes.push('forced');
    const g = svg('g', { class: classes.join(' ') },
      svg('title', {}, `step ${i + 1}: ${format(v)}`),
      svg('rect', { class: 'hit', x: left + i * w, y: top, width: w, height: bottom - top }),
      svg('rect', { class: 'fill', x: left + i * w + w * 0.1, y: bottom - h, width: Math.max(0.6, w * 0.8), height: Math.max(0.5, h) }),
    );
    g.addEventListener('click', () => onSelect(i));
    bars.append(g);
  });
  root.append(bars);
}

/** Theoretical renormalized probabilities (outlined) against the shares of n draws (filled). */
export function drawHistogram(root, report, shares, label) {
  root.replaceChildren();
  const W = 800, left = 46, right = 10, top = 12, bottom = 150;
  const shown = Math.min(50, report.nucleusSize);
  const expected = (i) => report.probs[i] / report.nucleusMass;
  let max = 1e-9;
  for (let i = 0; i < shown; i++) max = Math.max(max, expected(i), shares.get(report.ids[i]) ?? 0);
  const w = (W - left - right) / Math.max(1, shown);
  const y = (v) => bottom - (v / max) * (bottom - top);
  root.append(svg('g', { class: 'axes' },
    svg('line', { x1: left, y1: bottom, x2: W - right, y2: bottom }),
    svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end' }, f(max, 2)),
    svg('text', { x: left - 6, y: bottom, 'text-anchor': 'end' }, '0'),
  ));
  const g = svg('g', {});
  for (let i = 0; i < shown; i++) {
    const id = report.ids[i];
    const share = shares.get(id) ?? 0;
    g.append(
      svg('rect', { class: 'drawn', x: left + i * w + w * 0.15, y: y(share), width: w * 0.7, height: Math.max(0.5, bottom - y(share)) },
        svg('title', {}, `${JSON.stringify(label(id))}: drawn ${f(share)}, expected ${f(expected(i))}`)),
      svg('rect', { class: 'expected', x: left + i * w + w * 0.05, y: y(expected(i)), width: w * 0.9, height: Math.max(0.5, bottom - y(expected(i))) }),
      svg('text', { class: 'tick', transform: `translate(${left + i * w + w / 2 + 3} ${bottom + 8}) rotate(-60)`, 'text-anchor': 'end' }, displayToken(label(id), 8)),
    );
  }
  root.append(g);
}
