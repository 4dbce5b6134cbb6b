// The e-mail flows through the real @supabase/supabase-js: the example server runs with
// confirmation on and mails through a real SMTP server (tests/shared/smtp-sink.mjs), in the
// implicit flow and in the PKCE flow (@supabase/ssr's default).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createClient } from '@supabase/supabase-js';

import { backends, database } from '../shared/database.mjs';
import { startSmtpSink } from '../shared/smtp-sink.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.ROUTEKIT_SAAS_BIN ?? resolve(here, '../../target/debug/saas');
const site = 'http://127.0.0.1:3000';
const password = 'correct horse battery staple';

let server;
let url;
let dataDir;
let sink;

let db;

async function start(backend) {
  if (!existsSync(bin)) throw new Error(`missing ${bin}: run cargo build -p saas`);
  dataDir = mkdtempSync(join(tmpdir(), 'routekit-supabase-mail-'));
  db = database(backend, dataDir);
  sink = await startSmtpSink();
  server = spawn(bin, [], {
    env: {
      ...process.env,
      PORT: '0',
      RUST_LOG: 'info',
      NO_COLOR: '1',
      DATABASE_URL: db.url,
      ROUTEKIT_AUTH_AUTOCONFIRM: 'false',
      ROUTEKIT_AUTH_SITE_URL: site,
      ROUTEKIT_AUTH_SMTP_HOST: '127.0.0.1',
      ROUTEKIT_AUTH_SMTP_PORT: String(sink.port),
      ROUTEKIT_AUTH_SMTP_TLS: 'none',
      ROUTEKIT_AUTH_SMTP_ADMIN_EMAIL: 'no-reply@example.com',
      ROUTEKIT_AUTH_SMTP_MAX_FREQUENCY: '0',
      ROUTEKIT_AUTH_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION: 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout });
  url = await new Promise((ok, fail) => {
    server.on('exit', (code) => fail(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const i = line.indexOf('listening on ');
      if (i >= 0) ok(line.slice(i + 'listening on '.length).trim());
    });
  });
}

async function stop() {
  if (server) {
    const exited = new Promise((ok) => server.once('exit', ok));
    server.kill('SIGTERM');
    await exited;
  }
  await sink?.close();
  db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

function client(flowType = 'implicit') {
  return createClient(url, 'routekit-anon-key', {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, flowType },
  });
}

/// Follows a mailed link (to the site URL) on the test server: the 303's Location.
async function follow(link) {
  assert.ok(link.startsWith(`${site}/auth/v1/verify?`), link);
  const res = await fetch(url + link.slice(site.length), { redirect: 'manual' });
  assert.equal(res.status, 303);
  return res.headers.get('location');
}

const fragment = (location) => new URLSearchParams(location.split('#')[1] ?? '');
const unique = (name) => `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;

/// A user who followed their confirmation link, signed in on a fresh client.
async function confirmedClient(email, flowType = 'implicit') {
  await client().auth.signUp({ email, password });
  await follow(sink.last(email).link);
  const supabase = client(flowType);
  assert.equal((await supabase.auth.signInWithPassword({ email, password })).error, null);
  return supabase;
}

for (const backend of backends) {
  describe(backend, () => {
    before(() => start(backend));
    after(stop);

    test('signUp gets no session; the mailed link signs in (implicit flow)', async () => {
      const email = unique('ann');
      const supabase = client();
      const { data, error } = await supabase.auth.signUp({
        email,
        password,
        options: { emailRedirectTo: `${site}/welcome` },
      });
      assert.equal(error, null);
      assert.equal(data.session, null);
      assert.equal(data.user.email, email);
      assert.equal(data.user.identities.length, 1);
      const refused = await supabase.auth.signInWithPassword({ email, password });
      assert.equal(refused.error.code, 'email_not_confirmed');

      const location = await follow(sink.last(email).link);
      assert.ok(location.startsWith(`${site}/welcome#`), location);
      const params = fragment(location);
      const set = await supabase.auth.setSession({
        access_token: params.get('access_token'),
        refresh_token: params.get('refresh_token'),
      });
      assert.equal(set.error, null);
      const { data: me } = await supabase.auth.getUser();
      assert.equal(me.user.email, email);
      assert.ok(me.user.email_confirmed_at);
      const signedIn = await client().auth.signInWithPassword({ email, password });
      assert.equal(signedIn.error, null);

      // Signing up again answers like a new sign-up: no session, no error, another id.
      const again = await client().auth.signUp({ email, password });
      assert.equal(again.error, null);
      assert.equal(again.data.session, null);
      assert.notEqual(again.data.user.id, data.user.id);
      assert.equal(again.data.user.identities.length, 1);
    });

    test('signUp in the PKCE flow: the link yields a code, exchangeCodeForSession signs in', async () => {
      const email = unique('pkce');
      const supabase = client('pkce');
      const { data, error } = await supabase.auth.signUp({ email, password });
      assert.equal(error, null);
      assert.equal(data.session, null);
      const location = await follow(sink.last(email).link);
      assert.ok(!location.includes('#'), location);
      const code = new URL(location).searchParams.get('code');
      assert.ok(code);
      // Another client (another browser) has no verifier for the code.
      const stolen = await client('pkce').auth.exchangeCodeForSession(code);
      assert.ok(stolen.error);
      const exchanged = await supabase.auth.exchangeCodeForSession(code);
      assert.equal(exchanged.error, null);
      assert.equal(exchanged.data.user.email, email);
      assert.ok(exchanged.data.session.access_token);
    });

    test('signInWithOtp by link (implicit and PKCE) and by code; shouldCreateUser: false creates nobody', async () => {
      const email = unique('otp');
      const supabase = client();
      // A new address: created, and mailed a confirmation whose code signs in.
      assert.equal((await supabase.auth.signInWithOtp({ email })).error, null);
      const first = sink.last(email);
      const byCode = await supabase.auth.verifyOtp({ email, token: first.code, type: 'email' });
      assert.equal(byCode.error, null);
      assert.equal(byCode.data.user.email, email);
      assert.ok(byCode.data.session.access_token);
      // Now confirmed: a magic link, followed.
      assert.equal((await client().auth.signInWithOtp({ email })).error, null);
      const location = await follow(sink.last(email).link);
      assert.equal(fragment(location).get('type'), 'magiclink');
      assert.ok(fragment(location).get('access_token'));
      // A used code is refused.
      const reused = await client().auth.verifyOtp({ email, token: first.code, type: 'email' });
      assert.equal(reused.error.code, 'otp_expired');
      // The PKCE flow: the magic link yields a code for this client's verifier.
      const pkce = client('pkce');
      assert.equal((await pkce.auth.signInWithOtp({ email })).error, null);
      const code = new URL(await follow(sink.last(email).link)).searchParams.get('code');
      const exchanged = await pkce.auth.exchangeCodeForSession(code);
      assert.equal(exchanged.error, null);
      assert.equal(exchanged.data.user.email, email);

      const nobody = unique('nobody');
      const before = sink.mails.length;
      const quiet = await client().auth.signInWithOtp({ email: nobody, options: { shouldCreateUser: false } });
      assert.equal(quiet.error, null);
      assert.equal(sink.mails.length, before);
      const cannot = await client().auth.verifyOtp({ email: nobody, token: '123456', type: 'email' });
      assert.equal(cannot.error.code, 'otp_expired');
    });

    test('resetPasswordForEmail, verifyOtp({ type: recovery }), updateUser({ password })', async () => {
      const email = unique('reset');
      await client().auth.signUp({ email, password });
      await follow(sink.last(email).link);
      const supabase = client();
      assert.equal((await supabase.auth.resetPasswordForEmail(email, { redirectTo: `${site}/reset` })).error, null);
      // An unknown address gets the same answer.
      const unknown = await client().auth.resetPasswordForEmail(unique('ghost'));
      assert.equal(unknown.error, null);
      assert.deepEqual(unknown.data, {});

      const link = sink.last(email).link;
      assert.equal(new URL(link).searchParams.get('redirect_to'), `${site}/reset`);
      const tokenHash = new URL(link).searchParams.get('token');
      const verified = await supabase.auth.verifyOtp({ token_hash: tokenHash, type: 'recovery' });
      assert.equal(verified.error, null);
      const updated = await supabase.auth.updateUser({ password: 'a brand new passphrase' });
      assert.equal(updated.error, null);
      assert.equal((await client().auth.signInWithPassword({ email, password: 'a brand new passphrase' })).error, null);
      assert.equal((await client().auth.signInWithPassword({ email, password })).error.code, 'invalid_credentials');
      // The recovery link works once.
      const again = await client().auth.verifyOtp({ token_hash: tokenHash, type: 'recovery' });
      assert.equal(again.error.code, 'otp_expired');
    });

    test('resetPasswordForEmail in the PKCE flow, and resend of a confirmation', async () => {
      const email = unique('resend');
      await client().auth.signUp({ email, password });
      const first = sink.last(email);
      assert.equal((await client().auth.resend({ type: 'signup', email })).error, null);
      const second = sink.last(email);
      assert.notEqual(first.link, second.link);
      // The first link was voided by the second.
      const stale = await client().auth.verifyOtp({ token_hash: new URL(first.link).searchParams.get('token'), type: 'signup' });
      assert.equal(stale.error.code, 'otp_expired');
      await follow(second.link);

      const supabase = client('pkce');
      assert.equal((await supabase.auth.resetPasswordForEmail(email)).error, null);
      const location = await follow(sink.last(email).link);
      const code = new URL(location).searchParams.get('code');
      const exchanged = await supabase.auth.exchangeCodeForSession(code);
      assert.equal(exchanged.error, null);
      assert.equal(exchanged.data.user.email, email);
      assert.equal((await supabase.auth.updateUser({ password: 'reset through pkce too' })).error, null);
    });

    test('reauthenticate mails a nonce that updateUser({ password, nonce }) needs to be right', async () => {
      const email = unique('reauth');
      const supabase = await confirmedClient(email);
      assert.equal((await supabase.auth.reauthenticate()).error, null);
      const nonce = sink.last(email).code;
      assert.ok(nonce);
      const wrong = nonce === '000000' ? '111111' : '000000';
      const refused = await supabase.auth.updateUser({ password: 'a brand new passphrase', nonce: wrong });
      assert.equal(refused.error.code, 'reauthentication_not_valid');
      const updated = await supabase.auth.updateUser({ password: 'a brand new passphrase', nonce });
      assert.equal(updated.error, null);
      const reused = await supabase.auth.updateUser({ password: 'another new passphrase', nonce });
      assert.equal(reused.error.code, 'reauthentication_not_valid');
      assert.equal((await client().auth.signInWithPassword({ email, password: 'a brand new passphrase' })).error, null);
    });

    test('updateUser({ email }) changes the address once both addresses confirm (implicit and PKCE)', async () => {
      for (const flowType of ['implicit', 'pkce']) {
        const email = unique(`change-${flowType}`);
        const next = unique(`changed-${flowType}`);
        const supabase = await confirmedClient(email, flowType);
        const { data, error } = await supabase.auth.updateUser({ email: next }, { emailRedirectTo: `${site}/settings` });
        assert.equal(error, null);
        assert.equal(data.user.email, email);
        assert.equal(data.user.new_email, next);
        // The current address confirms first: nothing changes yet.
        const half = await follow(sink.last(email).link);
        assert.match(decodeURIComponent(half.replaceAll('+', ' ')), /Please proceed to confirm link sent to the other email/);
        assert.equal((await client().auth.signInWithPassword({ email, password })).error, null);
        // The new address completes it.
        const location = await follow(sink.last(next).link);
        assert.ok(location.startsWith(`${site}/settings`), location);
        if (flowType === 'pkce') {
          const code = new URL(location).searchParams.get('code');
          const exchanged = await supabase.auth.exchangeCodeForSession(code);
          assert.equal(exchanged.error, null);
          assert.equal(exchanged.data.user.email, next);
        } else {
          const params = fragment(location);
          assert.equal(params.get('type'), 'email_change');
          const set = await supabase.auth.setSession({
            access_token: params.get('access_token'),
            refresh_token: params.get('refresh_token'),
          });
          assert.equal(set.error, null);
          assert.equal(set.data.user.email, next);
        }
        assert.equal((await client().auth.signInWithPassword({ email: next, password })).error, null);
        assert.equal((await client().auth.signInWithPassword({ email, password })).error.code, 'invalid_credentials');
      }
    });
  });
}
