#!/usr/bin/env node
// Section 2 in the browser: the matvec rows of the SIMD128 and relaxed-SIMD bench modules,
// timed in headless Chromium (the engine the page ships relaxed SIMD to; Node 20 has it only
// behind a flag, and its older V8 compiles some kernels quite differently: the Q8_0 matvec ran
// 1.5x as long in Chromium 156 as in Node until its bytes were loaded with load8x8). Run by
// bench/kernels.js on the pinned core (the browser inherits the affinity); prints one JSON
// line: { chromium, rows: { [file]: rows } } (rows as matvecRows gives them).
import { withBenchChromium } from './browser.js';

const CHROMIUM_FILES = ['build/bench-simd.wasm', 'build/bench-relaxed.wasm'];

await withBenchChromium(async (context, url) => {
  const page = await context.newPage();
  await page.goto(url + 'bench/blank.html');
  const rows = await page.evaluate(async (files) => {
    const { instantiateBench } = await import('/bench/timing.js');
    const { matvecRows } = await import('/bench/kernels_core.js');
    const modules = [];
    for (const f of files) {
      const response = await fetch('/' + f);
      if (!response.ok) throw new Error(`${f}: HTTP ${response.status}`);
      modules.push(await instantiateBench(await response.arrayBuffer()));
    }
    return matvecRows(modules, files);
  }, CHROMIUM_FILES);
  console.log(JSON.stringify({ chromium: context.browser()?.version() ?? null, rows }));
}, { name: 'kernels' });
