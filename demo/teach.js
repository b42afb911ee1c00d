// Teaching mode: the worked example of the README as an editable toy distribution. The sampler
// (the same wasm as everywhere) computes the nucleus; this module only shows why.
import { svg, landingRank } from './views.js';

export const ANIMALS = Object.freeze([
  ['cat', 2.4], ['dog', 1.8], ['bird', 0.5], ['fish', 0.2], ['lizard', -0.3], ['hamster', -1.0],
]);

const f = (x, digits = 3) => x.toFixed(digits);

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Wires the teaching panel. sampler: a main-thread Sampler; settings(): the sidebar's values. */
export function createTeach({ sampler, settings }) {
  const rows = document.getElementById('toy-rows');
  const list = document.getElementById('teach-list');
  const nucleus = document.getElementById('teach-nucleus');
  const explain = document.getElementById('teach-explain');
  const bar = document.getElementById('teach-bar');
  const drawNote = document.getElementById('teach-draw-note');
  const inputs = [];
  let coin = null; // the last draw, shown until something changes

  ANIMALS.forEach(([name, logit], i) => {
    const input = element('input', { type: 'number', step: '0.1', value: String(logit), id: `toy-logit-${i}` });
    input.dataset.testid = `toy-logit-${name}`;
    input.addEventListener('input', () => {
      coin = null;
      render();
    });
    inputs.push(input);
    const label = element('label', { htmlFor: input.id, textContent: name });
    rows.append(element('tr', {}, element('th', { scope: 'row' }, label), element('td', {}, input)));
  });

  function logits() {
    return inputs.map((input, i) => {
      const value = Number(input.value);
      const ok = input.value.trim() !== '' && Number.isFinite(value);
      input.setAttribute('aria-invalid', String(!ok));
      return ok ? value : ANIMALS[i][1];
    });
  }

  function render() {
    const s = settings();
    sampler.configure({ temperature: s.temperature, topP: s.topP, topK: s.topK, minP: s.minP, topN: ANIMALS.length });
    const report = sampler.inspect(logits());
    const names = [...report.ids].map((id) => ANIMALS[id][0]);
    const kept = names.slice(0, report.nucleusSize);
    if (coin === null) drawNote.textContent = '';

    list.replaceChildren();
    names.forEach((name, i) => {
      const inside = i < report.nucleusSize;
      let why;
      if (s.temperature <= 0) why = inside ? 'T = 0: only the most probable word' : 'T = 0: greedy keeps one word';
      else if (inside && i === report.nucleusSize - 1) why = `the sum reaches ${f(report.cumulative[i])} ≥ p: stop here`;
      else if (inside) why = `${f(report.cumulative[i])} < p = ${f(s.topP, 2)}: keep adding`;
      else if (report.nucleusMass >= s.topP - 1e-6) why = 'not needed: the kept words already reach p';
      else why = 'cut by top-k or min-p';
      const li = element('li', { className: inside ? 'in-nucleus' : 'out-of-nucleus' },
        element('span', { className: 'word', textContent: name }),
        element('span', { className: 'num', textContent: `p ${f(report.probs[i])}` }),
        element('span', { className: 'num', textContent: `sum ${f(report.cumulative[i])}` }),
        element('span', { className: 'badge', textContent: inside ? 'in the nucleus' : 'left out' }),
        element('span', { className: 'why', textContent: why }),
      );
      li.dataset.word = name;
      li.dataset.inNucleus = String(inside);
      list.append(li);
    });

    nucleus.textContent = kept.join(', ');
    const left = names.slice(report.nucleusSize);
    explain.textContent =
      s.temperature <= 0
        ? `At T = 0 sampling is greedy: the most probable word, ${kept[0]}, always wins.`
        : `Sorted by probability, ${kept.join(' + ')} add up to ${f(report.nucleusMass)}, the first sum that reaches p = ${f(s.topP, 2)}. ` +
          `That is the smallest set whose cumulative probability reaches p, so ${kept.length} of ${names.length} words are kept` +
          (left.length ? ` and ${left.length === 1 ? 'one word is' : `${left.length} words are`} never drawn. ` : '. ') +
          `The draw picks among the kept words in proportion to their probabilities (renormalized by ${f(report.nucleusMass)}).`;

    drawBar(report, names, s.topP);
  }

  function drawBar(report, names, topP) {
    bar.replaceChildren();
    const left = 20, width = 760, top = 22, height = 34;
    let at = 0;
    names.forEach((name, i) => {
      const w = report.probs[i] * width;
      const cls = i < report.nucleusSize ? 'seg in' : 'seg out';
      bar.append(svg('rect', { class: cls, x: left + at * width, y: top, width: Math.max(0, w - 1), height }));
      if (w > 34) bar.append(svg('text', { class: 'seg-label', x: left + at * width + w / 2, y: top + 22, 'text-anchor': 'middle' }, name));
      at += report.probs[i];
    });
    const px = left + topP * width;
    bar.append(svg('g', { class: 'p-line' },
      svg('line', { x1: px, y1: top - 8, x2: px, y2: top + height + 8 }),
      svg('text', { x: px, y: top - 11, 'text-anchor': 'middle' }, `p = ${f(topP, 2)}`)));
    bar.append(svg('text', { class: 'axis', x: left, y: top + height + 22 }, '0'),
      svg('text', { class: 'axis', x: left + width, y: top + height + 22, 'text-anchor': 'end' }, '1'));
    if (coin !== null) {
      const target = coin * report.nucleusMass;
      const cx = left + target * width;
      bar.append(svg('g', { class: 'coin' },
        svg('line', { x1: cx, y1: top, x2: cx, y2: top + height }),
        svg('circle', { cx, cy: top + height / 2, r: 5 })));
    }
  }

  document.getElementById('teach-draw').addEventListener('click', () => {
    const s = settings();
    sampler.configure({ temperature: s.temperature, topP: s.topP, topK: s.topK, minP: s.minP, topN: ANIMALS.length });
    sampler.reseed(Math.floor(Math.random() * 2 ** 32));
    const report = sampler.sample(logits());
    const name = ANIMALS[report.token][0];
    coin = report.coin;
    render();
    drawNote.textContent = coin === null
      ? `Greedy: ${name}.`
      : `coin ${f(coin)} × kept mass ${f(report.nucleusMass)} = ${f(coin * report.nucleusMass)}: it falls in ${name} (rank ${landingRank(report, coin) + 1}).`;
  });

  document.getElementById('teach-reset').addEventListener('click', () => {
    inputs.forEach((input, i) => (input.value = String(ANIMALS[i][1])));
    coin = null;
    drawNote.textContent = '';
    render();
  });

  return { render };
}
