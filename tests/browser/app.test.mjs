// The example app end to end in headless Chromium, on SQLite and on PostgreSQL: sign-up
// confirmed through the mailed link (a real SMTP server), notes, two-factor enrollment and
// sign-in, password recovery, another user's isolation, CSRF, the HTML 404 and the admin page.
// Every page is saved as a screenshot under tests/browser/artifacts/ (not committed); the
// README's three come from the SQLite run.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { backends, database } from '../shared/database.mjs';
import { serviceRoleKey, signingKey } from '../shared/service-key.mjs';
import { startSmtpSink } from '../shared/smtp-sink.mjs';
import { launchBrowser, startServer, totp } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const password = 'correct horse battery staple';

for (const backend of backends) {
  describe(`the example app on ${backend}`, () => {
    let server;
    let browser;
    let sink;
    let db;
    let dir;
    const signing = signingKey();
    const ann = { email: `ann-${backend}@example.com` };
    const bob = { email: `bob-${backend}@example.com` };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'routekit-e2e-'));
      db = database(backend, dir);
      sink = await startSmtpSink();
      server = await startServer({
        DATABASE_URL: db.url,
        ROUTEKIT_AUTH_AUTOCONFIRM: 'false',
        ROUTEKIT_AUTH_SIGNING_KEY: signing.env,
        ROUTEKIT_AUTH_SMTP_HOST: '127.0.0.1',
        ROUTEKIT_AUTH_SMTP_PORT: String(sink.port),
        ROUTEKIT_AUTH_SMTP_TLS: 'none',
        ROUTEKIT_AUTH_SMTP_ADMIN_EMAIL: 'no-reply@example.com',
        ROUTEKIT_AUTH_SMTP_MAX_FREQUENCY: '0',
      });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      server?.stop();
      await sink?.close();
      db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const at = (page) => new URL(page.url()).pathname;
    const shot = (page, name) =>
      page.screenshot({ path: join(artifacts, `${backend}-${name}.png`), fullPage: true });

    /// Signs up `user` in a new browser context and follows the confirmation link from the
    /// mail: the user lands on the dashboard, signed in.
    async function signUp(user, screenshots = false) {
      user.context = await browser.newContext();
      const page = await user.context.newPage();
      await page.goto(`${server.url}/`);
      if (screenshots) await shot(page, 'landing');
      await page.click('header a[href="/auth/sign-up"]');
      await page.fill('main input[name="email"]', user.email);
      await page.fill('main input[name="password"]', password);
      if (screenshots) await shot(page, 'sign-up');
      await page.click('main button[type="submit"]');
      await page.waitForSelector('#check-inbox');
      if (screenshots) await shot(page, 'check-inbox');
      const mail = sink.last(user.email);
      assert.ok(mail?.link, `a confirmation mail to ${user.email}`);
      await page.goto(mail.link);
      assert.equal(at(page), '/dashboard');
      user.id = (await (await page.request.get(`${server.url}/api/me`)).json()).id;
      return page;
    }

    async function addNote(page, title, body) {
      const count = await page.locator('#notes > li').count();
      await page.fill('#new-note input[name="title"]', title);
      await page.fill('#new-note textarea[name="body"]', body);
      await page.click('#new-note button[type="submit"]');
      await page.waitForFunction((n) => document.querySelectorAll('#notes > li').length === n + 1, count);
    }

    test('sign up confirmed by mail, then notes: create, edit, delete', async () => {
      const page = await signUp(ann, true);
      await shot(page, 'dashboard-empty');
      await addNote(page, 'Groceries', 'Milk, eggs');
      await addNote(page, 'Ideas', 'A routekit CLI');
      await addNote(page, 'Scratch', 'to delete');
      // Newest first, rendered as text.
      assert.deepEqual(await page.locator('#notes h3').allTextContents(), ['Scratch', 'Ideas', 'Groceries']);

      const ideas = page.locator('#notes > li', { hasText: 'Ideas' });
      await ideas.locator('button[data-action="edit"]').click();
      await page.fill('#notes form.edit input[name="title"]', 'Ideas <b>bold</b>');
      await page.fill('#notes form.edit textarea[name="body"]', 'A routekit CLI, and a dev loop');
      await page.click('#notes form.edit button[type="submit"]');
      await page.waitForSelector('#notes h3:text-is("Ideas <b>bold</b>")');

      await page.locator('#notes > li', { hasText: 'Scratch' }).locator('button[data-action="delete"]').click();
      await page.waitForFunction(() => document.querySelectorAll('#notes > li').length === 2);

      // What the page shows is what is stored: a reload renders the same list on the server.
      await page.reload();
      assert.deepEqual(await page.locator('#notes h3').allTextContents(), ['Ideas <b>bold</b>', 'Groceries']);
      assert.equal(await page.locator('#notes b').count(), 0, 'titles are text, never HTML');
      ann.noteId = await page.locator('#notes > li').first().getAttribute('data-id');
      await shot(page, 'dashboard');
    });

    test('a dashboard mutation replayed without its CSRF token is refused with 403', async () => {
      const page = await ann.context.newPage();
      await page.goto(`${server.url}/dashboard`);
      const result = await page.evaluate(async () => {
        const res = await fetch('/api/notes', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ title: 'forged', body: '' }),
        });
        return { status: res.status, body: await res.json() };
      });
      assert.equal(result.status, 403);
      assert.match(result.body.error.code, /^csrf_/);
      await page.reload();
      assert.equal(await page.locator('#notes h3', { hasText: 'forged' }).count(), 0);
      await page.close();
    });

    test('MFA enrollment with the TOTP computed from the secret on the page', async () => {
      const page = await ann.context.newPage();
      await page.goto(`${server.url}/account`);
      assert.equal(await page.locator('#no-factors').count(), 1);
      await shot(page, 'account');
      await page.click('#enroll');
      await page.waitForSelector('#qr svg');
      ann.secret = (await page.locator('#secret').textContent()).trim();
      assert.match(ann.secret, /^[A-Z2-7]+$/);
      await shot(page, 'mfa-enrollment');
      await page.fill('main input[name="code"]', totp(ann.secret));
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${server.url}/account?notice=mfa`);
      assert.equal(await page.locator('#factors tr[data-factor]').count(), 1);
      assert.equal((await page.locator('#aal').textContent()).trim(), 'aal2');
      await shot(page, 'account-mfa-on');
      await page.close();
    });

    test('sign out, the dashboard sends to sign-in, and sign-in asks for the second factor', async () => {
      const page = await ann.context.newPage();
      await page.goto(`${server.url}/dashboard`);
      await page.click('header button:text("Sign out")');
      await page.waitForURL(/\/auth\/sign-in$/);
      await page.goto(`${server.url}/dashboard`);
      assert.equal(at(page), '/auth/sign-in');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/dashboard');
      await shot(page, 'sign-in');
      await page.fill('main input[name="email"]', ann.email);
      await page.fill('main input[name="password"]', password);
      await page.click('main button[type="submit"]');
      await page.waitForURL(/\/auth\/verify/);
      await shot(page, 'mfa-verify');
      // Enrollment used this time step's code; a code counts once, so the next step's.
      await page.fill('main input[name="code"]', totp(ann.secret, 1));
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${server.url}/dashboard`);
      assert.deepEqual(await page.locator('#notes h3').allTextContents(), ['Ideas <b>bold</b>', 'Groceries']);
      await page.close();
    });

    test("a second user sees none of the first user's notes, on the page or through the API", async () => {
      const page = await signUp(bob);
      assert.equal(await page.locator('#notes > li').count(), 0);
      assert.equal(await page.locator('#empty').isVisible(), true);
      const answers = await page.evaluate(async (id) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const call = async (method, path, body) => {
          const res = await fetch(path, {
            method,
            headers: { 'content-type': 'application/json', 'x-csrf-token': token },
            body: body && JSON.stringify(body),
          });
          return { status: res.status, body: res.status === 204 ? null : await res.json() };
        };
        return {
          list: await call('GET', '/api/notes'),
          get: await call('GET', `/api/notes/${id}`),
          patch: await call('PATCH', `/api/notes/${id}`, { title: 'mine now' }),
          remove: await call('DELETE', `/api/notes/${id}`),
        };
      }, ann.noteId);
      assert.deepEqual(answers.list, { status: 200, body: { notes: [] } });
      for (const answer of [answers.get, answers.patch, answers.remove]) {
        assert.equal(answer.status, 404);
        assert.equal(answer.body.error.code, 'note_not_found');
      }
      await page.close();
    });

    test('a forgotten password is reset through the mailed link', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}/auth/sign-in`);
      await page.click('a[href="/auth/forgot-password"]');
      await shot(page, 'forgot-password');
      await page.fill('main input[name="email"]', bob.email);
      await page.click('main button[type="submit"]');
      await page.waitForSelector('#check-inbox');
      const mail = sink.last(bob.email);
      assert.match(mail.text, /password/i);
      await page.goto(mail.link);
      assert.equal(at(page), '/auth/reset-password');
      await shot(page, 'reset-password');
      const fresh = 'a brand new passphrase';
      await page.fill('main input[name="password"]', fresh);
      await page.fill('main input[name="confirm"]', fresh);
      await page.click('main button[type="submit"]');
      await page.waitForURL(`${server.url}/dashboard?notice=password`);
      // The new password signs in; the old one does not.
      const other = await (await browser.newContext()).newPage();
      for (const [pw, lands] of [[password, '/auth/sign-in'], [fresh, '/dashboard']]) {
        await other.goto(`${server.url}/auth/sign-in`);
        await other.fill('main input[name="email"]', bob.email);
        await other.fill('main input[name="password"]', pw);
        await other.click('main button[type="submit"]');
        await other.waitForLoadState();
        assert.equal(at(other), lands);
      }
      await context.close();
    });

    test('a magic link signs in without a password', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}/auth/sign-in`);
      await page.click('main a[href^="/auth/magic-link"]');
      await page.fill('main input[name="email"]', bob.email);
      await shot(page, 'magic-link');
      await page.click('main button[type="submit"]');
      await page.waitForSelector('#check-inbox');
      await page.goto(sink.last(bob.email).link);
      assert.equal(at(page), '/dashboard');
      // The link works once.
      const again = await (await browser.newContext()).newPage();
      await again.goto(sink.last(bob.email).link);
      assert.notEqual(at(again), '/dashboard');
      // Bob's signed-in browser, for the ban below.
      bob.live = context;
    });

    test('an unknown URL is the HTML 404 page; an API call gets JSON', async () => {
      const page = await ann.context.newPage();
      const res = await page.goto(`${server.url}/no-such-page`);
      assert.equal(res.status(), 404);
      assert.equal(await page.locator('h1').textContent(), 'Page not found');
      await shot(page, 'not-found');
      const api = await page.evaluate(async () => {
        const res = await fetch('/no-such-page');
        return { status: res.status, type: res.headers.get('content-type') };
      });
      assert.deepEqual(api, { status: 404, type: 'application/json' });
      await page.close();
    });

    test('the admin page is refused until the user is given the role, then bans a user', async () => {
      const page = await ann.context.newPage();
      const refused = await page.goto(`${server.url}/admin`);
      assert.equal(refused.status(), 404);
      assert.equal(await page.locator('h1').textContent(), 'Page not found');
      // An operator gives the role with the admin API and a service-role key.
      const issuer = `${server.url}/auth/v1`;
      const res = await fetch(`${issuer}/admin/users/${ann.id}`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${serviceRoleKey(signing, issuer)}`,
          apikey: 'routekit-anon-key',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ app_metadata: { role: 'super-admin' } }),
      });
      assert.equal(res.status, 200, await res.text());
      const opened = await page.goto(`${server.url}/admin`);
      assert.equal(opened.status(), 200);
      assert.equal(await page.locator('header a[href="/admin"]').count(), 1);
      const row = page.locator(`#users tr[data-email="${bob.email}"]`);
      assert.equal((await row.locator('.status').textContent()).trim(), 'active');
      await shot(page, 'admin');
      await row.locator('button[value="ban"]').click();
      await page.waitForURL(`${server.url}/admin?notice=ban`);
      assert.equal((await page.locator(`#users tr[data-email="${bob.email}"] .status`).textContent()).trim(), 'banned');
      // The banned user's signed-in browser no longer opens the dashboard.
      const bobs = await bob.live.newPage();
      await bobs.goto(`${server.url}/dashboard`);
      assert.equal(at(bobs), '/auth/sign-in');
      await page.close();
    });
  });
}
