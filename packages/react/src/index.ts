/**
 * React helpers for routekit apps.
 *
 * routekit checks a CSRF token on every mutation (anything but GET, HEAD and OPTIONS). Every
 * HTML page it serves carries the token in `<meta name="csrf-token" content="…">`;
 * `useCsrfToken()` reads it, and `csrfFetch()` sends it as `X-CSRF-Token`.
 *
 * ```tsx
 * import { csrfFetch, useCsrfToken } from '@routekit/react';
 *
 * function DeleteButton({ id }: { id: string }) {
 *   return <button onClick={() => csrfFetch(`/api/items/${id}`, { method: 'DELETE' })}>Delete</button>;
 * }
 *
 * function NativeForm() {
 *   const token = useCsrfToken();
 *   return (
 *     <form method="post" action="/guestbook">
 *       <input type="hidden" name="csrf_token" value={token} />
 *     </form>
 *   );
 * }
 * ```
 *
 * @packageDocumentation
 */

import { useSyncExternalStore } from 'react';

/** The `<meta>` tag's `name`. */
export const CSRF_META_NAME = 'csrf-token';
/** The request header routekit reads the token from. */
export const CSRF_HEADER = 'X-CSRF-Token';
/** The form and JSON field routekit reads the token from when the header is absent. */
export const CSRF_FIELD = 'csrf_token';
/** Where routekit hands out a token (and the cookie) as `{"csrfToken":"…"}`. */
export const CSRF_TOKEN_PATH = '/_routekit/csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The token in the page's `<meta name="csrf-token">`, or `''` when there is no document
 * (server rendering) or no tag.
 */
export function readCsrfToken(doc: Document | undefined = globalThis.document): string {
  if (doc === undefined) {
    return '';
  }
  const meta = doc.querySelector(`meta[name="${CSRF_META_NAME}"]`);
  return meta?.getAttribute('content') ?? '';
}

function subscribe(onChange: () => void): () => void {
  if (typeof document === 'undefined' || typeof MutationObserver === 'undefined') {
    return () => {};
  }
  // A client-side navigation or a signed-in user's new secret may replace the tag.
  const observer = new MutationObserver(onChange);
  observer.observe(document.head ?? document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['content', 'name'],
  });
  return () => observer.disconnect();
}

function serverSnapshot(): string {
  return '';
}

/**
 * The page's CSRF token: `''` during server rendering (as Makerkit's hook), the meta tag's
 * value in the browser, kept up to date if the tag changes. Hydration is safe: React renders
 * the server value first and then the browser's.
 */
export function useCsrfToken(): string {
  return useSyncExternalStore(subscribe, readCsrfToken, serverSnapshot);
}

/** Options for {@link createCsrfFetch}. */
export interface CsrfFetchOptions {
  /** The fetch to wrap; defaults to the global one. */
  fetch?: typeof fetch;
  /** Where to get a token when the page has no meta tag; defaults to `/_routekit/csrf`. */
  tokenPath?: string;
  /** The page's URL, for resolving relative URLs and telling same-origin requests apart;
   * defaults to `location.href`. */
  baseUrl?: () => string | undefined;
  /** Where the page's token comes from; defaults to {@link readCsrfToken}. */
  readToken?: () => string;
}

function methodOf(input: RequestInfo | URL, init: RequestInit | undefined): string {
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  return method.toUpperCase();
}

function urlOf(input: RequestInfo | URL): string {
  if (input instanceof Request) {
    return input.url;
  }
  return input instanceof URL ? input.href : input;
}

/** Whether the request can be sent a second time: a stream body, or a `Request`'s own body,
 * is gone once sent. */
function resendable(input: RequestInfo | URL, init: RequestInit | undefined): boolean {
  const body = init?.body;
  if (body === undefined || body === null) {
    return !(input instanceof Request && input.body !== null);
  }
  return !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream);
}

async function refusalCode(res: Response): Promise<string | undefined> {
  if (res.status !== 403) {
    return undefined;
  }
  try {
    const body = (await res.clone().json()) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `fetch` that adds `X-CSRF-Token` to same-origin mutations.
 *
 * - The token comes from the meta tag; without one (a single-page app served as static
 *   files), from `GET /_routekit/csrf`, fetched once and shared.
 * - GET, HEAD and OPTIONS requests, requests to other origins (the token must never leak to
 *   another site) and requests that already carry the header are sent unchanged.
 * - When routekit answers 403 `csrf_token_invalid` (the secret was rotated, or the cookie
 *   expired), a fresh token is fetched and the request is sent once more, if its body can be
 *   sent again. The handler never ran on a CSRF refusal, so the retry cannot apply a change
 *   twice.
 */
export function createCsrfFetch(options: CsrfFetchOptions = {}): typeof fetch {
  const tokenPath = options.tokenPath ?? CSRF_TOKEN_PATH;
  const baseUrl = options.baseUrl ?? (() => globalThis.location?.href);
  const readToken = options.readToken ?? (() => readCsrfToken());
  const doFetch = (input: RequestInfo | URL, init?: RequestInit) =>
    (options.fetch ?? globalThis.fetch)(input, init);
  let fetched: Promise<string> | undefined;

  const fetchToken = (base: string): Promise<string> => {
    fetched ??= doFetch(new URL(tokenPath, base).href, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    })
      .then(async (res) => {
        if (!res.ok) {
          throw new Error(`GET ${tokenPath} answered ${res.status}`);
        }
        const body = (await res.json()) as { csrfToken?: unknown };
        return typeof body.csrfToken === 'string' ? body.csrfToken : '';
      })
      .catch((error: unknown) => {
        fetched = undefined;
        throw error;
      });
    return fetched;
  };

  return async function csrfFetch(input: RequestInfo | URL, init?: RequestInit) {
    const base = baseUrl();
    const method = methodOf(input, init);
    if (base === undefined || SAFE_METHODS.has(method)) {
      return doFetch(input, init);
    }
    const target = new URL(urlOf(input), base);
    if (target.origin !== new URL(base).origin) {
      return doFetch(input, init);
    }
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (headers.has(CSRF_HEADER)) {
      return doFetch(input, init);
    }
    const fromPage = readToken();
    headers.set(CSRF_HEADER, fromPage || (await fetchToken(base)));
    const res = await doFetch(input, { ...init, headers });
    if (!resendable(input, init) || (await refusalCode(res)) !== 'csrf_token_invalid') {
      return res;
    }
    fetched = undefined;
    headers.set(CSRF_HEADER, await fetchToken(base));
    return doFetch(input, { ...init, headers });
  };
}

/** {@link createCsrfFetch} with the defaults: the global `fetch`, `/_routekit/csrf`. */
export const csrfFetch: typeof fetch = createCsrfFetch();
