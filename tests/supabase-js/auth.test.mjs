// The real @supabase/supabase-js (pinned 2.119.1, the newest that runs on this machine's
// Node 20 with --experimental-websocket) against the example server's embedded auth API.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createClient } from '@supabase/supabase-js';

import { es256, signingKey } from '../shared/service-key.mjs';
import { totp } from '../shared/totp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.ROUTEKIT_SAAS_BIN ?? resolve(here, '../../target/debug/saas');

let server;
let url;
let dataDir;

/// Starts the example server with `env` added; resolves to the process and its URL.
async function startServer(env) {
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      PORT: '0',
      RUST_LOG: 'info',
      NO_COLOR: '1',
      DATABASE_URL: `sqlite://${join(dataDir, `auth-${Date.now()}-${Math.random()}.db`)}`,
      // The example confirms sign-ups by mail by default; these tests sign up and go on.
      ROUTEKIT_AUTH_AUTOCONFIRM: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const log = [];
  const at = await new Promise((ok, fail) => {
    child.on('exit', (code) => fail(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      log.push(line);
      const i = line.indexOf('listening on ');
      if (i >= 0) ok(line.slice(i + 'listening on '.length).trim());
    });
  });
  return { child, url: at, log };
}

before(async () => {
  if (!existsSync(bin)) throw new Error(`missing ${bin}: run cargo build -p saas`);
  dataDir = mkdtempSync(join(tmpdir(), 'routekit-supabase-'));
  ({ child: server, url } = await startServer({}));
});

