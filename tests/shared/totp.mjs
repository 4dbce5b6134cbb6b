// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), shared by the Node test projects.

import { createHmac } from 'node:crypto';

/** The code for a base32 secret, `ahead` time steps from now. */
export function totp(base32, ahead = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + ahead));
  const hash = createHmac('sha1', key).update(counter).digest();
  const offset = hash[19] & 0xf;
  return ((hash.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}
