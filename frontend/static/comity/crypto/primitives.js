// WebCrypto building blocks of protocol comity/v1 (DESIGN §4): ECDH P-256,
// ECDSA P-256/SHA-256 (IEEE P1363 r‖s), HKDF-SHA-256, AES-256-GCM,
// PBKDF2-HMAC-SHA-256 and SHA-256, plus the encodings (re-exported) every
// higher layer needs. The same file runs in the browser and under Node's test
// runner: both expose `globalThis.crypto.subtle`.
//
// Sizes are checked here, once, so the protocol modules cannot pass a
// 33-byte compressed point, an 8-byte IV or a 16-byte key by mistake.

import { ComityCryptoError } from './errors.js';
import { b64uDecode, b64uEncode } from './encoding.js';

export { ComityCryptoError } from './errors.js';
export {
  b64uDecode, b64uDecodeExact, b64uEncode, bytesEqual, concatBytes, hexDecode, hexEncode,
  uint32be, utf8Decode, utf8Encode,
} from './encoding.js';
export { MAX_JSON_DEPTH, canonicalBytes, canonicalize, parseStrictJson, parseStrictJsonBytes } from './canonical.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').KeyKind} KeyKind */
/** @typedef {import('../../../types.js').PublicKeyInput} PublicKeyInput */

export const AES_KEY_BYTES = 32; // AES-256-GCM: epoch, file and wrap keys (DESIGN §4)
export const IV_BYTES = 12; // AES-GCM 96-bit random IV (DESIGN §4); the only size GCM uses without hashing the IV
export const TAG_BYTES = 16; // AES-GCM 128-bit tag, appended to ct as WebCrypto returns it (DESIGN §4)
export const POINT_BYTES = 65; // P-256 public key as uncompressed SEC1 point 04‖x‖y (DESIGN §4)
export const SCALAR_BYTES = 32; // P-256 private scalar and each coordinate
export const SIGNATURE_BYTES = 64; // ECDSA P-256 in IEEE P1363 form r‖s (DESIGN §4)
export const ECDH_BYTES = 32; // z = x-coordinate of the shared point (DESIGN §4 key package)
export const SHA256_BYTES = 32;
export const HKDF_MAX_BYTES = 255 * SHA256_BYTES; // RFC 5869: L ≤ 255·HashLen
export const PBKDF2_ITERATIONS = 600000; // wrapped private keys (DESIGN §4; OWASP 2023 figure for SHA-256)
export const PBKDF2_SALT_BYTES = 16; // DESIGN §4

const CURVE = 'P-256';
const AES_GCM_TAG_BITS = TAG_BYTES * 8;

/**
 * WebCrypto's SubtleCrypto, or a clear error where it is missing (an insecure
 * http:// origin in a browser, or a runtime without WebCrypto).
 * @returns {SubtleCrypto}
 * @throws {ComityCryptoError} code `unavailable`
 */
export function getSubtle() {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new ComityCryptoError('unavailable',
      'WebCrypto (crypto.subtle) is not available: Comity needs a secure context (https:// or localhost) ' +
      'in a current browser, or Node.js 20 or later');
  }
  return subtle;
}

/**
 * Cryptographically random bytes (IVs, epoch and file keys, salts, ids).
 * @param {number} length
 * @returns {Bytes}
 */
export function randomBytes(length) {
  getSubtle(); // same clear error where WebCrypto is missing
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/**
 * A copy of the bytes backed by a plain ArrayBuffer (WebCrypto refuses
 * SharedArrayBuffer views; the typings insist on ArrayBuffer).
 * @param {Uint8Array} bytes
 * @returns {Bytes}
 */
function own(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new ComityCryptoError('format', 'expected a Uint8Array');
  return bytes.buffer instanceof ArrayBuffer ? /** @type {Bytes} */ (bytes) : new Uint8Array(bytes);
}

/**
 * @param {Uint8Array} bytes
 * @param {number} length
 * @param {string} what
 */
function expectLength(bytes, length, what) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new ComityCryptoError('format', `${what} must be ${length} bytes`);
  }
}

// --- hashing and key derivation -----------------------------------------

/**
 * @param {Uint8Array} data
 * @returns {Promise<Bytes>} 32 bytes
 */
