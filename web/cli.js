#!/usr/bin/env node
// The nucleus command line: a thin layer over the ES-module API.
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NucleusError, loadModel, loadTokenizer } from './index.js';

const USAGE = `usage: nucleus <command> [options]

commands:
  generate --model F --prompt T [--temperature X] [--top-p X] [--top-k N] [--min-p X]
           [--seed N] [--max-tokens N] [--json] [--tokenizer tokenizer.bin]
      streams generated text to stdout; with --json one JSON object per token:
      {"index","token","text","prob","nucleusSize","nucleusMass","entropy"}
  info --model F [--tokenizer tokenizer.bin]
      prints the model's info as JSON
  tokenize --model F --text T [--tokenizer tokenizer.bin]
      prints the token ids of T as a JSON array (no BOS); works with vocab-only GGUF files

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

async function generate(values) {
  const model = await loadModel(need(values, 'model'), { tokenizer: values.tokenizer });
  const options = {
    temperature: number(values, 'temperature', 1),
    topP: number(values, 'top-p', 0.9),
    topK: number(values, 'top-k', 0, true),
    minP: number(values, 'min-p', 0),
    seed: seed(values),
    maxTokens: number(values, 'max-tokens', 256, true),
    topN: 0,
  };
  const prompt = need(values, 'prompt');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
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
  model.dispose();
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
  out(JSON.stringify([...tokenizer.encode(text, { bos: false })]) + '\n');
  tokenizer.dispose();
}

const COMMANDS = { generate, info, tokenize };

async function main(argv) {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE + '\n');
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"`);
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: OPTIONS, strict: true }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (values.help) {
    out(USAGE + '\n');
    return 0;
  }
  await run(values);
  return 0;
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
