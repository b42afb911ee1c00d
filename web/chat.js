// Chat templates: a model's tokenizer.chat_template (Jinja) rendered as Hugging Face's
// apply_chat_template does (Jinja2 with trim_blocks and lstrip_blocks), by @huggingface/jinja,
// under limits that stop a runaway template; and a conversation turned into token ids in which
// no text from a message can become a control token.
//
// The Jinja library is vendored by the build as web/dist/jinja.js (a copy of its ESM file), so
// pages and workers load it by relative URL without a bundler or an import map.
import { Environment, Interpreter, parse, tokenize } from './dist/jinja.js';
import { NucleusError, invalid } from './errors.js';

/**
 * Limits on a template: its source, any string or list it builds, the characters its blocks
 * produce in all (a loop's output is counted as it grows, not only when the loop ends), and
 * the wall-clock time of one render.
 */
export const LIMITS = Object.freeze({
  templateChars: 1 << 20,
  outputChars: 1 << 22,
  workChars: 1 << 26,
  items: 1 << 20,
  ms: 2000,
});

// HF passes these itself (apply_chat_template's own arguments and the options here).
const RESERVED = new Set(['messages', 'add_generation_prompt', 'raise_exception']);

class RaisedError extends Error {}
class LimitError extends Error {}

function templateError(message) {
  return new NucleusError(message, 'TEMPLATE');
}

// Filters whose integer arguments are widths the library builds with String.repeat in one go.
const WIDTH_FILTERS = new Set(['indent', 'tojson']);

/**
 * The interpreter with a budget. @huggingface/jinja has no hook for one, so this overrides
 * the methods every step goes through: evaluate (each expression and statement) and
 * renderBlock (each block body, so also every loop iteration, even an empty one); and, as one
 * call of indent(width) or tojson(indent=width) builds its padding before any check could see
 * it, applyFilter with evaluateArguments, to refuse such widths first. All are methods of the
 * pinned library version; the tests of the limits fail if a new version stops calling them.
 */
class GuardedInterpreter extends Interpreter {
  #deadline;
  #work = 0;
  #steps = 0;
  #filter = null; // the filter whose arguments are being evaluated

  constructor(env, deadline) {
    super(env);
    this.#deadline = deadline;
  }

  #tick() {
    // performance.now() costs more than a step: look at the clock every 256 steps.
    if ((++this.#steps & 255) === 0 && performance.now() > this.#deadline) {
      throw new LimitError(`the chat template ran longer than ${LIMITS.ms} ms`);
    }
  }

  evaluate(statement, environment) {
    this.#tick();
    const result = super.evaluate(statement, environment);
    const value = result.value;
    if (typeof value === 'string' && value.length > LIMITS.outputChars) {
      throw new LimitError(`the chat template built a string of more than ${LIMITS.outputChars} characters`);
    }
    if (Array.isArray(value) && value.length > LIMITS.items) {
      throw new LimitError(`the chat template built a list of more than ${LIMITS.items} items`);
    }
    return result;
  }

  applyFilter(operand, filterNode, environment) {
    const outer = this.#filter;
    this.#filter = filterNode.type === 'CallExpression' ? filterNode.callee.value : null;
    try {
      return super.applyFilter(operand, filterNode, environment);
    } finally {
      this.#filter = outer;
    }
  }

  evaluateArguments(args, environment) {
    const filter = this.#filter;
    this.#filter = null; // calls inside the arguments are not the filter's
    const result = super.evaluateArguments(args, environment);
    this.#filter = filter;
    if (WIDTH_FILTERS.has(filter)) {
      const [positional, keywords] = result;
      for (const value of [...positional, ...keywords.values()]) {
        if (typeof value.value === 'number' && value.value > LIMITS.outputChars) {
          throw new LimitError(`the chat template asked ${filter} for a width of ${value.value}, over the limit of ${LIMITS.outputChars}`);
        }
      }
    }
    return result;
  }

  renderBlock(statements, environment) {
    this.#tick();
    const text = super.renderBlock(statements, environment);
    this.#work += text.length;
    if (this.#work > LIMITS.workChars) {
      throw new LimitError(`the chat template produced more than ${LIMITS.workChars} characters`);
    }
    return text;
  }
}

/** Python's range, refusing lists longer than LIMITS.items before building them. */
function boundedRange(...args) {
  if (args.length < 1 || args.length > 3 || !args.every(Number.isInteger)) {
    throw new Error('range() takes 1 to 3 integer arguments');
  }
  const [start, stop, step] = args.length === 1 ? [0, args[0], 1] : [args[0], args[1], args[2] ?? 1];
  if (step === 0) throw new Error('range() step must not be zero');
  const count = Math.max(0, Math.ceil((stop - start) / step));
  if (count > LIMITS.items) throw new LimitError(`range() of ${count} items is over the limit of ${LIMITS.items}`);
  return Array.from({ length: count }, (_, i) => start + i * step);
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];

/**
 * Python's datetime.now().strftime in the C locale (English names whatever the browser's
 * language), for the directives chat templates use; others stay as written.
 */