export async function sha256(data) {
  return new Uint8Array(await getSubtle().digest('SHA-256', own(data)));
}

/**
 * HKDF-SHA-256 (RFC 5869).
 * @param {Uint8Array} ikm
 * @param {Uint8Array} salt may be empty (then HashLen zero bytes, per RFC 5869)
 * @param {Uint8Array} info
 * @param {number} length output bytes, 1..8160
 * @returns {Promise<Bytes>}
 */
export async function hkdf(ikm, salt, info, length) {
  if (!Number.isInteger(length) || length < 1 || length > HKDF_MAX_BYTES) {
    throw new ComityCryptoError('format', `HKDF output length must be 1..${HKDF_MAX_BYTES} bytes`);
  }
  const subtle = getSubtle();
  const base = await subtle.importKey('raw', own(ikm), 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: own(salt), info: own(info) }, base, length * 8);
  return new Uint8Array(bits);
}

/**
 * PBKDF2-HMAC-SHA-256. The protocol uses PBKDF2_ITERATIONS; the count is a
 * parameter so that the primitive can be checked against standard vectors.
 * @param {Uint8Array} password
 * @param {Uint8Array} salt
 * @param {number} iterations ≥ 1
 * @param {number} length output bytes ≥ 1
 * @returns {Promise<Bytes>}
 */
export async function pbkdf2(password, salt, iterations, length) {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new ComityCryptoError('format', 'PBKDF2 iterations must be ≥ 1');
  if (!Number.isSafeInteger(length) || length < 1) throw new ComityCryptoError('format', 'PBKDF2 length must be ≥ 1');
  const subtle = getSubtle();
  const base = await subtle.importKey('raw', own(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: own(salt), iterations }, base, length * 8);
  return new Uint8Array(bits);
}

/**
 * PBKDF2-HMAC-SHA-256 straight into a non-extractable AES-256-GCM key, so a
 * passphrase-derived key never sits in JS memory (wrapped private keys, DESIGN §4).
 * @param {Uint8Array} password
 * @param {Uint8Array} salt
 * @param {number} iterations
 * @returns {Promise<CryptoKey>}
 */
export async function pbkdf2AesKey(password, salt, iterations) {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new ComityCryptoError('format', 'PBKDF2 iterations must be ≥ 1');
  const subtle = getSubtle();
  const base = await subtle.importKey('raw', own(password), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: own(salt), iterations }, base,
    { name: 'AES-GCM', length: AES_KEY_BYTES * 8 }, false, ['encrypt', 'decrypt'],
  );
}

// --- AES-256-GCM ----------------------------------------------------------

/**
 * Import a 32-byte AES-256-GCM key, non-extractable by default.
 * @param {Uint8Array} raw
 * @param {boolean} [extractable=false]
 * @returns {Promise<CryptoKey>}
 */
export async function importAesKey(raw, extractable = false) {
  expectLength(raw, AES_KEY_BYTES, 'AES-256 key');
  return getSubtle().importKey('raw', own(raw), { name: 'AES-GCM' }, extractable, ['encrypt', 'decrypt']);
}

/**
 * @param {CryptoKey | Uint8Array} key
 * @returns {Promise<CryptoKey>}
 */
async function asAesKey(key) {
  if (key instanceof Uint8Array) return importAesKey(key);
  const algorithm = /** @type {Partial<AesKeyAlgorithm>} */ (key?.algorithm ?? {});
  if (algorithm.name !== 'AES-GCM' || algorithm.length !== AES_KEY_BYTES * 8) {
    throw new ComityCryptoError('key', 'expected an AES-256-GCM key');
  }
  return key;
}

/**
 * AES-256-GCM encrypt with a 12-byte IV and a 16-byte tag.
 * @param {CryptoKey | Uint8Array} key CryptoKey or 32 raw bytes
 * @param {Uint8Array} iv 12 bytes, fresh for every encryption under the key
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} aad additional authenticated data (headers bound to the ct)
 * @returns {Promise<Bytes>} ciphertext ‖ tag
 */
export async function aesGcmEncrypt(key, iv, plaintext, aad) {
  expectLength(iv, IV_BYTES, 'AES-GCM IV');
  const params = { name: 'AES-GCM', iv: own(iv), additionalData: own(aad), tagLength: AES_GCM_TAG_BITS };
  return new Uint8Array(await getSubtle().encrypt(params, await asAesKey(key), own(plaintext)));
}

