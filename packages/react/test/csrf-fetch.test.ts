import { afterEach, describe, expect, it } from 'vitest';

import { createCsrfFetch } from '../src/index';

interface Call {
  url: string;
  method: string;
  token: string | null;
}

/** A fetch that records requests and answers from `reply`. */
function recorder(reply: (url: string, token: string | null) => Response = () => new Response('{}')) {
  const calls: Call[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const call = { url, method: (init?.method ?? 'GET').toUpperCase(), token: headers.get('x-csrf-token') };
    calls.push(call);
    return reply(url, call.token);
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

const page = () => 'https://app.example.com/dashboard';

function setMeta(content: string) {
  const meta = document.createElement('meta');
  meta.name = 'csrf-token';
  meta.content = content;
  document.head.append(meta);
}

afterEach(() => {
  document.head.innerHTML = '';
});

describe('csrfFetch', () => {
  it('adds the meta token to every same-origin mutation', async () => {
    setMeta('T');
    const { calls, fetch } = recorder();
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    for (const method of ['POST', 'put', 'PATCH', 'DELETE', 'PROPFIND']) {
      await csrfFetch('/api/items', { method, body: '{}' });
    }
    expect(calls.map((c) => c.token)).toEqual(['T', 'T', 'T', 'T', 'T']);
    expect(calls[0]?.url).toBe('/api/items');
  });

  it('leaves safe methods alone', async () => {
    setMeta('T');
    const { calls, fetch } = recorder();
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    await csrfFetch('/api/items');
    await csrfFetch('/api/items', { method: 'HEAD' });
    await csrfFetch('/api/items', { method: 'options' });
    expect(calls.map((c) => c.token)).toEqual([null, null, null]);
  });

  it('never sends the token to another origin', async () => {
    setMeta('T');
    const { calls, fetch } = recorder();
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    await csrfFetch('https://evil.example/collect', { method: 'POST' });
    await csrfFetch('//app.example.com.evil.example/x', { method: 'POST' });
    await csrfFetch(new URL('http://app.example.com/api'), { method: 'POST' });
    expect(calls.map((c) => c.token)).toEqual([null, null, null]);
  });

  it('keeps a header the caller set', async () => {
    setMeta('T');
    const { calls, fetch } = recorder();
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    await csrfFetch('/api/items', { method: 'POST', headers: { 'X-CSRF-Token': 'mine' } });
    expect(calls[0]?.token).toBe('mine');
  });

  it('reads the method and headers of a Request', async () => {
    setMeta('T');
    const { calls, fetch } = recorder();
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    await csrfFetch(new Request('https://app.example.com/api/items', { method: 'DELETE' }));
    expect(calls[0]?.token).toBe('T');
  });

  it('fetches a token once when the page has no meta tag', async () => {
    const { calls, fetch } = recorder((url) =>
      url.endsWith('/_routekit/csrf') ? Response.json({ csrfToken: 'E' }) : new Response('{}'),
    );
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    await Promise.all([
      csrfFetch('/a', { method: 'POST' }),
      csrfFetch('/b', { method: 'POST' }),
    ]);
    await csrfFetch('/c', { method: 'POST' });
    const tokenFetches = calls.filter((c) => c.url.endsWith('/_routekit/csrf'));
    expect(tokenFetches).toHaveLength(1);
    expect(tokenFetches[0]?.url).toBe('https://app.example.com/_routekit/csrf');
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.token)).toEqual(['E', 'E', 'E']);
  });

  it('retries once with a fresh token after csrf_token_invalid', async () => {
    setMeta('stale');
    const refused = () =>
      Response.json({ error: { code: 'csrf_token_invalid', message: 'x' } }, { status: 403 });
    const { calls, fetch } = recorder((url, token) => {
      if (url.endsWith('/_routekit/csrf')) return Response.json({ csrfToken: 'fresh' });
      return token === 'fresh' ? new Response('ok') : refused();
    });
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    const res = await csrfFetch('/api/items', { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(calls.map((c) => c.token)).toEqual(['stale', null, 'fresh']);
  });

  it('does not retry other refusals or stream bodies', async () => {
    setMeta('T');
    const { calls, fetch } = recorder(() =>
      Response.json({ error: { code: 'csrf_origin_rejected', message: 'x' } }, { status: 403 }),
    );
    const csrfFetch = createCsrfFetch({ fetch, baseUrl: page });
    const res = await csrfFetch('/api/items', { method: 'POST' });
    expect(res.status).toBe(403);
    expect(calls).toHaveLength(1);
  });
});