export function strftime(date, format) {
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  const start = new Date(date.getFullYear(), 0, 1);
  const dayOfYear = Math.round((new Date(date.getFullYear(), date.getMonth(), date.getDate()) - start) / 864e5) + 1;
  const fields = {
    a: () => DAYS[date.getDay()].slice(0, 3),
    A: () => DAYS[date.getDay()],
    b: () => MONTHS[date.getMonth()].slice(0, 3),
    B: () => MONTHS[date.getMonth()],
    d: () => pad(date.getDate()),
    H: () => pad(date.getHours()),
    I: () => pad(date.getHours() % 12 || 12),
    j: () => pad(dayOfYear, 3),
    m: () => pad(date.getMonth() + 1),
    M: () => pad(date.getMinutes()),
    p: () => (date.getHours() < 12 ? 'AM' : 'PM'),
    S: () => pad(date.getSeconds()),
    y: () => pad(date.getFullYear() % 100),
    Y: () => String(date.getFullYear()),
    '%': () => '%',
  };
  return format.replace(/%(.)/g, (whole, c) => (Object.hasOwn(fields, c) ? fields[c]() : whole));
}

/** A parsed template (or the error parsing it gave), reused for every render. */
export function compileTemplate(source) {
  if (typeof source !== 'string') throw invalid('a chat template must be a string');
  if (source.length > LIMITS.templateChars) {
    return { error: templateError(`the chat template has ${source.length} characters, over the limit of ${LIMITS.templateChars}`) };
  }
  try {
    return { program: parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true })) };
  } catch (error) {
    return { error: templateError(`the chat template does not parse: ${error.message}`) };
  }
}

function checkMessages(messages) {
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages must be a non-empty array');
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw invalid(`message ${i} must be an object`);
    if (typeof m.role !== 'string' || m.role === '') throw invalid(`message ${i} needs a role (a string)`);
    if (typeof m.content !== 'string') throw invalid(`message ${i} needs a content string`);
  });
}

function checkVariables(variables) {
  if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
    throw invalid('variables must be an object');
  }
  for (const name of Object.keys(variables)) {
    if (RESERVED.has(name)) throw invalid(`variables cannot set "${name}"`);
  }
}

/**
 * Renders a compiled template: { messages, addGenerationPrompt, variables, bosToken, eosToken }.
 * The context is Hugging Face's: messages, tools and documents (none), add_generation_prompt,
 * the special token texts, raise_exception, strftime_now, then the caller's variables.
 */
export function renderTemplate(compiled, { messages, addGenerationPrompt = true, variables = {}, bosToken, eosToken }) {
  checkMessages(messages);
  checkVariables(variables);
  if (compiled.error) throw compiled.error;
  const env = new Environment();
  const globals = {
    true: true, false: false, none: null, True: true, False: false, None: null,
    range: boundedRange,
    raise_exception: (message) => { throw new RaisedError(String(message)); },
    strftime_now: (format) => strftime(new Date(), String(format)),
    messages,
    tools: null,
    documents: null,
    add_generation_prompt: Boolean(addGenerationPrompt),
    ...(bosToken !== undefined && { bos_token: bosToken }),
    ...(eosToken !== undefined && { eos_token: eosToken }),
    ...variables,
  };
  try {
    for (const [name, value] of Object.entries(globals)) env.set(name, value);
    const output = new GuardedInterpreter(env, performance.now() + LIMITS.ms).run(compiled.program).value;
    if (output.length > LIMITS.outputChars) {
      throw new LimitError(`the chat template produced more than ${LIMITS.outputChars} characters`);
    }
    return output;
  } catch (error) {
    if (error instanceof RaisedError || error instanceof LimitError) throw templateError(error.message);
    if (error instanceof RangeError && /call stack/.test(error.message)) {
      throw templateError('the chat template recursed too deeply');
    }
    throw templateError(`the chat template failed: ${error.message}`);
  }
}

// --- Conversations as token ids ------------------------------------------------------------
//
// Hugging Face and llama.cpp tokenize the rendered prompt with special tokens on, so a user who
// types "<|im_end|><|im_start|>system" gets real control tokens. Here only the template's own
// text can give control tokens:
//  1. Every string in the messages is searched for text the tokenizer would turn into a control
//     token (found by tokenizing the string with special tokens on), and each such text is
//     replaced by a private-use character absent from the template and the conversation.
//     The template sees the same messages otherwise, so logic that trims, splits on
//     "</think>" or tests a prefix works as it does on the real text: substituting a whole
//     content by a sentinel would not survive such transformations.
//  2. The rendering is cut at the control tokens it now holds, all the template's, as the
//     tokenizer cuts text (longest first, left to right, whitespace stripped beside a token
//     that strips it); each piece in between gets its replaced texts back and is tokenized
//     with special tokens off. Cutting the rendering as it stands (replacement characters in
//     place) must give the tokenizer's own ids for it, which is checked on every call.
// Without control-token text in the messages this gives exactly the tokens of the rendered
// string with special tokens on (what llama.cpp does). A template whose output depends on
// control-token text inside a message (none of the usual ones) sees the replacement there.

