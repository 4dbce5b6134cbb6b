// Shared by the browser tests: the example server binary on a random port, and headless
// Chromium (Debian's /usr/bin/chromium) driven by playwright-core.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The routing-conventions app (tests/fixture-app), for startServer's `bin`. */
export const fixtureBin = () =>
  process.env.ROUTEKIT_FIXTURE_BIN ?? resolve(here, '../../target/debug/routekit-fixture-app');

/** Starts the example server (or `bin`) on `PORT=0` and resolves to `{ url, stop }`. */
export async function startServer(env = {}, bin = process.env.ROUTEKIT_SAAS_BIN ?? resolve(here, '../../target/debug/saas')) {
  const dataDir = mkdtempSync(join(tmpdir(), 'routekit-browser-'));
  if (!existsSync(bin)) {
    throw new Error(`the server binary is missing at ${bin}; run cargo build -p saas -p routekit-fixture-app`);
  }
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      PORT: '0',
      RUST_LOG: 'info',
      NO_COLOR: '1',
      DATABASE_URL: `sqlite://${join(dataDir, 'auth.db')}`,
      // The example confirms sign-ups by mail by default; these tests sign up and go on.
      ROUTEKIT_AUTH_AUTOCONFIRM: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    child.on('exit', (code) => fail(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const at = line.indexOf('listening on ');
      if (at >= 0) ok(line.slice(at + 'listening on '.length).trim());
    });
  });
  return {
    url,
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Serves one HTML page from another origin (`http://localhost:PORT`), as an attacker's site. */
export async function startOtherSite(html) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://localhost:${server.address().port}`, stop: () => server.close() };
}

/** Headless Chromium with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export { totp } from '../shared/totp.mjs';
