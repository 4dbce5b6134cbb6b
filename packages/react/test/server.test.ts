// @vitest-environment node
/**
 * Against the real example server: the meta tag's token and the token endpoint both work
 * with csrfFetch, and a mutation without a token is refused.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { JSDOM } from 'jsdom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCsrfFetch, readCsrfToken } from '../src/index';

// The routing-conventions app (tests/fixture-app): a server-rendered page and a JSON route.
const bin = process.env.ROUTEKIT_FIXTURE_BIN ?? resolve(__dirname, '../../../target/debug/routekit-fixture-app');
const available = existsSync(bin);
if (!available && process.env.CI === 'true') {
  throw new Error(`the fixture server binary is missing at ${bin}; build it with cargo build -p routekit-fixture-app`);
}

let server: ChildProcessWithoutNullStreams | undefined;
let base = '';

beforeAll(async () => {
  if (!available) return;
  server = spawn(bin, [], {
    env: { ...process.env, PORT: '0', RUST_LOG: 'info', NO_COLOR: '1', ROUTEKIT_CSRF: 'on' },
  });
  const lines = createInterface({ input: server.stdout });
  base = await new Promise<string>((ok, fail) => {
    server?.on('exit', (code) => fail(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const at = line.indexOf('listening on ');
      if (at >= 0) ok(line.slice(at + 'listening on '.length).trim());
    });
  });
});

afterAll(() => {
  server?.kill('SIGTERM');
});

/** Node's fetch keeps no cookies: this one keeps the CSRF cookie, as a browser would. */
function browserFetch(): typeof fetch {
  const jar = new Map<string, string>();
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    if (jar.size > 0) {
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(input, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }) as typeof fetch;
}

const item = JSON.stringify({ name: 'Widget', quantity: 2 });
const json = { 'Content-Type': 'application/json' };

describe.skipIf(!available)('against a routekit server (tests/fixture-app)', () => {
  it('sends the meta tag token', async () => {
    const fetch = browserFetch();
    const html = await (await fetch(`${base}/guestbook`)).text();
    const dom = new JSDOM(html, { url: `${base}/guestbook` });
    const token = readCsrfToken(dom.window.document);
    expect(token).toHaveLength(86);
    const csrfFetch = createCsrfFetch({
      fetch,
      baseUrl: () => `${base}/guestbook`,
      readToken: () => token,
    });
    const res = await csrfFetch(`${base}/api/items`, { method: 'POST', headers: json, body: item });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ name: 'Widget', quantity: 2, tags: [] });
  });

  it('fetches a token when the page has none', async () => {
    const csrfFetch = createCsrfFetch({
      fetch: browserFetch(),
      baseUrl: () => `${base}/app`,
      readToken: () => '',
    });
    const res = await csrfFetch(`${base}/api/items`, { method: 'POST', headers: json, body: item });
    expect(res.status).toBe(201);
  });

  it('is refused without csrfFetch', async () => {
    const fetch = browserFetch();
    await fetch(`${base}/guestbook`);
    const res = await fetch(`${base}/api/items`, { method: 'POST', headers: json, body: item });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'csrf_token_missing' } });
  });
});