const PRIVATE_USE = [0xe000, 0xf8ff];
const ONLY = { bos: false, eos: false };
const controlCaches = new WeakMap(); // vocabulary -> Map(id -> control token or null)

/**
 * The control tokens among ids: [{ id, text, lstrip, rstrip }], longest text first. lstrip /
 * rstrip: the tokenizer drops whitespace before / after the token (llama.cpp's token
 * attributes), seen by tokenizing it beside a space.
 */
function controlTokens(vocab, ids) {
  if (!controlCaches.has(vocab)) controlCaches.set(vocab, new Map());
  const cache = controlCaches.get(vocab);
  const found = new Map();
  for (const id of ids) {
    if (!cache.has(id) && vocab.pieceBytes(id).length > 0) {
      cache.set(id, null); // control tokens decode to nothing: any other is plain text
    } else if (!cache.has(id)) {
      // A control token: its text alone gives exactly it with special tokens on, not with them off.
      const name = vocab.tokenText(id);
      const alone = (t, special) => {
        const ids = vocab.encode(t, { ...ONLY, special });
        return ids.length === 1 && ids[0] === id;
      };
      const control = name !== '' && alone(name, true) && !alone(name, false);
      cache.set(id, control ? { id, text: name, lstrip: alone(` ${name}`, true), rstrip: alone(`${name} `, true) } : null);
    }
    if (cache.get(id)) found.set(id, cache.get(id));
  }
  return [...found.values()].sort((a, b) => b.text.length - a.text.length);
}

/** Replaces every control-token text in the strings of value (deeply) by its private-use character. */
function defuse(value, vocab, state) {
  if (typeof value === 'string') {
    let text = value;
    const controlTokensIn = () => controlTokens(vocab, vocab.encode(text, { ...ONLY, special: true }));
    for (let found = controlTokensIn(); found.length > 0; found = controlTokensIn()) {
      for (const token of found) text = text.split(token.text).join(placeholder(token.text, state));
    }
    return text;
  }
  if (Array.isArray(value)) return value.map((item) => defuse(item, vocab, state));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, defuse(item, vocab, state)]));
  }
  return value;
}

function placeholder(text, state) {
  let char = state.byText.get(text);
  while (char === undefined) {
    if (state.next > PRIVATE_USE[1]) throw invalid('the conversation uses every private-use character');
    const candidate = String.fromCharCode(state.next++);
    if (!state.avoid.includes(candidate)) {
      char = candidate;
      state.byText.set(text, char);
      state.byChar.set(char, text);
    }
  }
  return char;
}

const SPACE = /[ \t\n\v\f\r]/; // C's isspace, as llama.cpp strips

/** Cuts text at the control tokens as llama.cpp's tokenizer_st_partition does: [{ text } | { token }]. */
function cutAtControlTokens(text, tokens) {
  let parts = [{ text }];
  for (const token of tokens) {
    parts = parts.flatMap((part) => {
      if (part.token || !part.text.includes(token.text)) return [part];
      const pieces = part.text.split(token.text);
      const out = [];
      pieces.forEach((piece, i) => {
        let from = 0;
        let to = piece.length;
        if (i > 0 && token.rstrip) while (from < to && SPACE.test(piece[from])) from++;
        if (i < pieces.length - 1 && token.lstrip) while (to > from && SPACE.test(piece[to - 1])) to--;
        if (i > 0) out.push({ token });
        if (to > from) out.push({ text: piece.slice(from, to) });
      });
      return out;
    });
  }
  return parts;
}

/**
 * The token ids of a conversation rendered by a template (see the note above). render(messages)
 * renders; vocab has encode(text, { bos, eos, special }), pieceBytes(id) and tokenText(id);
 * context: whatever else the rendering may draw text from (template source, variables), in
 * which no placeholder character may occur;
 * bos: the ids a prompt starts with (the vocabulary's BOS, or none), added unless the
 * rendering already starts with them.
 */
export function conversationTokens(vocab, render, messages, { context, bos }) {
  const state = { byText: new Map(), byChar: new Map(), next: PRIVATE_USE[0], avoid: allText([context, messages]) };
  const prompt = render(defuse(messages, vocab, state));
  const promptIds = vocab.encode(prompt, { ...ONLY, special: true });
  const parts = cutAtControlTokens(prompt, controlTokens(vocab, promptIds));
  const encode = (restore) => parts.flatMap((part) => (part.token ? [part.token.id] : [...vocab.encode(restore(part.text), ONLY)]));
  const asCut = encode((text) => text);
  if (!sameIds(asCut, promptIds)) {
    throw new NucleusError('this vocabulary cuts the prompt at control tokens in a way the chat tokenizer does not follow', 'UNSUPPORTED');
  }
  const ids = state.byChar.size === 0 ? asCut : encode((text) => text.replace(/[\ue000-\uf8ff]/g, (c) => state.byChar.get(c) ?? c));
  return bos.length > 0 && sameIds(ids.slice(0, bos.length), bos) ? ids : [...bos, ...ids];
}

/** Every string in value, keys included, joined (where a placeholder must not occur). */
function allText(value) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(allText).join('');
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([key, item]) => key + allText(item)).join('');
  return '';
}

function sameIds(a, b) {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
