// Safety numbers (DESIGN §4): what two users compare out of band or by QR
// code to know they hold each other's real identity keys.
//
//   f       = SHA-256(UTF-8("comity/v1/fp") ‖ raw identity public key)
//   digits  = 6 groups; group i = big-endian integer of f[5i:5i+5] mod 100000, 5 digits
//   number  = the two 30-digit strings, lower first (string order)
//
// Five bytes (40 bits) fit exactly in a JS number, so no BigInt is needed.

import { asPublicKey, concatBytes, exportPublicKey, sha256, utf8Encode } from './primitives.js';

/** @typedef {import('../../../types.js').PublicKeyInput} PublicKeyInput */

export const FINGERPRINT_PREFIX = 'comity/v1/fp'; // DESIGN §4
const GROUPS = 6;
const GROUP_BYTES = 5;
const GROUP_MODULUS = 100000;

/**
 * The 30 digits of one identity key.
 * @param {PublicKeyInput} identityPublicKey raw point, base64url or CryptoKey (ECDSA)
 * @returns {Promise<string>}
 */
export async function fingerprintDigits(identityPublicKey) {
  const raw = await exportPublicKey(await asPublicKey('ecdsa', identityPublicKey));
  const f = await sha256(concatBytes(utf8Encode(FINGERPRINT_PREFIX), raw));
  let digits = '';
  for (let i = 0; i < GROUPS; i++) {
    let n = 0;
    for (const byte of f.subarray(GROUP_BYTES * i, GROUP_BYTES * (i + 1))) n = n * 256 + byte;
    digits += String(n % GROUP_MODULUS).padStart(5, '0');
  }
  return digits;
}

/**
 * The 60-digit safety number of two users: both halves, lower first, so both
 * sides compute the same string.
 * @param {PublicKeyInput} identityA
 * @param {PublicKeyInput} identityB
 * @returns {Promise<string>}
 */
export async function safetyNumber(identityA, identityB) {
  const a = await fingerprintDigits(identityA);
  const b = await fingerprintDigits(identityB);
  return a < b ? a + b : b + a;
}
