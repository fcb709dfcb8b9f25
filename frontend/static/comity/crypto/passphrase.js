// Private keys wrapped under a passphrase (DESIGN §4 "Wrapped private keys").
//
//   kek     = PBKDF2-HMAC-SHA-256(UTF-8(passphrase), salt: 16 bytes, iter: 600000) → AES-256-GCM key
//   ct      = AES-256-GCM(kek, iv, PKCS#8 DER of the private key,
//                         aad=canonical({"owner":U or authority,"purpose":P}))
//   wrapped = {"kdf":"PBKDF2-SHA256","iter":600000,"salt":…,"iv":…,"ct":…}
//
// The AAD binds a wrap to its owner and purpose: the server cannot hand a
// user someone else's wrap, or the backup wrap in place of the identity wrap.
// Identity keys sign (ECDSA); backup and records keys receive wraps (ECDH).
// The passphrase is UTF-8 encoded as typed, without Unicode normalisation
// (the Python client must do the same).

import { ComityCryptoError } from './errors.js';
import {
  IV_BYTES, PBKDF2_ITERATIONS, PBKDF2_SALT_BYTES, TAG_BYTES, aesGcmDecrypt, aesGcmEncrypt, b64uDecode,
  b64uDecodeExact, b64uEncode, canonicalBytes, exportPkcs8, exportPublicKey, generateKeyPair, importPkcs8,
  pbkdf2AesKey, randomBytes, utf8Encode,
} from './primitives.js';
import { expectFields, expectOneOf, expectString } from './checks.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').KeyKind} KeyKind */
/** @typedef {import('../../../types.js').WrapPurpose} WrapPurpose */
/** @typedef {import('../../../types.js').WrappedKey} WrappedKey */
/** @typedef {import('../../../types.js').WrappedKeyPair} WrappedKeyPair */

export const WRAP_KDF = 'PBKDF2-SHA256';
// Upper bound on a received iteration count: higher values are allowed for
// the future, but a hostile server must not be able to freeze the tab.
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
const PURPOSES = /** @type {const} */ (['identity', 'backup', 'records']);

/**
 * Which key family a purpose uses (DESIGN §4 "Keys").
 * @param {WrapPurpose} purpose
 * @returns {KeyKind}
 */
export function purposeKeyKind(purpose) {
  return expectOneOf(purpose, PURPOSES, 'purpose') === 'identity' ? 'ecdsa' : 'ecdh';
}

/**
 * AAD of a wrapped private key: canonical({"owner":…,"purpose":…}).
 * @param {string} owner user id, or authority code for a records key
 * @param {WrapPurpose} purpose
 * @returns {Bytes}
 */
export function wrappedKeyAad(owner, purpose) {
  return canonicalBytes({ owner: expectString(owner, 'owner'), purpose: expectOneOf(purpose, PURPOSES, 'purpose') });
}

/**
 * @param {string} passphrase
 * @returns {Bytes}
 */
function passphraseBytes(passphrase) {
  return utf8Encode(expectString(passphrase, 'passphrase'));
}

/**
 * Wrap an (extractable) private key under a passphrase.
 * @param {CryptoKey} privateKey
 * @param {string} passphrase
 * @param {string} owner
 * @param {WrapPurpose} purpose
 * @returns {Promise<WrappedKey>}
 */
