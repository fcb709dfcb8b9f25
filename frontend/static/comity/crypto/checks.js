// Shape checks for protocol objects (DESIGN §9: bad input gets a clear error
// and changes nothing). Internal to the crypto layer; not re-exported by the
// facade. Each throws ComityCryptoError with code `format`.

import { ComityCryptoError } from './errors.js';

/**
 * Check that `value` is a plain object with exactly the given keys: protocol
 * v1 objects have a fixed set of fields, and an unknown one is refused rather
 * than carried along unverified.
 * @param {unknown} value
 * @param {readonly string[]} keys
 * @param {string} what
 * @returns {Record<string, unknown>}
 */
export function expectFields(value, keys, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ComityCryptoError('format', `${what} must be an object`);
  }
  const record = /** @type {Record<string, unknown>} */ (value);
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) throw new ComityCryptoError('format', `${what} has an unknown field ${JSON.stringify(key)}`);
  }
  for (const key of keys) {
    if (!Object.hasOwn(record, key)) throw new ComityCryptoError('format', `${what} lacks the field ${JSON.stringify(key)}`);
  }
  return record;
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {string}
 */
export function expectString(value, what) {
  if (typeof value !== 'string' || value.length === 0) throw new ComityCryptoError('format', `${what} must be a non-empty string`);
  return value;
}

/**
 * `seq` and `epoch` are integers from 1 (DESIGN §4).
 * @param {unknown} value
 * @param {string} what
 * @returns {number}
 */
export function expectCounter(value, what) {
  if (!Number.isSafeInteger(value) || /** @type {number} */ (value) < 1) {
    throw new ComityCryptoError('format', `${what} must be an integer ≥ 1`);
  }
  return /** @type {number} */ (value);
}

/**
 * @template {string} T
 * @param {unknown} value
 * @param {readonly T[]} allowed
 * @param {string} what
 * @returns {T}
 */
export function expectOneOf(value, allowed, what) {
  if (!allowed.includes(/** @type {T} */ (value))) {
    throw new ComityCryptoError('format', `${what} must be one of ${allowed.join(', ')}`);
  }
  return /** @type {T} */ (value);
}

/**
 * @param {unknown} value
 * @param {string} what
 */
export function expectVersion1(value, what) {
  if (value !== 1) throw new ComityCryptoError('format', `${what}: unsupported version (expected v 1)`);
}
