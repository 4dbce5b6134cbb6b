// CSRF in a real browser, on the fixture app's guestbook (tests/fixture-app): the form (hidden
// field), the fetch button (meta tag), and a cross-site form post that must be refused. The
// example app's own forms and fetches are driven by app.test.mjs.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { fixtureBin, launchBrowser, startOtherSite, startServer } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({}, fixtureBin());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('the guestbook form signs with its hidden token', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/guestbook`);
  const meta = await page.getAttribute('meta[name="csrf-token"]', 'content');
  assert.equal(meta.length, 86);
  const message = `from chromium ${Date.now()}`;
  await page.fill('input[name="message"]', message);
  await Promise.all([page.waitForURL(`${server.url}/guestbook`), page.click('button[type="submit"]')]);
  assert.ok((await page.textContent('#entries')).includes(message));
  await page.close();
});

test('the fetch button sends the meta tag token', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/guestbook`);
  await page.fill('#item-name', 'Widget');
  await page.click('#create-item');
  await page.waitForFunction(() => document.getElementById('result').textContent !== '');
  const result = await page.textContent('#result');
  assert.match(result, /^201 /);
  assert.ok(result.includes('"name":"Widget"'));
  await page.close();
});

test('a form on another site cannot sign the guestbook', async () => {
  const message = `forged ${Date.now()}`;
  // Even with a token copied from a real page: the browser says where the post comes from.
  const victim = await browser.newPage();
  await victim.goto(`${server.url}/guestbook`);
  const token = await victim.getAttribute('input[name="csrf_token"]', 'value');
  const evil = await startOtherSite(`<!doctype html><html><body>
    <form id="f" method="post" action="${server.url}/guestbook">
      <input name="csrf_token" value="${token}"><input name="message" value="${message}">
    </form>
    <script>document.getElementById('f').submit()</script></body></html>`);
  try {
    const page = await browser.newPage();
    await page.goto(evil.url);
    await page.waitForURL(`${server.url}/guestbook`);
    const body = await page.textContent('body');
    // Chromium sends `Sec-Fetch-Site: cross-site` (and no SameSite=Lax cookie). The fixture
    // app has no error pages, so the browser shows the JSON error.
    assert.equal(JSON.parse(body).error.code, 'csrf_origin_rejected', body);
    await victim.reload();
    assert.ok(!(await victim.textContent('#entries')).includes(message));
    await page.close();
  } finally {
    evil.stop();
    await victim.close();
  }
});
