// Shared helpers for the Node tests (not a test file: node --test only runs
// *.test.js here). Test data lives outside the repo in shared/testdata; set
// COMITY_TESTDATA to point elsewhere.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { ComityCryptoError } from '../static/comity/crypto/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** frontend/tests → ../../../shared/testdata */
export const TESTDATA = process.env.COMITY_TESTDATA || resolve(HERE, '../../../shared/testdata');

/**
 * @param {string} relativePath path under the testdata directory
 * @returns {any}
 */
export function loadJson(relativePath) {
  return JSON.parse(readFileSync(resolve(TESTDATA, relativePath), 'utf8'));
}

/**
 * Assert that a promise rejects with a ComityCryptoError of the given code.
 * @param {Promise<unknown> | (() => unknown)} action
 * @param {string} code
 * @param {RegExp} [message]
 */
export async function rejectsWithCode(action, code, message) {
  await assert.rejects(
    async () => (typeof action === 'function' ? action() : action),
    (err) => {
      assert.ok(err instanceof ComityCryptoError, `expected ComityCryptoError, got ${String(err)}`);
      assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

/**
 * Copy of `bytes` with one bit flipped at `index`.
 * @param {Uint8Array} bytes
 * @param {number} index
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function flipBit(bytes, index) {
  const out = new Uint8Array(bytes);
  out[index] ^= 0x01;
  return out;
}

/**
 * The bytes i % 251 for i in range(length) (the vectors' file plaintext).
 * @param {number} length
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function patternBytes(length) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}