/**
 * AES-256-GCM decrypt and authenticate.
 * @param {CryptoKey | Uint8Array} key
 * @param {Uint8Array} iv 12 bytes
 * @param {Uint8Array} ciphertext ciphertext ‖ 16-byte tag
 * @param {Uint8Array} aad
 * @returns {Promise<Bytes>} plaintext
 * @throws {ComityCryptoError} code `auth` when the tag does not verify
 */
export async function aesGcmDecrypt(key, iv, ciphertext, aad) {
  expectLength(iv, IV_BYTES, 'AES-GCM IV');
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < TAG_BYTES) {
    throw new ComityCryptoError('format', 'AES-GCM ciphertext is shorter than its tag');
  }
  const aesKey = await asAesKey(key);
  const params = { name: 'AES-GCM', iv: own(iv), additionalData: own(aad), tagLength: AES_GCM_TAG_BITS };
  try {
    return new Uint8Array(await getSubtle().decrypt(params, aesKey, own(ciphertext)));
  } catch {
    throw new ComityCryptoError('auth', 'AES-GCM authentication failed: wrong key, or the ciphertext, IV or AAD was altered');
  }
}

// --- P-256 keys -------------------------------------------------------------

/**
 * @param {KeyKind} kind
 * @returns {EcKeyImportParams}
 */
function ecParams(kind) {
  if (kind === 'ecdh') return { name: 'ECDH', namedCurve: CURVE };
  if (kind === 'ecdsa') return { name: 'ECDSA', namedCurve: CURVE };
  throw new ComityCryptoError('key', `unknown key kind ${String(kind)}`);
}

/**
 * @param {KeyKind} kind
 * @returns {KeyUsage[]}
 */
function privateUsages(kind) {
  return kind === 'ecdh' ? ['deriveBits'] : ['sign'];
}

/**
 * Generate a P-256 key pair. The private key is non-extractable unless the
 * protocol needs to wrap it (identity, backup and records keys, DESIGN §4).
 * @param {KeyKind} kind
 * @param {boolean} [extractable=false]
 * @returns {Promise<CryptoKeyPair>}
 */
export async function generateKeyPair(kind, extractable = false) {
  const usages = kind === 'ecdh' ? ['deriveBits'] : ['sign', 'verify'];
  return /** @type {CryptoKeyPair} */ (await getSubtle().generateKey(ecParams(kind), extractable, /** @type {KeyUsage[]} */ (usages)));
}

/**
 * Import a public key from its 65-byte uncompressed SEC1 point. Compressed
 * (33-byte) points are refused: the protocol fixes one encoding, and WebCrypto
 * would otherwise accept both. Off-curve points are refused by WebCrypto.
 * @param {KeyKind} kind
 * @param {Uint8Array} raw
 * @returns {Promise<CryptoKey>}
 * @throws {ComityCryptoError} code `key`
 */
export async function importPublicKey(kind, raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== POINT_BYTES || raw[0] !== 0x04) {
    throw new ComityCryptoError('key', `public key must be a ${POINT_BYTES}-byte uncompressed P-256 point`);
  }
  try {
    return await getSubtle().importKey('raw', own(raw), ecParams(kind), true, kind === 'ecdsa' ? ['verify'] : []);
  } catch {
    throw new ComityCryptoError('key', 'public key is not a valid P-256 point');
  }
}

/**
 * Accept a public key as CryptoKey, raw point or base64url point.
 * @param {KeyKind} kind
 * @param {PublicKeyInput} key
 * @returns {Promise<CryptoKey>}
 */
export async function asPublicKey(kind, key) {
  if (typeof key === 'string') return importPublicKey(kind, b64uDecode(key));
  if (key instanceof Uint8Array) return importPublicKey(kind, key);
  if (key?.type !== 'public' || key.algorithm.name !== ecParams(kind).name) {
    throw new ComityCryptoError('key', `expected a ${kind.toUpperCase()} public key`);
  }
  return key;
}

/**
 * Export a public key as its 65-byte uncompressed point.
 * @param {CryptoKey} publicKey
 * @returns {Promise<Bytes>}
 */
export async function exportPublicKey(publicKey) {
  return new Uint8Array(await getSubtle().exportKey('raw', publicKey));
}

