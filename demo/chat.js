// The Chat tab: a conversation through the model's chat template. As in Generate, the worker
// only computes logits and the page samples every token with the settings on screen, so p and
// T moved while an answer is written apply to its next tokens. Each answer keeps its steps'
// logits: clicking one of its tokens opens that step's nucleus view. Conversations branch:
// regenerating an answer or editing a user message makes a new branch and keeps the old one.
import { createSampler } from '/web/sampler.js';
import { TextStream } from '/web/stream.js';
import '/web/nucleus-view.js';

const $ = (id) => document.getElementById(id);
const f = (x, digits = 3) => x.toFixed(digits);
const UINT64_MAX = (1n << 64n) - 1n;
const TOP_N = 64;

/** Settings that change what the answer sounds like: each says what it does. */
export const PRESETS = [
  { id: 'precise', name: 'Precise', topP: 0.5, temperature: 0.7, says: 'p 0.5, T 0.7: only the few likeliest tokens, sharpened. Focused and repeatable, can loop.' },
  { id: 'balanced', name: 'Balanced', topP: 0.9, temperature: 1, says: 'p 0.9, T 1: the model as trained, minus the unlikely tail (10% of the mass).' },
  { id: 'creative', name: 'Creative', topP: 0.95, temperature: 1.2, says: 'p 0.95, T 1.2: a flatter distribution and a wider nucleus. More surprising words, sometimes off topic.' },
  { id: 'wild', name: 'Wild', topP: 1, temperature: 1.6, says: 'p 1, T 1.6: no cut at all and very flat. Shows why the tail is cut: it soon stops making sense.' },
];

/**
 * ctx: { runJob(work), worker (WorkerModel), settings() (p, T, top-k, min-p on screen), model()
 * ({ info, labels, pieces } of the loaded model), setSampling({ topP, temperature }) (moves the
 * sliders), showMode(mode) }.
 */
