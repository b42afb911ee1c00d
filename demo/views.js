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

/**
 * The nucleus of one step. view: { report (sampler.inspect with the current settings), label(id),
 * topP, chosen (token id drawn or forced at this step), coin (or null), focus (rank with keyboard
 * focus or -1) }. onPick(rank) when a bar is clicked. Returns the rank the coin lands on (or -1).
 */
export function drawNucleus(root, view, onPick) {
  root.replaceChildren();
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

  // Axes: probability on the left (0..largest), cumulative on the right (0..1).
  const axes = svg('g', { class: 'axes' },
    svg('line', { x1: BOX.left, y1: bottom, x2: BOX.width - BOX.right, y2: bottom }),
    svg('text', { x: BOX.left - 6, y: BOX.top + 4, 'text-anchor': 'end' }, f(pMax, 2)),
    svg('text', { x: BOX.left - 6, y: bottom, 'text-anchor': 'end' }, '0'),
    svg('text', { x: BOX.width - BOX.right + 6, y: BOX.top + 4 }, '1.0'),
    svg('text', { x: BOX.width - BOX.right + 6, y: yCum(0.5) + 4 }, '0.5'),
    svg('text', { x: 12, y: BOX.top + BOX.plotH / 2, transform: `rotate(-90 12 ${BOX.top + BOX.plotH / 2})`, 'text-anchor': 'middle' }, 'probability'),
    svg('text', { x: BOX.width - 10, y: BOX.top + BOX.plotH / 2, transform: `rotate(90 ${BOX.width - 10} ${BOX.top + BOX.plotH / 2})`, 'text-anchor': 'middle' }, 'cumulative'),
  );
  root.append(axes);

  const picked = coin === null ? -1 : landingRank(report, coin);
  const bars = svg('g', { class: 'bars' });
  for (let i = 0; i < shown; i++) {
    const id = report.ids[i];
    const inside = i < report.nucleusSize;
    const classes = ['bar', inside ? 'in' : 'out'];
    if (id === chosen) classes.push('chosen');
    if (i === focus) classes.push('focus');
    const text = label(id);
    const g = svg('g', { class: classes.join(' '), 'data-rank': i, 'data-token-id': id },
      svg('title', {}, `${JSON.stringify(text)} (id ${id}): p ${f(report.probs[i], 4)}, cumulative ${f(report.cumulative[i])}${inside ? ', in the nucleus' : ', cut off'}. Click to force it here.`),
      svg('rect', { class: 'hit', x: x(i), y: BOX.top, width: slotW, height: BOX.plotH + 60 }),
      svg('rect', { class: 'fill', x: x(i) + slotW * 0.12, y: yProb(report.probs[i]), width: slotW * 0.76, height: Math.max(0.5, bottom - yProb(report.probs[i])) }),
      svg('text', { class: 'tick', transform: `translate(${x(i) + slotW / 2 + 3} ${bottom + 8}) rotate(-60)`, 'text-anchor': 'end' }, displayToken(text)),
    );
    g.addEventListener('click', () => onPick(i));
    bars.append(g);
  }
  if (restCount > 0) {
    bars.append(svg('g', { class: 'bar rest' },
      svg('title', {}, `the other ${restCount} tokens: ${f(restMass * 100, 2)}% together`),
      svg('rect', { class: 'fill', x: x(shown) + slotW * 0.12, y: yProb(restMass), width: slotW * 0.76, height: Math.max(0.5, bottom - yProb(restMass)) }),
      svg('text', { class: 'tick', transform: `translate(${x(shown) + slotW / 2 + 3} ${bottom + 8}) rotate(-60)`, 'text-anchor': 'end' }, `+${restCount} more`),
    ));
  }
  root.append(bars);

  // Cumulative curve: a step up at each token, ending at 1 after the rest of the vocabulary.
  const points = [[x(0), yCum(0)]];
  for (let i = 0; i < shown; i++) points.push([x(i + 1), yCum(report.cumulative[i])]);
  if (restCount > 0) points.push([x(slots), yCum(1)]);
  root.append(svg('polyline', { class: 'cumulative', points: points.map((p) => p.map((v) => v.toFixed(1)).join(',')).join(' ') }));

  // The line at p and the cut.
  const pLine = yCum(topP);
  root.append(svg('g', { class: 'p-line' },
    svg('line', { x1: BOX.left, y1: pLine, x2: BOX.width - BOX.right, y2: pLine }),
    svg('text', { x: BOX.width - BOX.right - 4, y: pLine - 5, 'text-anchor': 'end' }, `p = ${f(topP, 2)}`),
  ));
  const cutSlot = Math.min(report.nucleusSize, shown);
  const cutX = report.nucleusSize <= shown ? x(cutSlot) : x(shown) + slotW / 2;
  root.append(svg('g', { class: 'cut' },
    svg('line', { x1: cutX, y1: BOX.top - 6, x2: cutX, y2: bottom }),
    svg('text', { x: cutX + 4, y: BOX.top + 4 }, `cut: ${report.nucleusSize} token${report.nucleusSize === 1 ? '' : 's'}`),
  ));

  // Where the coin landed: coin * nucleus mass on the cumulative axis, and the token it falls in.
  if (coin !== null) {
    const target = coin * report.nucleusMass;
    const yT = yCum(target);
    const landX = x(picked) + slotW / 2;
    root.append(svg('g', { class: 'coin' },
      svg('line', { x1: BOX.left, y1: yT, x2: landX, y2: yT }),
      svg('circle', { cx: landX, cy: yT, r: 5 }),
      svg('text', { x: BOX.left + 4, y: yT - 5 }, `coin ${f(coin)} × mass ${f(report.nucleusMass)} = ${f(target)}`),
    ));
  }
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
