// Headless Debian Chromium through playwright-core, with the flags this machine needs, and a
// fresh profile directory per launch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../demo/server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Starts the demo server on a free port and a browser; returns { url, context, close }.
 * faults: the server's test faults (demo/server.js startServer), changeable while it runs.
 */
export async function openBrowser({ faults } = {}) {
  const { server, url } = await startServer({ port: 0, faults });
  const profile = mkdtempSync(join(tmpdir(), 'nucleus-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  return {
    url,
    context,
    async close() {
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