export function createChat(ctx) {
  const ui = {
    tab: $('tab-chat'), system: $('chat-system'), input: $('chat-input'), send: $('chat-send'), stop: $('chat-stop'),
    log: $('chat-log'), status: $('chat-status'), seed: $('chat-seed'), maxTokens: $('chat-max-tokens'),
    branches: $('chat-branches'), presets: $('chat-presets'), presetNote: $('chat-preset-note'),
    view: $('chat-nucleus-view'), stepTitle: $('chat-step-index'), stepNote: $('chat-step-note'),
  };
  const state = {
    branches: [], // { name, system, turns: [{ role: 'user', content } | { role: 'assistant', content, steps, seed, finish }] }
    active: -1,
    selected: null, // { turn, step } shown in the nucleus view
    job: null,
    nextSeed: 0,
  };
  let sampler = null;
  const ready = createSampler({ topN: TOP_N }).then((s) => (sampler = s));
  const label = (id) => ctx.model().labels[id] ?? `#${id}`;
  const branch = () => state.branches[state.active] ?? null;
  const hasTemplate = () => Boolean(ctx.model().info?.chatTemplate);

  function seedValue() {
    const raw = ui.seed.value.trim();
    const ok = /^\d+$/.test(raw) && BigInt(raw) <= UINT64_MAX;
    ui.seed.setAttribute('aria-invalid', String(!ok));
    return ok ? BigInt(raw) : 0n;
  }

  function maxTokens() {
    const value = Number(ui.maxTokens.value);
    const ok = Number.isInteger(value) && value >= 1 && value <= 4096;
    ui.maxTokens.setAttribute('aria-invalid', String(!ok));
    return ok ? value : 128;
  }

  /** The messages the template sees for the turns before `upTo`. */
  function messages(b, upTo) {
    const list = b.system.trim() ? [{ role: 'system', content: b.system }] : [];
    for (const turn of b.turns.slice(0, upTo)) list.push({ role: turn.role, content: turn.content });
    return list;
  }

  // ---- generation ---------------------------------------------------------------------------

  /**
   * Writes the assistant turn at index `at` of b (replacing it), token by token: after `prefix`
   * (steps kept from another answer, the last one perhaps forced), with the RNG at `rng`.
   */
  async function answer(b, at, { seed, rng = seed, prefix = [] }, job) {
    await ready;
    const { info, pieces } = ctx.model();
    const prompt = [...(await ctx.worker.tokenizeChat(messages(b, at)))]; // first: a template error changes nothing
    const turn = { role: 'assistant', content: '', steps: [], seed, finish: null };
    b.turns.splice(at, b.turns.length - at, turn);
    state.selected = null;
    render();
    // End-of-generation tokens end the answer; their texts, spelled out by ordinary tokens,
    // are stop strings (held back while they might be starting, never shown).
    const eog = new Set(info.eogIds);
    const stream = new TextStream(info.eogIds.map((id) => label(id)).filter((t) => t.length > 1));
    const tokens = [...prompt];
    for (const step of prefix) {
      const text = eog.has(step.token) ? '' : stream.push(pieces[step.token]);
      turn.steps.push({ ...step, text });
      turn.content += text;
      tokens.push(step.token);
    }
    const limit = Math.max(maxTokens(), prefix.length);
    sampler.reseed(rng);
    try {
      if (prefix.length && eog.has(prefix.at(-1).token)) return (turn.finish = 'eos');
      while (turn.steps.length < limit) {
        if (tokens.length >= info.contextLength) return (turn.finish = 'context');
        const started = performance.now();
        const logits = await ctx.worker.logits(tokens);
        if (job.stopped) return (turn.finish = 'stop');
        const used = ctx.settings(); // read per token: the sliders steer the answer being written
        sampler.configure({ ...used, topN: TOP_N });
        const rngBefore = sampler.rngState;
        const report = sampler.sample(logits);
        const ended = eog.has(report.token);
        const text = ended ? '' : stream.push(pieces[report.token]);
        turn.steps.push({ ...report, text, logits, used, rngBefore, forced: false, ms: performance.now() - started });
        tokens.push(report.token);
        turn.content += text;
        if (ended) return (turn.finish = 'eos');
        if (stream.stopped) return (turn.finish = 'stop-string');
        scheduleRender();
      }
      turn.finish = 'length';
    } finally {
      const tail = stream.end();
      if (tail && turn.steps.length) {
        turn.steps.at(-1).text += tail;
        turn.content += tail;
      }
    }
  }

  /** Runs work(job) as the page's one model job, with this tab's buttons and status. */
  function run(work) {
    return ctx.runJob(async (job) => {
      state.job = job;
      ui.stop.disabled = false;
      ui.send.disabled = true;
      setStatus('writing…');
      try {
        await work(job);
        setStatus('');
      } catch (error) {
        setStatus(`Error: ${error.message}`);
      } finally {
        state.job = null;
        ui.stop.disabled = true;
        ui.send.disabled = false;
        render();
      }
    });
  }

  function send() {
    const content = ui.input.value;
    if (!content.trim() || !hasTemplate()) return;
    ui.input.value = '';
    return run(async (job) => {
      let b = branch();
      if (!b) {
        b = { name: 'main', system: ui.system.value, turns: [] };
        state.branches.push(b);
        state.active = state.branches.length - 1;
      } else if (b.system !== ui.system.value) {
        // A new system prompt starts a new conversation; the old one stays as a branch.
        b = { name: `system ${state.branches.length + 1}`, system: ui.system.value, turns: [] };
        state.branches.push(b);
        state.active = state.branches.length - 1;
      }
      b.turns.push({ role: 'user', content });
      try {
        await answer(b, b.turns.length, { seed: seedValue() }, job);
      } catch (error) {
        if (b.turns.at(-1)?.role === 'user') {
          b.turns.pop(); // the template refused it: the message goes back to the box
          ui.input.value = content;
        }
        throw error;
      }
    });
  }

  /** A new branch with b's turns before `at`, made active. */
  function fork(b, at, name) {
    const copy = { name, system: b.system, turns: b.turns.slice(0, at) };
    state.branches.push(copy);
    state.active = state.branches.length - 1;
    return copy;
  }

  /** Writes assistant turn `at` again, with its own seed (same) or a new one, as a new branch. */
  function regenerate(at, sameSeed) {
    const b = branch();
    const old = b?.turns[at];
    if (!old || old.role !== 'assistant') return;
    const seed = sameSeed ? old.seed : (seedValue() + BigInt(++state.nextSeed) * 7919n) & UINT64_MAX;
    return run(async (job) => {
      const copy = fork(b, at, `answer ${at / 2 + 1}, seed ${seed}`);
      await answer(copy, at, { seed }, job);
    });
  }

  /** Replaces user turn `at` with content and answers it, as a new branch. */
  function editUser(at, content) {
    const b = branch();
    if (!b?.turns[at] || !content.trim()) return;
    return run(async (job) => {
      const copy = fork(b, at, `edit of message ${at + 1}`);
      copy.turns.push({ role: 'user', content });
      await answer(copy, at + 1, { seed: seedValue() }, job);
    });
  }

  /** Forces token at step `index` of assistant turn `at` and continues from it, as a new branch. */
  function force(at, index, token) {
    const b = branch();
    const old = b?.turns[at];
    const source = old?.steps?.[index];
    if (!source) return;
    return run(async (job) => {
      const used = ctx.settings();
      sampler.configure({ ...used, topN: TOP_N });
      const report = sampler.inspect(source.logits);
      const rank = report.ids.indexOf(token);
      const forced = {
        ...report, token, rank, prob: rank >= 0 ? report.probs[rank] : 0, coin: null,
        logits: source.logits, used, rngBefore: source.rngBefore, forced: true, ms: 0,
      };
      const copy = fork(b, at, `answer ${at / 2 + 1}: step ${index + 1} → ${JSON.stringify(label(token))}`);
      await answer(copy, at, { seed: old.seed, rng: source.rngBefore, prefix: [...old.steps.slice(0, index), forced] }, job);
      state.selected = { turn: at, step: index };
    });
  }

  // ---- rendering ----------------------------------------------------------------------------

  function setStatus(text) {
    ui.status.textContent = text;
  }

  let frame = 0;
  function scheduleRender() {
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  function button(text, testid, onClick, title) {
    const el = document.createElement('button');
    el.type = 'button';
    el.textContent = text;
    el.dataset.testid = testid;
    if (title) el.title = title;
    el.addEventListener('click', onClick);
    return el;
  }

  function userMessage(turn, at) {
    const div = document.createElement('div');
    const text = document.createElement('div');
    text.className = 'msg-text';
    text.textContent = turn.content;
    const edit = button('Edit', 'chat-edit', () => {
      const area = document.createElement('textarea');
      area.value = turn.content;
      area.rows = 2;
      area.dataset.testid = 'chat-edit-input';
      area.setAttribute('aria-label', `Edit message ${at + 1}`);
      const save = button('Send as a new branch', 'chat-edit-save', () => editUser(at, area.value));
      const cancel = button('Cancel', 'chat-edit-cancel', () => render());
      const tools = document.createElement('div');
      tools.className = 'msg-tools';
      tools.append(save, cancel);
      div.replaceChildren(area, tools);
      area.focus();
    }, 'Edit this message and answer it again, as a new branch');
    edit.disabled = Boolean(state.job);
    const tools = document.createElement('div');
    tools.className = 'msg-tools';
    tools.append(edit);
    div.append(text, tools);
    return div;
  }

  function assistantMessage(turn, at) {
    const div = document.createElement('div');
    const text = document.createElement('div');
    text.className = 'msg-text';
    turn.steps.forEach((step, i) => {
      const span = document.createElement('span');
      span.className = `tok p${Math.min(9, Math.floor((step.prob ?? 0) * 10))}`;
      if (step.forced) span.classList.add('forced');
      if (state.selected?.turn === at && state.selected.step === i) span.classList.add('selected');
      span.dataset.tokenId = String(step.token);
      span.dataset.step = String(i);
      span.tabIndex = -1;
      span.textContent = step.text;
      span.title = `step ${i + 1}: ${JSON.stringify(label(step.token))}, p ${f(step.prob ?? 0)}${step.forced ? ', forced' : ''} (p ${f(step.used.topP, 2)}, T ${f(step.used.temperature, 2)})`;
      text.append(span);
    });
    const reasons = { eos: 'end of turn', length: 'reached max tokens', context: 'context full', stop: 'stopped', 'stop-string': 'end of turn (as text)' };
    const meta = document.createElement('span');
    meta.className = 'muted msg-meta';
    meta.textContent = `seed ${turn.seed} · ${turn.steps.length} tokens${turn.finish ? ` · ${reasons[turn.finish]}` : ''}`;
    const tools = document.createElement('div');
    tools.className = 'msg-tools';
    const busy = Boolean(state.job);
    const same = button('Regenerate (same seed)', 'chat-regenerate-same', () => regenerate(at, true), 'Write this answer again with its seed and the settings on screen');
    const fresh = button('Regenerate (new seed)', 'chat-regenerate-new', () => regenerate(at, false), 'Write this answer again with another seed');
    same.disabled = fresh.disabled = busy;
    tools.append(same, fresh, meta);
    div.append(text, tools);
    return div;
  }

  function renderLog() {
    const b = branch();
    const children = (b?.turns ?? []).map((turn, at) => {
      const div = turn.role === 'user' ? userMessage(turn, at) : assistantMessage(turn, at);
      div.classList.add('msg', turn.role);
      div.dataset.role = turn.role;
      div.dataset.index = String(at);
      return div;
    });
    ui.log.replaceChildren(...children);
    ui.log.dataset.state = state.job ? 'running' : 'done';
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function renderBranches() {
    ui.branches.replaceChildren(...state.branches.map((b, i) => {
      const el = button(`${b.name} · ${b.turns.length}`, 'chat-branch', () => {
        if (state.job) return;
        state.active = i;
        state.selected = null;
        ui.system.value = b.system;
        render();
      });
      if (i === state.active) el.setAttribute('aria-current', 'true');
      const li = document.createElement('li');
      li.append(el);
      return li;
    }));
  }

  /** The selected step's nucleus with the settings on screen, from its stored logits. */
  function renderStep() {
    const turn = branch()?.turns[state.selected?.turn];
    const step = turn?.steps?.[state.selected.step];
    if (!step || !sampler) {
      ui.view.hidden = true;
      ui.stepTitle.textContent = '–';
      ui.stepNote.textContent = 'Click a token of an answer to see the nucleus it was drawn from.';
      return;
    }
    const s = ctx.settings();
    sampler.configure({ ...s, topN: TOP_N });
    const report = sampler.inspect(step.logits);
    ui.view.hidden = false;
    ui.view.tokens = label;
    ui.view.topP = s.topP;
    ui.view.chosen = step.token;
    ui.view.report = { ...report, token: step.token, coin: step.coin };
    ui.stepTitle.textContent = `${state.selected.step + 1} of ${turn.steps.length}`;
    const u = step.used;
    ui.stepNote.textContent = (step.forced ? `${JSON.stringify(label(step.token))} forced here`
      : `${JSON.stringify(label(step.token))} drawn with p ${f(u.topP, 2)}, T ${f(u.temperature, 2)}` +
        `${step.coin === null ? ' (greedy)' : `, coin ${f(step.coin)}`}`) +
      '; shown with the settings on screen. Click a bar to force that token here and continue as a new branch.';
  }

  function render() {
    renderLog();
    renderBranches();
    renderStep();
  }

  // ---- wiring -------------------------------------------------------------------------------

  for (const preset of PRESETS) {
    const el = button(preset.name, `chat-preset-${preset.id}`, () => {
      ctx.setSampling(preset);
      for (const other of ui.presets.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === el));
      ui.presetNote.textContent = `${preset.name}: ${preset.says}`;
    }, preset.says);
    el.setAttribute('aria-pressed', 'false');
    ui.presets.append(el);
  }
  ui.send.addEventListener('click', send);
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  });
  ui.stop.addEventListener('click', () => state.job?.stop());
  ui.log.addEventListener('click', (event) => {
    const span = event.target.closest?.('[data-token-id]');
    const msg = span?.closest('.msg');
    if (!span || !msg) return;
    state.selected = { turn: Number(msg.dataset.index), step: Number(span.dataset.step) };
    render();
  });
  // Arrow keys move the open step within its answer; Escape closes it.
  ui.log.addEventListener('keydown', (event) => {
    const at = state.selected;
    const steps = branch()?.turns[at?.turn]?.steps;
    if (!steps) return;
    const moves = { ArrowLeft: at.step - 1, ArrowRight: at.step + 1, Home: 0, End: steps.length - 1 };
    if (event.key in moves) state.selected = { turn: at.turn, step: Math.max(0, Math.min(steps.length - 1, moves[event.key])) };
    else if (event.key === 'Escape') state.selected = null;
    else return;
    event.preventDefault();
    render();
  });
  ui.view.addEventListener('nucleus-pick', ({ detail: { id } }) => {
    const at = state.selected;
    if (at && !state.job) force(at.turn, at.step, id);
  });

  return {
    /** A model was loaded: the tab shows when it has a chat template; the conversation restarts. */
    setModel(info) {
      state.branches = [];
      state.active = -1;
      state.selected = null;
      ui.tab.hidden = !info?.chatTemplate;
      if (ui.tab.hidden && document.body.dataset.mode === 'chat') ctx.showMode('explore');
      render();
    },
    /** The sliders moved: redraw the open step with them. */
    onSettings() {
      for (const el of ui.presets.querySelectorAll('button')) el.setAttribute('aria-pressed', 'false');
      renderStep();
    },
    render,
  };
}
