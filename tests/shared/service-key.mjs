// Service-role keys for the Node tests: a P-256 signing key to start the server with
// (ROUTEKIT_AUTH_SIGNING_KEY), and ES256 JWTs signed with it, as an operator mints them.

import { createECDH, createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';

/// A P-256 signing key as ROUTEKIT_AUTH_SIGNING_KEY takes it (the private scalar in
/// base64url), the key id the server gives it, and the key for Node's signer.
export function signingKey() {
  const d = randomBytes(32);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  const key = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const kid = `config-${createHash('sha256').update(point).digest().subarray(0, 12).toString('base64url')}`;
  return { env: d.toString('base64url'), kid, key };
}

/// An ES256 JWT, as an operator mints a service-role key from the configured signing key.
export function es256(key, kid, claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'ES256', kid, typ: 'JWT' })}.${part(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/// A service-role key for the server whose issuer is `issuer`, good for ten minutes.
export function serviceRoleKey(signing, issuer) {
  const now = Math.floor(Date.now() / 1000);
  return es256(signing.key, signing.kid, { iss: issuer, role: 'service_role', iat: now, exp: now + 600 });
}