export async function wrapPrivateKey(privateKey, passphrase, owner, purpose) {
  const kind = purposeKeyKind(purpose);
  if (privateKey.type !== 'private' || privateKey.algorithm.name !== kind.toUpperCase()) {
    throw new ComityCryptoError('key', `a ${purpose} key must be an ${kind.toUpperCase()} private key`);
  }
  const salt = randomBytes(PBKDF2_SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const kek = await pbkdf2AesKey(passphraseBytes(passphrase), salt, PBKDF2_ITERATIONS);
  const der = await exportPkcs8(privateKey);
  try {
    const ct = await aesGcmEncrypt(kek, iv, der, wrappedKeyAad(owner, purpose));
    return { kdf: WRAP_KDF, iter: PBKDF2_ITERATIONS, salt: b64uEncode(salt), iv: b64uEncode(iv), ct: b64uEncode(ct) };
  } finally {
    der.fill(0); // best effort: do not leave the clear PKCS#8 in memory
  }
}

/**
 * Unwrap a private key. Non-extractable unless `extractable` is asked for
 * (only to re-wrap under a new passphrase).
 * @param {unknown} wrapped
 * @param {string} passphrase
 * @param {string} owner
 * @param {WrapPurpose} purpose
 * @param {{extractable?: boolean}} [options]
 * @returns {Promise<CryptoKey>}
 * @throws {ComityCryptoError} `auth` for a wrong passphrase, owner or purpose
 */
export async function unwrapPrivateKey(wrapped, passphrase, owner, purpose, options = {}) {
  const w = expectFields(wrapped, ['kdf', 'iter', 'salt', 'iv', 'ct'], 'wrapped key');
  if (w.kdf !== WRAP_KDF) throw new ComityCryptoError('format', `wrapped key kdf must be ${WRAP_KDF}`);
  const iter = w.iter;
  if (!Number.isSafeInteger(iter) || /** @type {number} */ (iter) < PBKDF2_ITERATIONS ||
      /** @type {number} */ (iter) > MAX_PBKDF2_ITERATIONS) {
    throw new ComityCryptoError('format', `wrapped key iter must be ${PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS}`);
  }
  const salt = b64uDecodeExact(w.salt, PBKDF2_SALT_BYTES, 'wrapped key salt');
  const iv = b64uDecodeExact(w.iv, IV_BYTES, 'wrapped key iv');
  if (typeof w.ct !== 'string') throw new ComityCryptoError('format', 'wrapped key ct must be a string');
  const ct = b64uDecode(w.ct);
  if (ct.length <= TAG_BYTES) throw new ComityCryptoError('format', 'wrapped key ct is too short');
  const kind = purposeKeyKind(purpose);
  const kek = await pbkdf2AesKey(passphraseBytes(passphrase), salt, /** @type {number} */ (iter));
  let der;
  try {
    der = await aesGcmDecrypt(kek, iv, ct, wrappedKeyAad(owner, purpose));
  } catch (err) {
    if (err instanceof ComityCryptoError && err.code === 'auth') {
      throw new ComityCryptoError('auth', 'wrong passphrase, or the wrapped key is not this owner\'s key for this purpose');
    }
    throw err;
  }
  try {
    return await importPkcs8(kind, der, options.extractable ?? false);
  } finally {
    der.fill(0);
  }
}

/**
 * Make a key pair whose private key exists only wrapped and non-extractable
 * (DESIGN §4 "Identity key"): generated extractable, wrapped at once, then
 * re-imported non-extractable from the wrap; the extractable original is
 * dropped.
 * @param {string} passphrase
 * @param {string} owner
 * @param {WrapPurpose} purpose
 * @returns {Promise<WrappedKeyPair>}
 */
export async function createWrappedKeyPair(passphrase, owner, purpose) {
  const pair = await generateKeyPair(purposeKeyKind(purpose), true);
  const wrapped = await wrapPrivateKey(pair.privateKey, passphrase, owner, purpose);
  const privateKey = await unwrapPrivateKey(wrapped, passphrase, owner, purpose);
  return { publicKey: await exportPublicKey(pair.publicKey), privateKey, wrapped };
}

/**
 * Re-wrap a private key under a new passphrase (e.g. a new records passphrase).
 * @param {unknown} wrapped
 * @param {string} oldPassphrase
 * @param {string} newPassphrase
 * @param {string} owner
 * @param {WrapPurpose} purpose
 * @returns {Promise<WrappedKey>}
 */
export async function changePassphrase(wrapped, oldPassphrase, newPassphrase, owner, purpose) {
  const key = await unwrapPrivateKey(wrapped, oldPassphrase, owner, purpose, { extractable: true });
  return wrapPrivateKey(key, newPassphrase, owner, purpose);
}
