// Drawing: the per-step charts and the 1000-draw histogram, as SVG built with DOM calls (every
// label is a text node: token text never becomes markup). The nucleus view itself lives in the
// package (web/nucleus-view.js), shared with the <nucleus-view> element.
import { svg, displayToken } from '/web/nucleus-view.js';

export { svg, displayToken, setText, drawNucleus, landingRank, nucleusStyleSheet } from '/web/nucleus-view.js';

const f = (x, digits = 3) => x.toFixed(digits);

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
