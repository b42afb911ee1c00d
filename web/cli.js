#!/usr/bin/env node
// The nucleus command line: a thin layer over the ES-module API.
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TYPES, convertModel, synthModel } from './convert.js';
import { NucleusError, loadModel, loadTokenizer } from './index.js';
import { readTrace, replayTrace, runSweep, sweepCsv, sweepTable, traceHeader } from './trace.js';

const USAGE = `usage: nucleus <command> [options]

commands:
  generate --model F --prompt T [--temperature X] [--top-p X] [--top-k N] [--min-p X]
           [--seed N] [--max-tokens N] [--json] [--trace run.jsonl] [--tokenizer tokenizer.bin]
      streams generated text to stdout; with --json one JSON object per token:
      {"index","token","text","prob","nucleusSize","nucleusMass","entropy"};
      --trace writes a header line and one line per token to a file
  replay run.jsonl [--model F]
      generates again with a trace's model and settings; exit 0 when every token matches,
      otherwise prints the first step that differs and exits 1
  sweep --model F --prompts FILE [--top-p 0.5,0.7,0.9,0.95,1] [--temperature 0.7,1,1.3]
        [--seeds 5] [--max-tokens 128] [--csv|--json]
      generates for every (p, T) over the prompts (one per line) and seeds 0..N-1 and prints
      nucleus size, entropy, cut mass, KL, distinct-1/2/3, repetition, mean prob, tok/s
  chat --model F [--system S] [--messages M.json] [--variables JSON] [--temperature X] [--top-p X]
       [--top-k N] [--min-p X] [--seed N] [--max-tokens N]
      talks with the model through its chat template: each line read is a user turn and the
      answer streams to stdout (a "> " prompt on a terminal); with --messages (a JSON array of
      {role, content}) answers that conversation once and exits
  template --model F --messages M.json [--variables JSON] [--no-generation-prompt]
      prints the chat template rendered over the messages; --variables is a JSON object
      merged into the template's context, e.g. '{"enable_thinking": false}'
  info --model F [--tokenizer tokenizer.bin]
      prints the model's info as JSON
  tokenize --model F --text T [--tokenizer tokenizer.bin] [--bos] [--special]
      prints the token ids of T as a JSON array; --bos puts BOS first, --special turns
      special-token texts (<|im_start|>, </s>, ...) into their ids; works with vocab-only GGUF files
  convert --input F [--tokenizer tokenizer.bin] --output G --type T
      converts a GGUF (llama, qwen2, qwen3, gemma3) or a llama2.c checkpoint with its
      tokenizer.bin to a GGUF file whose matrices are of type T: f32, f16, bf16, q8_0, q4_0,
      q4_1, q5_0, q5_1, q3_k, q4_k, q5_k, q6_k, iq4_nl or iq4_xs, or one of llama.cpp's
      mixtures q2_k, q3_k_m, q4_k_m, q5_k_m (its per-tensor rules), rounded as ggml's reference
      quantizers (rows that are not whole blocks: llama.cpp's fallback types); progress on stderr
  synth --shape S --vocab V.gguf --output G --type T [--seed N]
        [--arch llama|qwen2|qwen3|gemma3] [--layers N] [--window N] [--untied-output]
        [--llama3-rope] [--std X] [--chat-template FILE]
      writes a model with seeded random weights; S is a preset (stories15M, stories42M,
      stories110M, smollm2-135m, tinyllama-1.1b, llama3.2-1b, qwen2.5-0.5b, qwen3-0.6b,
      gemma3-270m) or DIM,HIDDEN,LAYERS,HEADS,KVHEADS,VOCAB,SEQ[,HEAD]; the tokenizer (tokens,
      merges, types, special ids) is copied from V.gguf, whose token count must equal VOCAB
      (0: take it from V.gguf); --layers replaces the layer count, --window sets gemma3's
      sliding window, --std the weights' standard deviation (0.02), --chat-template writes
      FILE as tokenizer.chat_template

options:
  -h, --help   this text`;

class UsageError extends Error {}