after(() => {
  server?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function client(at = url) {
  return createClient(at, 'routekit-anon-key', {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

test('supabase-js drives sign-up, sign-in, MFA, refresh, updates and sign-out', async () => {
  const email = `ann-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  const supabase = client();

  // Sign up (auto-confirm: a session at once).
  const signUp = await supabase.auth.signUp({ email, password, options: { data: { name: 'Ann' } } });
  assert.equal(signUp.error, null);
  assert.equal(signUp.data.user.email, email);
  assert.ok(signUp.data.session.access_token);
  await supabase.auth.signOut({ scope: 'local' });

  // A wrong password, then the right one.
  const wrong = await supabase.auth.signInWithPassword({ email, password: 'not the password' });
  assert.equal(wrong.error.status, 400);
  assert.equal(wrong.error.code, 'invalid_credentials');
  const signIn = await supabase.auth.signInWithPassword({ email, password });
  assert.equal(signIn.error, null);
  const userId = signIn.data.user.id;

  const { data: got, error: getUserError } = await supabase.auth.getUser();
  assert.equal(getUserError, null);
  assert.equal(got.user.id, userId);
  assert.deepEqual(got.user.user_metadata, { name: 'Ann' });

  // getClaims verifies the ES256 signature locally, with the server's JWKS.
  const claims = await supabase.auth.getClaims();
  assert.equal(claims.error, null);
  assert.equal(claims.data.claims.sub, userId);
  assert.equal(claims.data.claims.aal, 'aal1');
  assert.equal(claims.data.header.alg, 'ES256');

  const before = await supabase.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(before.data.currentLevel, 'aal1');
  assert.equal(before.data.nextLevel, 'aal1');

  // Enroll a TOTP factor, then challenge and verify with a real code.
  const enroll = await supabase.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone', issuer: 'routekit' });
  assert.equal(enroll.error, null);
  assert.ok(enroll.data.totp.qr_code.startsWith('data:image/svg+xml'));
  assert.ok(enroll.data.totp.uri.startsWith('otpauth://totp/routekit:'));
  const factorId = enroll.data.id;
  const secret = enroll.data.totp.secret;

  const challenge = await supabase.auth.mfa.challenge({ factorId });
  assert.equal(challenge.error, null);
  const bad = await supabase.auth.mfa.verify({ factorId, challengeId: challenge.data.id, code: '000000' === totp(secret) ? '111111' : '000000' });
  assert.equal(bad.error.code, 'mfa_verification_failed');
  const challenge2 = await supabase.auth.mfa.challenge({ factorId });
  const verified = await supabase.auth.mfa.verify({ factorId, challengeId: challenge2.data.id, code: totp(secret) });
  assert.equal(verified.error, null);

  const afterVerify = await supabase.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(afterVerify.data.currentLevel, 'aal2');
  assert.equal(afterVerify.data.nextLevel, 'aal2');
  assert.ok(afterVerify.data.currentAuthenticationMethods.some((m) => m.method === 'totp'));
  const factors = await supabase.auth.mfa.listFactors();
  assert.equal(factors.data.totp[0].id, factorId);

  // Refresh keeps the level.
  const refreshed = await supabase.auth.refreshSession();
  assert.equal(refreshed.error, null);
  assert.notEqual(refreshed.data.session.refresh_token, verified.data.refresh_token);
  const refreshedClaims = await supabase.auth.getClaims();
  assert.equal(refreshedClaims.data.claims.aal, 'aal2');

  // Updates: metadata at aal2; a password change from a second, aal1 device is refused.
  const updated = await supabase.auth.updateUser({ data: { name: 'Bob' } });
  assert.equal(updated.error, null);
  assert.equal(updated.data.user.user_metadata.name, 'Bob');
  const phone = client();
  const second = await phone.auth.signInWithPassword({ email, password });
  assert.equal(second.error, null);
  const secondLevel = await phone.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(secondLevel.data.currentLevel, 'aal1');
  assert.equal(secondLevel.data.nextLevel, 'aal2');
  const refused = await phone.auth.updateUser({ password: 'another long passphrase' });
  assert.equal(refused.error.status, 401);
  assert.equal(refused.error.code, 'insufficient_aal');

  // Unenroll (at aal2), then sign out everywhere.
  const unenroll = await supabase.auth.mfa.unenroll({ factorId });
  assert.equal(unenroll.error, null);
  assert.equal(unenroll.data.id, factorId);
  const out = await supabase.auth.signOut();
  assert.equal(out.error, null);
  const { data: afterOut } = await supabase.auth.getSession();
  assert.equal(afterOut.session, null);
  // The other device's session ended too (global sign-out).
  const phoneUser = await phone.auth.getUser();
  assert.ok(phoneUser.error, 'the second device is signed out');
});

test('sign-up errors keep their codes', async () => {
  const supabase = client();
  const weak = await supabase.auth.signUp({ email: `weak-${Date.now()}@example.com`, password: 'short' });
  assert.equal(weak.error.code, 'weak_password');
  assert.deepEqual(weak.error.reasons, ['length']);
  const email = `dup-${Date.now()}@example.com`;
  await supabase.auth.signUp({ email, password: 'correct horse battery staple' });
  const dup = await client().auth.signUp({ email, password: 'correct horse battery staple' });
  assert.equal(dup.error.code, 'user_already_exists');
});

test('with a captcha configured, signUp and signInWithPassword send options.captchaToken', async () => {
  // A siteverify endpoint in hCaptcha's shape: tokens starting with `pass` succeed.
  const asked = [];
  const provider = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      asked.push({ secret: form.get('secret'), response: form.get('response') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: (form.get('response') ?? '').startsWith('pass') }));
    });
  });
  await new Promise((ok) => provider.listen(0, '127.0.0.1', ok));
  const verifyUrl = `http://127.0.0.1:${provider.address().port}/siteverify`;
  const guarded = await startServer({
    ROUTEKIT_CAPTCHA_PROVIDER: 'hcaptcha',
    ROUTEKIT_CAPTCHA_SECRET: '0x-js-secret',
    ROUTEKIT_CAPTCHA_VERIFY_URL: verifyUrl,
  });
  try {
    const supabase = client(guarded.url);
    const email = `cap-${Date.now()}@example.com`;
    const password = 'correct horse battery staple';

    const without = await supabase.auth.signUp({ email, password });
    assert.equal(without.error.status, 400);
    assert.equal(without.error.code, 'captcha_failed');
    const refused = await supabase.auth.signUp({ email, password, options: { captchaToken: 'nope' } });
    assert.equal(refused.error.code, 'captcha_failed');

    const signUp = await supabase.auth.signUp({ email, password, options: { captchaToken: 'pass-signup' } });
    assert.equal(signUp.error, null);
    assert.ok(signUp.data.session.access_token);
    await supabase.auth.signOut({ scope: 'local' });

    // The same token again is refused: each passes once.
    const replay = await supabase.auth.signInWithPassword({ email, password, options: { captchaToken: 'pass-signup' } });
    assert.equal(replay.error.code, 'captcha_failed');
    const signIn = await supabase.auth.signInWithPassword({ email, password, options: { captchaToken: 'pass-signin' } });
    assert.equal(signIn.error, null);
    assert.equal(signIn.data.user.email, email);

    assert.deepEqual(asked.map((a) => a.response), ['nope', 'pass-signup', 'pass-signin']);
    assert.ok(asked.every((a) => a.secret === '0x-js-secret'));
  } finally {
    guarded.child.kill('SIGTERM');
    provider.close();
  }
});

test('auth.admin.* with a service-role key manages users; nothing else opens the admin API', async () => {
  const signing = signingKey();
  // With everything logged, down to sqlx's statements.
  const operator = await startServer({ ROUTEKIT_AUTH_SIGNING_KEY: signing.env, RUST_LOG: 'debug' });
  try {
    const now = Math.floor(Date.now() / 1000);
    // Without ROUTEKIT_AUTH_SITE_URL the example's issuer is the address it listens on.
    const issuer = `${operator.url}/auth/v1`;
    const serviceKey = es256(signing.key, signing.kid, { iss: issuer, role: 'service_role', iat: now, exp: now + 600 });
    const options = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } };
    const admin = createClient(operator.url, serviceKey, options).auth.admin;
    const password = 'correct horse battery staple';

    const created = await admin.createUser({
      email: 'boss@example.com',
      password,
      email_confirm: true,
      app_metadata: { role: 'super-admin' },
      user_metadata: { name: 'Boss' },
    });
    assert.equal(created.error, null);
    const boss = created.data.user;
    assert.equal(boss.app_metadata.role, 'super-admin');
    assert.equal(boss.app_metadata.provider, 'email');
    assert.deepEqual(boss.user_metadata, { name: 'Boss' });
    assert.ok(boss.email_confirmed_at);
    const dup = await admin.createUser({ email: 'boss@example.com' });
    assert.equal(dup.error.status, 422);
    assert.equal(dup.error.code, 'email_exists');
    const second = await admin.createUser({ email: 'second@example.com', password, email_confirm: true });
    assert.equal(second.error, null);

    // listUsers reads GoTrue's Link and X-Total-Count headers.
    const page = await admin.listUsers({ page: 1, perPage: 1 });
    assert.equal(page.error, null);
    assert.equal(page.data.users.length, 1);
    assert.equal(page.data.total, 2);
    assert.equal(page.data.nextPage, 2);
    assert.equal(page.data.lastPage, 2);
    const all = await admin.listUsers();
    assert.deepEqual(all.data.users.map((u) => u.email).sort(), ['boss@example.com', 'second@example.com']);

    const got = await admin.getUserById(boss.id);
    assert.equal(got.data.user.email, 'boss@example.com');

    // The user signs in; a ban stops sign-ins, refreshes and the live session.
    const user = createClient(operator.url, 'routekit-anon-key', options);
    const signIn = await user.auth.signInWithPassword({ email: 'second@example.com', password });
    assert.equal(signIn.error, null);
    const secondId = signIn.data.user.id;
    const banned = await admin.updateUserById(secondId, { ban_duration: '24h', app_metadata: { plan: 'pro' } });
    assert.equal(banned.error, null);
    assert.ok(banned.data.user.banned_until);
    assert.equal(banned.data.user.app_metadata.plan, 'pro');
    const refused = await createClient(operator.url, 'routekit-anon-key', options)
      .auth.signInWithPassword({ email: 'second@example.com', password });
    assert.equal(refused.error.code, 'user_banned');
    const getUser = await user.auth.getUser();
    assert.equal(getUser.error.code, 'user_banned');
    const refresh = await user.auth.refreshSession();
    assert.equal(refresh.error.code, 'user_banned');

    // Lifted, with a new password; then signed out everywhere with the user's token.
    const lifted = await admin.updateUserById(secondId, { ban_duration: 'none', password: 'a brand new passphrase' });
    assert.equal(lifted.error, null);
    assert.equal(lifted.data.user.banned_until, undefined);
    const again = await user.auth.signInWithPassword({ email: 'second@example.com', password: 'a brand new passphrase' });
    assert.equal(again.error, null);
    const out = await admin.signOut(again.data.session.access_token, 'global');
    assert.equal(out.error, null);
    const dead = await user.auth.refreshSession();
    assert.equal(dead.error.code, 'refresh_token_not_found');

    const deleted = await admin.deleteUser(secondId);
    assert.equal(deleted.error, null);
    assert.equal(deleted.data.user.id, secondId);
    const gone = await admin.getUserById(secondId);
    assert.equal(gone.error.status, 404);
    assert.equal(gone.error.code, 'user_not_found');

    // Refused: the anon key, a user's access token, an expired key, a key signed by another
    // key under the same id, and the key in a cookie.
    const anon = await createClient(operator.url, 'routekit-anon-key', options).auth.admin.listUsers();
    assert.equal(anon.error.status, 403);
    assert.equal(anon.error.code, 'bad_jwt');
    const bossSession = await createClient(operator.url, 'routekit-anon-key', options)
      .auth.signInWithPassword({ email: 'boss@example.com', password });
    const asUser = await createClient(operator.url, bossSession.data.session.access_token, options).auth.admin.listUsers();
    assert.equal(asUser.error.status, 403);
    assert.equal(asUser.error.code, 'not_admin');
    const expired = es256(signing.key, signing.kid, { iss: issuer, role: 'service_role', iat: now - 7200, exp: now - 3600 });
    const late = await createClient(operator.url, expired, options).auth.admin.listUsers();
    assert.equal(late.error.code, 'bad_jwt');
    const forged = es256(signingKey().key, signing.kid, { iss: issuer, role: 'service_role', iat: now, exp: now + 600 });
    const fake = await createClient(operator.url, forged, options).auth.admin.createUser({ email: 'mallory@example.com' });
    assert.equal(fake.error.code, 'bad_jwt');
    const viaCookie = await fetch(`${operator.url}/auth/v1/admin/users`, {
      headers: { cookie: `sb-127-auth-token=${serviceKey}`, 'x-supabase-api-version': '2024-01-01' },
    });
    assert.equal(viaCookie.status, 401);
    assert.equal((await viaCookie.json()).code, 'no_authorization');
    const left = await admin.listUsers();
    assert.deepEqual(left.data.users.map((u) => u.email), ['boss@example.com'], 'no refusal created a user');

    // Neither the keys nor the passwords reached the log.
    assert.ok(operator.log.length > 10, 'the server logged its requests');
    for (const secret of [serviceKey, expired, forged, signing.env, password, 'a brand new passphrase']) {
      const leaked = operator.log.find((line) => line.includes(secret) || line.includes(secret.split('.')[2] ?? secret));
      assert.equal(leaked, undefined, `a secret in the log: ${leaked}`);
    }
  } finally {
    operator.child.kill('SIGTERM');
  }
});
