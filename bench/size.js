// Section 6: bytes of the runtime a page or a package ships: the wasm modules (web/dist) and
// the JS (web/*.js), raw and gzip (node:zlib, level 9).
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { root } from './lib.js';

function measure(dir, suffix) {
  return readdirSync(root + dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => {
      const bytes = readFileSync(`${root}${dir}/${name}`);
      return { file: `${dir}/${name}`, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
}

const sum = (files, key) => files.reduce((total, f) => total + f[key], 0);

export function runSize() {
  const wasm = measure('web/dist', '.wasm');
  const js = measure('web', '.js');
  // A page fetches one of the SIMD module and its relaxed twin (the larger counts here); a
  // threaded page also fetches the threaded one (or its twin); no page fetches the scalar
  // fallback as well as a SIMD module.
  const largest = (re) => wasm.filter((f) => re.test(f.file)).sort((a, b) => b.gzip - a.gzip).slice(0, 1);
  const simd = largest(/nucleus-(simd|relaxed)\.wasm$/);
  const threaded = [...simd, ...largest(/nucleus-mt(-relaxed)?\.wasm$/)];
  return {
    files: [...wasm, ...js],
    js: { raw: sum(js, 'raw'), gzip: sum(js, 'gzip') },
    // Everything the package ships (the five wasm builds and every JS file), what a page with
    // SIMD128 loads (one wasm build and the JS), and the most a page can load (SIMD + threaded).
    total: { raw: sum(wasm, 'raw') + sum(js, 'raw'), gzip: sum(wasm, 'gzip') + sum(js, 'gzip') },
    page: { raw: sum(simd, 'raw') + sum(js, 'raw'), gzip: sum(simd, 'gzip') + sum(js, 'gzip') },
    threadedPage: { raw: sum(threaded, 'raw') + sum(js, 'raw'), gzip: sum(threaded, 'gzip') + sum(js, 'gzip') },
  };
}

const KB = (bytes) => (bytes / 1024).toFixed(1);

export function printSize(s) {
  console.log('\n6. Size: runtime files, raw and gzip -9 (KB = 1024 bytes)');
  console.log('file                          raw KB  gzip KB');
  const line = (name, f) => console.log(`${name.padEnd(28)} ${KB(f.raw).padStart(7)} ${KB(f.gzip).padStart(8)}`);
  for (const f of s.files.filter((x) => x.file.endsWith('.wasm'))) line(f.file, f);
  line('web/*.js (all)', s.js);
  line('SIMD wasm + JS (a page)', s.page);
  line('SIMD + threaded wasm + JS', s.threadedPage);
  line('all wasm + JS (package)', s.total);
}