const OPTIONS = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  prompt: { type: 'string' },
  text: { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'min-p': { type: 'string' },
  seed: { type: 'string' },
  'max-tokens': { type: 'string' },
  json: { type: 'boolean' },
  bos: { type: 'boolean' },
  special: { type: 'boolean' },
  csv: { type: 'boolean' },
  trace: { type: 'string' },
  prompts: { type: 'string' },
  seeds: { type: 'string' },
  input: { type: 'string' },
  output: { type: 'string' },
  type: { type: 'string' },
  shape: { type: 'string' },
  vocab: { type: 'string' },
  system: { type: 'string' },
  messages: { type: 'string' },
  variables: { type: 'string' },
  'no-generation-prompt': { type: 'boolean' },
  arch: { type: 'string' },
  layers: { type: 'string' },
  window: { type: 'string' },
  'untied-output': { type: 'boolean' },
  'llama3-rope': { type: 'boolean' },
  'chat-template': { type: 'string' },
  std: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

function number(values, name, fallback, integer = false) {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return value;
}

function seed(values) {
  const raw = values.seed;
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--seed must be a non-negative integer, got "${raw}"`);
  return BigInt(raw);
}

function need(values, name) {
  if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  return values[name];
}

function out(text) {
  writeSync(1, text);
}

function samplerFlags(values) {
  return {
    temperature: number(values, 'temperature', 1),
    topP: number(values, 'top-p', 0.9),
    topK: number(values, 'top-k', 0, true),
    minP: number(values, 'min-p', 0),
    seed: seed(values),
    maxTokens: number(values, 'max-tokens', 256, true),
    topN: 0,
  };
}

async function generate(values) {
  const model = await loadModel(need(values, 'model'), { tokenizer: values.tokenizer });
  const options = samplerFlags(values);
  const prompt = need(values, 'prompt');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  let traceFd = null;
  if (values.trace) {
    const header = await traceHeader(model, values.model, { prompt, ...options });
    traceFd = openSync(values.trace, 'w');
    writeSync(traceFd, JSON.stringify(header) + '\n');
    options.trace = (record) => writeSync(traceFd, JSON.stringify(record) + '\n');
  }
  if (!values.json) out(prompt); // like llama2.c: the story starts with the prompt
  for await (const step of model.generate(prompt, { ...options, signal: controller.signal })) {
    if (values.json) {
      const { index, token, text, prob, nucleusSize, nucleusMass, entropy } = step;
      out(JSON.stringify({ index, token, text, prob, nucleusSize, nucleusMass, entropy }) + '\n');
    } else {
      out(step.text);
    }
  }
  if (!values.json) out('\n');
  if (traceFd !== null) closeSync(traceFd);
  model.dispose();
}

async function readJson(path, what) {
  const { readFile } = await import('node:fs/promises');
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new NucleusError(`cannot read ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, 'IO');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not JSON (${what}): ${error.message}`);
  }
}

function variables(values) {
  if (values.variables === undefined) return {};
  try {
    return JSON.parse(values.variables);
  } catch (error) {
    throw new UsageError(`--variables must be a JSON object: ${error.message}`);
  }
}

async function template(values) {
  const messages = await readJson(need(values, 'messages'), 'an array of messages');
  const model = await loadTokenizer(need(values, 'model'));
  out(model.applyChatTemplate(messages, { addGenerationPrompt: !values['no-generation-prompt'], variables: variables(values) }));
  model.dispose();
}

/** Streams one answer to stdout; returns its text. */
async function answer(model, messages, options, signal) {
  let text = '';
  for await (const step of model.chat(messages, { ...options, signal })) {
    out(step.text);
    text += step.text;
  }
  out('\n');
  return text;
}

async function chat(values) {
  const model = await loadModel(need(values, 'model'));
  if (!model.info.chatTemplate) throw new NucleusError(`${values.model} has no chat template (tokenizer.chat_template): use generate`, 'UNSUPPORTED');
  const options = { ...samplerFlags(values), variables: variables(values) };
  // Ctrl-C stops the answer being written; between answers it ends the chat.
  let answering = null;
  const interrupt = () => (answering ? answering.abort() : process.exit(130));
  process.on('SIGINT', interrupt);
  const reply = async (messages) => {
    answering = new AbortController();
    const text = await answer(model, messages, options, answering.signal);
    answering = null;
    return text;
  };
  if (values.messages !== undefined) {
    if (values.system !== undefined) throw new UsageError('--system and --messages do not go together');
    await reply(await readJson(values.messages, 'an array of messages'));
  } else {
    const { createInterface } = await import('node:readline/promises');
    const messages = values.system === undefined ? [] : [{ role: 'system', content: values.system }];
    const tty = Boolean(process.stdin.isTTY);
    const lines = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: tty ? '> ' : '' });
    lines.on('SIGINT', interrupt);
    lines.prompt();
    for await (const line of lines) {
      if (line.trim() !== '') {
        messages.push({ role: 'user', content: line });
        messages.push({ role: 'assistant', content: await reply(messages) });
      }
      lines.prompt();
    }
  }
  process.removeListener('SIGINT', interrupt);
  model.dispose();
}

function numberList(values, name, fallback) {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const list = raw.split(',').map((item) => Number(item));
  if (list.some((x, i) => !Number.isFinite(x) || raw.split(',')[i].trim() === '')) {
    throw new UsageError(`--${name} must be a comma-separated list of numbers, got "${raw}"`);
  }
  return list;
}

async function replay(values, positionals) {
  const file = positionals[0];
  if (!file) throw new UsageError('replay needs a trace file');
  let trace;
  try {
    trace = await readTrace(file);
  } catch (error) {
    throw new NucleusError(error.code === 'ENOENT' ? `cannot open ${file}: no such file` : error.message, 'IO');
  }
  const modelPath = values.model ?? trace.header.model.path;
  const sha256 = (await traceHeader({ info: {} }, modelPath, { prompt: '' })).model.sha256;
  if (sha256 !== trace.header.model.sha256) {
    throw new NucleusError(`${modelPath} is not the traced model (sha256 ${sha256.slice(0, 12)}..., trace has ${trace.header.model.sha256.slice(0, 12)}...)`, 'INVALID_ARGUMENT');
  }
  const model = await loadModel(modelPath);
  const result = await replayTrace(model, trace);
  model.dispose();
  if (result.ok) {
    out(`replay: all ${result.steps} tokens match\n`);
    return 0;
  }
  const expected = result.expected === null ? 'the end of the trace' : `token ${result.expected}`;
  const actual = result.actual === null ? 'generation ended' : `token ${result.actual}`;
  out(`replay: step ${result.index} differs: the trace has ${expected}, this run gave ${actual}\n`);
  return 1;
}

async function sweep(values) {
  const { readFile } = await import('node:fs/promises');
  const promptsFile = need(values, 'prompts');
  let prompts;
  try {
    prompts = (await readFile(promptsFile, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  } catch (error) {
    throw new NucleusError(`cannot read ${promptsFile}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, 'IO');
  }
  if (prompts.length === 0) throw new UsageError(`${promptsFile} holds no prompt`);
  const topPs = numberList(values, 'top-p', [0.5, 0.7, 0.9, 0.95, 1]);
  const temperatures = numberList(values, 'temperature', [0.7, 1, 1.3]);
  const seeds = number(values, 'seeds', 5, true);
  const maxTokens = number(values, 'max-tokens', 128, true);
  if (seeds < 1) throw new UsageError('--seeds must be at least 1');
  const model = await loadModel(need(values, 'model'));
  const rows = await runSweep(model, {
    prompts, topPs, temperatures, seeds, maxTokens,
    onProgress: ({ done, total }) => {
      if (process.stderr.isTTY) process.stderr.write(`\rsweep: ${done}/${total} runs`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  model.dispose();
  out(values.json ? JSON.stringify(rows, null, 2) + '\n' : values.csv ? sweepCsv(rows) : sweepTable(rows));
}

async function info(values) {
  const model = await loadModel(need(values, 'model'), { tokenizer: values.tokenizer });
  out(JSON.stringify(model.info, null, 2) + '\n');
  model.dispose();
}

async function tokenize(values) {
  const text = need(values, 'text');
  // A llama2.c tokenizer.bin needs its checkpoint for the vocabulary size; GGUF stands alone.
  const tokenizer = values.tokenizer
    ? await loadModel(need(values, 'model'), { tokenizer: values.tokenizer })
    : await loadTokenizer(need(values, 'model'));
  const options = { bos: values.bos === true, special: values.special === true, eos: false };
  out(JSON.stringify([...tokenizer.encode(text, options)]) + '\n');
  tokenizer.dispose();
}

function targetType(values) {
  const type = need(values, 'type');
  if (!Object.hasOwn(TYPES, type)) {
    throw new UsageError(`--type must be one of ${Object.keys(TYPES).join(', ')}, got "${type}"`);
  }
  return type;
}

function progress(line) {
  process.stderr.write(`nucleus: ${line}\n`);
}

async function convert(values) {
  const input = need(values, 'input');
  const output = need(values, 'output');
  const type = targetType(values);
  await convertModel({ input, tokenizer: values.tokenizer, output, type, log: progress });
}

async function synth(values) {
  const shape = need(values, 'shape');
  const vocab = need(values, 'vocab');
  const output = need(values, 'output');
  const type = targetType(values);
  const value = BigInt(seed(values));
  if (value >= 2n ** 64n) throw new UsageError(`--seed must be below 2^64, got "${values.seed}"`);
  const positive = (name) => {
    const n = number(values, name, undefined, true);
    if (n !== undefined && n < 1) throw new UsageError(`--${name} must be a positive integer, got "${values[name]}"`);
    return n;
  };
  await synthModel({
    shape, arch: values.arch, layers: positive('layers'), window: positive('window'),
    std: number(values, 'std', 0), untiedOutput: values['untied-output'] ?? false, llama3Rope: values['llama3-rope'] ?? false,
    vocab, chatTemplate: values['chat-template'], output, type, seed: value, log: progress,
  });
}

const COMMANDS = { generate, chat, template, info, tokenize, replay, sweep, convert, synth };

async function main(argv) {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE + '\n');
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"`);
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: command === 'replay' }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (values.help) {
    out(USAGE + '\n');
    return 0;
  }
  return (await run(values, positionals)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`nucleus: ${error.message} (see nucleus --help)\n`);
    } else if (error instanceof NucleusError) {
      process.stderr.write(`nucleus: ${error.message}\n`);
    } else {
      process.stderr.write(`nucleus: internal error: ${error.stack ?? error}\n`);
    }
    process.exit(1);
  },
);
