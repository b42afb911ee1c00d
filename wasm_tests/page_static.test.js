// The page's code never turns strings into markup, and its HTML carries no inline script or style.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers.js';

const files = (dir, ext) => readdirSync(join(repoRoot, dir)).filter((f) => f.endsWith(ext)).map((f) => join(repoRoot, dir, f));

test('no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval in the page and the package', () => {
  for (const file of [...files('demo', '.js'), ...files('web', '.js')]) {
    const code = readFileSync(file, 'utf8');
    assert.doesNotMatch(code, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, file);
  }
});

test('the HTML has no inline script, handler or style attribute', () => {
  for (const file of files('demo', '.html')) {
    const html = readFileSync(file, 'utf8');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${file}: inline script`);
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${file}: inline event handler`);
    assert.doesNotMatch(html, /\sstyle\s*=/i, `${file}: inline style`);
    assert.doesNotMatch(html, /https?:\/\//i, `${file}: a reference off the server`);
  }
});
