// Sweep mode: a grid of (p, T) settings, each cell the pooled measures of the texts the
// worker wrote with that setting (web/trace.js runSweep, web/metrics.js summarize). The page
// only reads the form, follows the progress messages and draws the grid.

const $ = (id) => document.getElementById(id);
const f = (x, digits = 3) => x.toFixed(digits);
const LIMITS = { values: 12, prompts: 20 };

// Sequential colour ramps, light = low: distinct-2 (more varied = deeper blue) and repetition
// (more loops = deeper orange).
const RAMPS = {
  distinct2: ['#fbf7d5', '#c7e9b4', '#7fcdbb', '#2c7fb8', '#253494'],
  repetitionRate: ['#fff5eb', '#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'],
};
const METRICS = {
  distinct2: { name: 'distinct-2', short: 'dist-2', other: 'repetitionRate' },
  repetitionRate: { name: 'repetition', short: 'rep', other: 'distinct2' },
};

// The full table: [key, title, digits].
const COLUMNS = [
  ['topP', 'p', 2], ['temperature', 'T', 2], ['runs', 'runs', 0], ['tokens', 'tokens', 0],
  ['meanNucleusSize', 'mean size', 1], ['medianNucleusSize', 'median size', 1], ['meanEntropy', 'entropy', 3],
  ['meanTruncatedMass', 'cut mass', 4], ['meanKL', 'KL', 4], ['distinct1', 'dist-1', 3], ['distinct2', 'dist-2', 3],
  ['distinct3', 'dist-3', 3], ['repetitionRate', 'rep-4', 3], ['meanProb', 'mean prob', 3], ['tokensPerSecond', 'tok/s', 0],
];

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

/** The ramp's colour at t in [0, 1] as [r, g, b]. */
function rampColour(ramp, t) {
  const x = Math.min(1, Math.max(0, t)) * (ramp.length - 1);
  const i = Math.min(ramp.length - 2, Math.floor(x));
  const [a, b] = [hex(ramp[i]), hex(ramp[i + 1])];
  return a.map((v, k) => Math.round(v + (b[k] - v) * (x - i)));
}

const luminance = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;

/** Sorted distinct numbers of a list typed as "0.5, 0.7 0.9", or null when one is not in [min, max]. */
export function parseList(text, min, max) {
  const parts = text.split(/[\s,;]+/).filter((s) => s !== '');
  const values = parts.map(Number);
  if (parts.length === 0 || parts.length > LIMITS.values || values.some((v) => !Number.isFinite(v) || v < min || v > max)) return null;
  return [...new Set(values)].sort((a, b) => a - b);
}

const key = (topP, temperature) => `${topP}|${temperature}`;

/**
 * Wires the sweep panel. runJob(work): the page's one-model-user-at-a-time queue (work gets a job
 * with a signal); worker: the WorkerModel; modelName(): the loaded model's name; pick(topP, T):
 * use a setting in Generate; current(): { topP, temperature } on the sliders.
 */
