#!/usr/bin/env node
// Example: an HTTP server that streams a story as JSON lines, one per token, each with the
// sampler's report for that token (what was kept, how likely the drawn token was, the coin).
//
//   node web/examples/story-server.js --model stories260K.gguf [--port 8081]
//   curl 'http://127.0.0.1:8081/story?prompt=Once%20upon%20a%20time&seed=1&topP=0.9&temperature=0.8&maxTokens=40'
//
// In a project that installed the package, import from 'nucleus-sampler' instead of '../index.js'.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadModel, NucleusError } from '../index.js';

const NUMBERS = { seed: [0, Number.MAX_SAFE_INTEGER], topP: [0, 1], temperature: [0, 100], maxTokens: [1, 1024], topK: [0, 1e9], minP: [0, 1] };
const TOP = 5; // candidates listed per token

/** The sampling options of a /story query; throws a NucleusError naming a bad one. */
function storyOptions(query) {
  const options = { seed: 0, topP: 0.9, temperature: 1, maxTokens: 64 };
  for (const [name, [min, max]] of Object.entries(NUMBERS)) {
    if (!query.has(name)) continue;
    const value = Number(query.get(name));
    if (query.get(name).trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new NucleusError(`${name} must be a number from ${min} to ${max}, got "${query.get(name)}"`, 'INVALID_ARGUMENT');
    }
    options[name] = value;
  }
  return options;
}

/** One JSON line: the step's text and the report behind it, with the top candidates as text. */
function line(model, step) {
  const top = Array.from(step.ids.slice(0, TOP), (id, i) => ({ id, text: model.tokenText(id), p: step.probs[i] }));
  const { index, token, text, prob, rank, coin, nucleusSize, nucleusMass, entropy, finishReason } = step;
  return JSON.stringify({ index, token, text, prob, rank, coin, nucleusSize, nucleusMass, entropy, top, finishReason }) + '\n';
}

/** A server over a loaded model; one story at a time (the others wait their turn). */
export function createStoryServer(model) {
  let turn = Promise.resolve();
  return createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/story') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'GET /story?prompt=...' }) + '\n');
      return;
    }
    let options;
    try {
      options = storyOptions(url.searchParams);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message, code: error.code }) + '\n');
      return;
    }
    const prompt = url.searchParams.get('prompt') ?? 'Once upon a time';
    const stop = new AbortController();
    res.on('close', () => stop.abort()); // the client left: stop writing
    turn = turn.then(async () => {
      if (stop.signal.aborted) return;
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
      try {
        for await (const step of model.generate(prompt, { ...options, signal: stop.signal })) res.write(line(model, step));
      } catch (error) {
        res.write(JSON.stringify({ error: error.message, code: error.code }) + '\n');
      }
      res.end();
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: 'string' }, port: { type: 'string', default: '8081' } } });
  if (!values.model) {
    console.error('usage: story-server.js --model model.gguf [--port 8081]');
    process.exit(2);
  }
  const model = await loadModel(values.model);
  const server = createStoryServer(model).listen(Number(values.port), '127.0.0.1', () => {
    console.error(`streaming stories from ${model.info.name} on http://127.0.0.1:${server.address().port}/story?prompt=...`);
  });
}