/**
 * Export a public key as base64url of its uncompressed point (the wire form).
 * @param {PublicKeyInput} publicKey
 * @returns {Promise<string>}
 */
export async function publicKeyB64u(publicKey) {
  if (typeof publicKey === 'string') return publicKey;
  if (publicKey instanceof Uint8Array) return b64uEncode(publicKey);
  return b64uEncode(await exportPublicKey(publicKey));
}

/**
 * Import a private key from its scalar and public point (via JWK: WebCrypto
 * cannot compute the public point itself). For test vectors and interop.
 * @param {KeyKind} kind
 * @param {Uint8Array} scalar big-endian d, at most 32 bytes (left-padded)
 * @param {Uint8Array} publicRaw the matching 65-byte uncompressed point
 * @param {boolean} [extractable=false]
 * @returns {Promise<CryptoKey>}
 */
export async function importPrivateKeyScalar(kind, scalar, publicRaw, extractable = false) {
  if (!(scalar instanceof Uint8Array) || scalar.length > SCALAR_BYTES) throw new ComityCryptoError('key', 'scalar too long');
  if (!(publicRaw instanceof Uint8Array) || publicRaw.length !== POINT_BYTES || publicRaw[0] !== 0x04) {
    throw new ComityCryptoError('key', `public key must be a ${POINT_BYTES}-byte uncompressed P-256 point`);
  }
  const d = new Uint8Array(SCALAR_BYTES);
  d.set(scalar, SCALAR_BYTES - scalar.length);
  /** @type {JsonWebKey} */
  const jwk = {
    kty: 'EC', crv: CURVE, ext: extractable,
    d: b64uEncode(d), x: b64uEncode(publicRaw.subarray(1, 33)), y: b64uEncode(publicRaw.subarray(33)),
  };
  try {
    return await getSubtle().importKey('jwk', jwk, ecParams(kind), extractable, privateUsages(kind));
  } catch {
    throw new ComityCryptoError('key', 'private scalar and public point do not form a P-256 key');
  }
}

/**
 * Import a PKCS#8 DER private key (the content of a wrapped private key).
 * @param {KeyKind} kind
 * @param {Uint8Array} der
 * @param {boolean} [extractable=false]
 * @returns {Promise<CryptoKey>}
 */
export async function importPkcs8(kind, der, extractable = false) {
  try {
    return await getSubtle().importKey('pkcs8', own(der), ecParams(kind), extractable, privateUsages(kind));
  } catch {
    throw new ComityCryptoError('key', 'not a P-256 PKCS#8 private key');
  }
}

/**
 * Export an extractable private key as PKCS#8 DER (only to wrap it at once).
 * @param {CryptoKey} privateKey
 * @returns {Promise<Bytes>}
 */
export async function exportPkcs8(privateKey) {
  return new Uint8Array(await getSubtle().exportKey('pkcs8', privateKey));
}

// --- ECDSA and ECDH ---------------------------------------------------------

/**
 * ECDSA P-256 / SHA-256 signature in P1363 form (WebCrypto's native r‖s).
 * @param {CryptoKey} privateKey
 * @param {Uint8Array} data
 * @returns {Promise<Bytes>} 64 bytes
 */
export async function sign(privateKey, data) {
  return new Uint8Array(await getSubtle().sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, own(data)));
}

/**
 * Verify an ECDSA P-256 / SHA-256 P1363 signature. Never throws for a bad
 * signature: any malformed one (wrong length included) is simply false.
 * @param {CryptoKey} publicKey
 * @param {Uint8Array} signature
 * @param {Uint8Array} data
 * @returns {Promise<boolean>}
 */
export async function verify(publicKey, signature, data) {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return await getSubtle().verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, own(signature), own(data));
  } catch {
    return false;
  }
}

/**
 * ECDH P-256: the 32-byte x-coordinate of the shared point.
 * @param {CryptoKey} privateKey
 * @param {CryptoKey} publicKey
 * @returns {Promise<Bytes>}
 */
export async function ecdh(privateKey, publicKey) {
  const bits = await getSubtle().deriveBits({ name: 'ECDH', public: publicKey }, privateKey, ECDH_BYTES * 8);
  return new Uint8Array(bits);
}
