// @vitest-environment node
import { describe, expect, it } from 'vitest';

import { createCsrfFetch, readCsrfToken } from '../src/index';

describe('on the server', () => {
  it('has no token', () => {
    expect(typeof document).toBe('undefined');
    expect(readCsrfToken()).toBe('');
  });

  it('csrfFetch passes requests through unchanged', async () => {
    const seen: (RequestInit | undefined)[] = [];
    const fetch = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(init);
      return new Response('ok');
    }) as typeof globalThis.fetch;
    const init = { method: 'POST', body: 'x' };
    await createCsrfFetch({ fetch })('https://api.example.com/items', init);
    expect(seen).toEqual([init]);
  });
});
