// The example's server-rendered sign-in and MFA pages in a real browser: a protected page
// redirects to sign-in, the form signs in, and an account with a TOTP factor goes through
// /auth/verify before it gets there.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, startServer, totp } from './harness.mjs';

let server;
let browser;
const password = 'correct horse battery staple';

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function api(path, body, token) {
  const res = await fetch(`${server.url}/auth/v1${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-supabase-api-version': '2024-01-01',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return res.json();
}

async function signInThroughThePage(page, email, pass) {
  await page.goto(`${server.url}/account`);
  assert.equal(new URL(page.url()).pathname, '/auth/sign-in');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/account');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', pass);
  await page.click('button[type="submit"]');
  await page.waitForLoadState();
}

test('a protected page sends the browser to sign in and back', async () => {
  const email = `ann-${Date.now()}@example.com`;
  await api('/signup', { email, password });
  const page = await (await browser.newContext()).newPage();

  await signInThroughThePage(page, email, 'wrong password!');
  assert.equal(new URL(page.url()).pathname, '/auth/sign-in');
  assert.ok(await page.isVisible('#error'));

  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${server.url}/account`);
  // The page for the browser, the same facts as JSON for a fetch.
  assert.equal(await page.textContent('#email'), email);
  const account = await page.evaluate(async () => (await fetch('/account')).json());
  assert.equal(account.email, email);
  assert.equal(account.aal, 'aal1');
  const cookies = await page.context().cookies();
  assert.ok(cookies.some((c) => /^sb-.*-auth-token$/.test(c.name) && !c.httpOnly));
});

test('an account with a verified factor passes /auth/verify first', async () => {
  const email = `mfa-${Date.now()}@example.com`;
  const signup = await api('/signup', { email, password });
  const factor = await api('/factors', { factor_type: 'totp', friendly_name: 'app' }, signup.access_token);
  const challenge = await api(`/factors/${factor.id}/challenge`, {}, signup.access_token);
  await api(`/factors/${factor.id}/verify`, { challenge_id: challenge.id, code: totp(factor.totp.secret) }, signup.access_token);

  const page = await (await browser.newContext()).newPage();
  await signInThroughThePage(page, email, password);
  assert.equal(new URL(page.url()).pathname, '/auth/verify');
  // The API verify used this time step; the page gets the next one (a code counts once).
  await page.fill('input[name="code"]', totp(factor.totp.secret, 1));
  await page.click('button[type="submit"]');
  await page.waitForURL(`${server.url}/account`);
  assert.equal(await page.textContent('#aal'), 'aal2');
  const account = await page.evaluate(async () => (await fetch('/account')).json());
  assert.equal(account.aal, 'aal2');
  assert.deepEqual(account.signed_in_with.sort(), ['password', 'totp']);
});
