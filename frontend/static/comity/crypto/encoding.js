// Byte encodings of protocol comity/v1 (DESIGN §4): binary values travel as
// base64url without padding; text is UTF-8. Decoders are strict so that one
// value has exactly one encoding — anything signed or hashed must not have
// alternative spellings that a server could swap in.

import { ComityCryptoError } from './errors.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Reverse lookup: char code → 6-bit value, or -1 for characters outside the alphabet. */
const B64U_VALUES = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64U_ALPHABET.length; i++) table[B64U_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Encode bytes as base64url without padding (RFC 4648 §5, DESIGN §4).
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function b64uEncode(bytes) {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64U_ALPHABET[n >> 18] + B64U_ALPHABET[(n >> 12) & 63] +
      B64U_ALPHABET[(n >> 6) & 63] + B64U_ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64U_ALPHABET[n >> 18] + B64U_ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64U_ALPHABET[n >> 18] + B64U_ALPHABET[(n >> 12) & 63] + B64U_ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/**
 * Decode base64url without padding, strictly: no `=`, no characters outside
 * the URL-safe alphabet (so no `+`, `/` or white space), no impossible length,
 * and the unused low bits of the last character must be zero (otherwise
 * several strings would decode to the same bytes).
 * @param {string} text
 * @returns {Bytes}
 * @throws {ComityCryptoError} code `encoding`
 */
export function b64uDecode(text) {
  if (typeof text !== 'string') throw new ComityCryptoError('encoding', 'base64url value must be a string');
  if (text.length % 4 === 1) throw new ComityCryptoError('encoding', 'base64url value has an impossible length');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64U_VALUES[c] : -1;
    if (v < 0) throw new ComityCryptoError('encoding', `base64url value has a character outside the alphabet at ${i}`);
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) {
    throw new ComityCryptoError('encoding', 'base64url value is not canonical (non-zero trailing bits)');
  }
  return out;
}

/**
 * Decode a base64url field and check its length; `what` names the field in the error.
 * @param {unknown} text
 * @param {number} length expected byte length
 * @param {string} what
 * @returns {Bytes}
 */
export function b64uDecodeExact(text, length, what) {
  if (typeof text !== 'string') throw new ComityCryptoError('format', `${what} must be a base64url string`);
  const bytes = b64uDecode(text);
  if (bytes.length !== length) {
    throw new ComityCryptoError('format', `${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/**
 * Lowercase hex (used by test vectors and for debugging non-secret values).
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function hexEncode(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * @param {string} text even-length hex, either case
 * @returns {Bytes}
 */
export function hexDecode(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new ComityCryptoError('encoding', 'bad hex string');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const UTF8_ENCODER = new TextEncoder();
// fatal: invalid UTF-8 is an error, never silently replaced by U+FFFD;
// ignoreBOM: a leading BOM is kept as a character (and then refused by the
// JSON parser) instead of being dropped silently.
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * UTF-8 encode. Lone surrogates are refused: TextEncoder would turn them
 * into U+FFFD, so two different strings would sign the same bytes.
 * @param {string} text
 * @returns {Bytes}
 */
export function utf8Encode(text) {
  if (hasLoneSurrogate(text)) throw new ComityCryptoError('encoding', 'string contains a lone surrogate');
  return UTF8_ENCODER.encode(text);
}

/**
 * Strict UTF-8 decode.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function utf8Decode(bytes) {
  try {
    return UTF8_DECODER.decode(bytes);
  } catch {
    throw new ComityCryptoError('encoding', 'invalid UTF-8');
  }
}

/**
 * True if the string holds an unpaired UTF-16 surrogate. With the `u` flag a
 * regular expression walks code points, so a surrogate class only matches
 * unpaired halves.
 * @param {string} text
 * @returns {boolean}
 */
export function hasLoneSurrogate(text) {
  return /[\uD800-\uDFFF]/u.test(text);
}

/**
 * Concatenate byte arrays.
 * @param {...Uint8Array} parts
 * @returns {Bytes}
 */
export function concatBytes(...parts) {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Byte equality. Used on public values (hashes, ids); secrets are compared by
 * AES-GCM / ECDSA inside WebCrypto, never here.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * 4-byte big-endian unsigned integer (file chunk index, DESIGN §4).
 * @param {number} n 0 ≤ n < 2^32
 * @returns {Bytes}
 */
export function uint32be(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('uint32 out of range');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}