export function createSweep({ runJob, worker, modelName, pick, current }) {
  const ui = {
    topPs: $('sweep-top-p'), temperatures: $('sweep-temperature'), seeds: $('sweep-seeds'), maxTokens: $('sweep-max-tokens'),
    prompts: $('sweep-prompts'), run: $('sweep-run'), stop: $('sweep-stop'), progress: $('sweep-progress'),
    percent: $('sweep-percent'), status: $('sweep-status'), grid: $('sweep-grid'), title: $('sweep-grid-title'),
    legend: $('sweep-legend'), table: $('sweep-table'),
  };
  // The sweep on screen: { plan, rows: Map(key -> row), running, outcome, seconds }.
  let shown = null;
  let job = null;

  function readInt(input, min, max) {
    const value = Number(input.value.trim());
    const ok = input.value.trim() !== '' && Number.isInteger(value) && value >= min && value <= max;
    input.setAttribute('aria-invalid', String(!ok));
    return ok ? value : null;
  }

  /** The plan on the form, or null (the bad fields marked) with the reason in the status line. */
  function readPlan() {
    const topPs = parseList(ui.topPs.value, 0, 1);
    const temperatures = parseList(ui.temperatures.value, 0, 2);
    const prompts = ui.prompts.value.split('\n').map((s) => s.trim()).filter((s) => s !== '');
    const seeds = readInt(ui.seeds, 1, 20);
    const maxTokens = readInt(ui.maxTokens, 1, 512);
    ui.topPs.setAttribute('aria-invalid', String(!topPs));
    ui.temperatures.setAttribute('aria-invalid', String(!temperatures));
    const promptsOk = prompts.length >= 1 && prompts.length <= LIMITS.prompts;
    ui.prompts.setAttribute('aria-invalid', String(!promptsOk));
    const problems = [
      !topPs && `p values: 1 to ${LIMITS.values} numbers from 0 to 1`,
      !temperatures && `T values: 1 to ${LIMITS.values} numbers from 0 to 2`,
      !promptsOk && `prompts: 1 to ${LIMITS.prompts} lines`,
      seeds === null && 'seeds: a whole number from 1 to 20',
      maxTokens === null && 'max tokens: a whole number from 1 to 512',
    ].filter(Boolean);
    return problems.length ? { problems } : { plan: { topPs, temperatures, prompts, seeds, maxTokens } };
  }

  const runsOf = (plan) => plan.topPs.length * plan.temperatures.length * plan.prompts.length * plan.seeds;

  function describePlan(plan) {
    const settings = plan.topPs.length * plan.temperatures.length;
    return `${settings} setting${settings === 1 ? '' : 's'} × ${plan.prompts.length} prompt${plan.prompts.length === 1 ? '' : 's'} × ` +
      `${plan.seeds} seed${plan.seeds === 1 ? '' : 's'} = ${runsOf(plan)} runs of up to ${plan.maxTokens} tokens`;
  }

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
  }

  function setProgress(done, total) {
    const share = total > 0 ? done / total : 0;
    ui.progress.value = share;
    ui.progress.setAttribute('aria-valuetext', `${done} of ${total} runs`);
    ui.percent.textContent = `${Math.floor(share * 100)}%`;
  }

  /** Before any sweep: the form's plan as the status line and an empty grid to fill. */
  function preview() {
    if (shown?.running) return;
    const { plan, problems } = readPlan();
    if (!plan) return setStatus('invalid', `Check ${problems.join('; ')}.`);
    if (!shown) {
      setStatus('idle', `${describePlan(plan)}.`);
      drawGrid({ plan, rows: new Map(), running: false });
    } else setStatus(shown.outcome.state, shown.outcome.text + (sameShape(plan, shown.plan) ? '' : ` Run again for the new plan: ${describePlan(plan)}.`));
  }

  const sameShape = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  function cellLabel(row) {
    return `p ${row.topP}, T ${row.temperature}: distinct-2 ${f(row.distinct2)}, repetition ${f(row.repetitionRate)}, ` +
      `mean nucleus ${f(row.meanNucleusSize, 1)} tokens, entropy ${f(row.meanEntropy, 2)} nats, over ${row.runs} texts and ${row.tokens} tokens.`;
  }

  function drawGrid(sweep) {
    const metric = document.querySelector('input[name=sweep-metric]:checked').value;
    const { name, other } = METRICS[metric];
    ui.title.textContent = `${name} by p and T`;
    const values = [...sweep.rows.values()].map((row) => row[metric]);
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (!(hi - lo >= 0.02)) [lo, hi] = [Math.max(0, (lo + hi) / 2 - 0.01), Math.min(1, (lo + hi) / 2 + 0.01)];
    const now = current();

    const head = element('tr', {}, element('td', { className: 'corner' }));
    for (const topP of sweep.plan.topPs) head.append(element('th', { scope: 'col', textContent: `p ${topP}` }));
    const body = element('tbody');
    for (const temperature of sweep.plan.temperatures) {
      const tr = element('tr', {}, element('th', { scope: 'row', textContent: `T ${temperature}` }));
      for (const topP of sweep.plan.topPs) {
        const row = sweep.rows.get(key(topP, temperature));
        const button = element('button', { type: 'button', className: 'cell' });
        Object.assign(button.dataset, { testid: 'sweep-cell', topP: String(topP), temperature: String(temperature) });
        if (row) {
          const colour = rampColour(RAMPS[metric], (row[metric] - lo) / (hi - lo));
          button.style.backgroundColor = `rgb(${colour.join(' ')})`;
          button.classList.toggle('dark', luminance(colour) < 0.5);
          button.classList.toggle('current', topP === now.topP && temperature === now.temperature);
          Object.assign(button.dataset, { value: String(row[metric]), distinct2: String(row.distinct2), repetition: String(row.repetitionRate) });
          button.append(
            element('span', { className: 'value', textContent: f(row[metric]) }),
            element('span', { className: 'sub', textContent: `${METRICS[other].short} ${f(row[other], 2)} · size ${f(row.meanNucleusSize, row.meanNucleusSize < 100 ? 1 : 0)}` }),
          );
          button.title = `${cellLabel(row)} Click to use p ${topP} and T ${temperature} in Generate.`;
          button.setAttribute('aria-label', button.title);
          button.addEventListener('click', () => pick(topP, temperature));
        } else {
          button.disabled = true;
          button.classList.add('empty');
          button.append(element('span', { className: 'value', textContent: sweep.running ? '…' : '–' }));
          button.setAttribute('aria-label', `p ${topP}, T ${temperature}: ${sweep.running ? 'not measured yet' : 'not measured'}`);
        }
        tr.append(element('td', {}, button));
      }
      body.append(tr);
    }
    ui.grid.replaceChildren(element('thead', {}, head), body);

    ui.legend.replaceChildren();
    if (values.length) {
      ui.legend.append(
        element('span', { textContent: `${name}:` }),
        element('span', { textContent: f(lo) }),
        element('span', { className: `ramp ${metric}` }),
        element('span', { textContent: f(hi) }),
        element('span', { textContent: metric === 'distinct2' ? 'deeper = more varied text.' : 'deeper = more loops.' }),
        element('span', { textContent: 'size: mean nucleus size. Outlined: the setting on the sliders.' }),
      );
    }
    drawTable(sweep);
  }

  function drawTable(sweep) {
    const head = element('tr', {}, ...COLUMNS.map(([, title]) => element('th', { scope: 'col', textContent: title })));
    const body = element('tbody');
    for (const topP of sweep.plan.topPs) {
      for (const temperature of sweep.plan.temperatures) {
        const row = sweep.rows.get(key(topP, temperature));
        if (row) body.append(element('tr', {}, ...COLUMNS.map(([k, , digits]) => element('td', { textContent: f(row[k], digits) }))));
      }
    }
    ui.table.replaceChildren(element('thead', {}, head), body);
  }

  function start() {
    const { plan, problems } = readPlan();
    if (!plan) return setStatus('invalid', `Check ${problems.join('; ')}.`);
    const name = modelName();
    const total = runsOf(plan);
    const sweep = { plan, rows: new Map(), running: true, outcome: null };
    let started = false;
    setStatus('running', `Waiting for the model… ${describePlan(plan)}.`);
    return runJob(async (task) => {
      started = true;
      job = task;
      shown = sweep;
      ui.stop.disabled = false;
      setProgress(0, total);
      drawGrid(sweep);
      setStatus('running', `Running ${describePlan(plan)} on ${name}…`);
      const began = performance.now();
      try {
        const rows = await worker.sweep(plan, {
          signal: task.signal,
          onProgress: ({ done, row }) => {
            setProgress(done, total);
            const seconds = (performance.now() - began) / 1000;
            setStatus('running', `Running on ${name}: ${done} of ${total} runs, ${f(seconds, 1)} s…`);
            if (row) {
              sweep.rows.set(key(row.topP, row.temperature), row);
              drawGrid(sweep);
            }
          },
        });
        for (const row of rows) sweep.rows.set(key(row.topP, row.temperature), row);
        const seconds = (performance.now() - began) / 1000;
        const tokens = rows.reduce((sum, row) => sum + row.tokens, 0);
        sweep.outcome = { state: 'done', text: `${total} runs on ${name}: ${tokens} tokens in ${f(seconds, 1)} s (${Math.round(tokens / seconds)} tokens/s in the worker).` };
      } catch (error) {
        const stopped = error.code === 'ABORTED';
        const settings = sweep.rows.size;
        sweep.outcome = stopped
          ? { state: 'stopped', text: `Stopped: ${settings} of ${plan.topPs.length * plan.temperatures.length} settings measured.` }
          : { state: 'error', text: `Error: ${error.message}` };
      } finally {
        sweep.running = false;
        job = null;
        ui.stop.disabled = true;
        setStatus(sweep.outcome.state, sweep.outcome.text);
        drawGrid(sweep);
      }
    }).then(() => {
      if (!started) setStatus('idle', modelName() ? 'The sweep was replaced by another job before it started.' : 'No model is loaded.');
    });
  }

  ui.run.addEventListener('click', start);
  ui.stop.addEventListener('click', () => job?.stop());
  for (const input of [ui.topPs, ui.temperatures, ui.seeds, ui.maxTokens, ui.prompts]) input.addEventListener('input', preview);
  for (const radio of document.querySelectorAll('input[name=sweep-metric]')) radio.addEventListener('change', () => render());

  function render() {
    if (shown) drawGrid(shown);
    preview();
  }

  setProgress(0, 1);
  return { render };
}
