// File encryption (DESIGN §4 "Files"): a fresh AES-256-GCM key per file, the
// plaintext cut into 1 MiB chunks (an empty file is one empty chunk), one
// random 8-byte prefix per file.
//
//   blob     = chunk_0 ‖ chunk_1 ‖ … ‖ chunk_{n-1}
//   chunk_i  = IV_i (12) ‖ AES-GCM(file_key, IV_i, plain_i, AAD_i)   (|plain_i| + 16)
//   IV_i     = prefix (8) ‖ i (4 bytes big-endian)
//   AAD_i    = i (4 bytes big-endian) ‖ last (1 byte: 1 on chunk n-1, else 0)
//   sha256   = SHA-256(blob)
//
// The index in IV and AAD stops reordering; the last-chunk flag stops
// truncation at a chunk boundary and extension; the prefix keeps IVs unique
// even if a key were ever reused. Every chunk but the last holds exactly
// 1 MiB, so chunk boundaries follow from the blob length alone.

import { ComityCryptoError } from './errors.js';
import {
  AES_KEY_BYTES, IV_BYTES, TAG_BYTES, aesGcmDecrypt, aesGcmEncrypt, b64uDecode, b64uEncode, bytesEqual,
  concatBytes, importAesKey, randomBytes, sha256, uint32be,
} from './primitives.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').EncryptedFile} EncryptedFile */
/** @typedef {import('../../../types.js').ProgressCallback} ProgressCallback */

export const FILE_CHUNK_BYTES = 1024 * 1024; // 1 MiB plaintext per chunk (DESIGN §4)
export const FILE_PREFIX_BYTES = 8; // random per-file IV prefix (DESIGN §4)
export const FILE_CHUNK_OVERHEAD = IV_BYTES + TAG_BYTES; // 28 bytes stored per chunk
const STORED_CHUNK_BYTES = FILE_CHUNK_BYTES + FILE_CHUNK_OVERHEAD;
const MAX_CHUNKS = 2 ** 32; // the index is 4 bytes

/**
 * IV of chunk i: prefix ‖ i (4 bytes big-endian).
 * @param {Uint8Array} prefix 8 bytes
 * @param {number} index
 * @returns {Bytes}
 */
export function fileChunkIv(prefix, index) {
  return concatBytes(prefix, uint32be(index));
}

/**
 * AAD of chunk i: i (4 bytes big-endian) ‖ 1 on the last chunk, else 0.
 * @param {number} index
 * @param {boolean} last
 * @returns {Bytes}
 */
export function fileChunkAad(index, last) {
  return concatBytes(uint32be(index), Uint8Array.of(last ? 1 : 0));
}

/**
 * Number of chunks for a plaintext size (at least one: an empty file is one empty chunk).
 * @param {number} size
 * @returns {number}
 */
function chunkCount(size) {
  return Math.max(1, Math.ceil(size / FILE_CHUNK_BYTES));
}

/**
 * Read plaintext bytes [start, end) from an array or a Blob/File (read one
 * chunk at a time, so a File is never loaded twice).
 * @param {Uint8Array | Blob} data
 * @param {number} start
 * @param {number} end
 * @returns {Promise<Uint8Array>}
 */
async function readRange(data, start, end) {
  if (data instanceof Uint8Array) return data.subarray(start, end);
  return new Uint8Array(await data.slice(start, end).arrayBuffer());
}

/**
 * Encrypt a file for upload.
 * @param {Uint8Array | Blob} data the plaintext (a File from an <input> is a Blob)
 * @param {{key?: Uint8Array, prefix?: Uint8Array, onProgress?: ProgressCallback}} [options]
 *   `key` and `prefix` only to reproduce test vectors (normally fresh random);
 *   `onProgress(doneBytes, totalBytes)` after each chunk, in plaintext bytes
 * @returns {Promise<EncryptedFile>} the blob, its key and SHA-256 (base64url), the plaintext size
 */
export async function encryptFile(data, options = {}) {
  const isBytes = data instanceof Uint8Array;
  if (!isBytes && !(typeof Blob !== 'undefined' && data instanceof Blob)) {
    throw new ComityCryptoError('format', 'file data must be a Uint8Array or a Blob');
  }
  const size = isBytes ? data.length : data.size;
  const keyBytes = options.key ?? randomBytes(AES_KEY_BYTES);
  const prefix = options.prefix ?? randomBytes(FILE_PREFIX_BYTES);
  if (prefix.length !== FILE_PREFIX_BYTES) throw new ComityCryptoError('format', `file IV prefix must be ${FILE_PREFIX_BYTES} bytes`);
  const key = await importAesKey(keyBytes);
  const n = chunkCount(size);
  if (n > MAX_CHUNKS) throw new ComityCryptoError('format', 'file too large');
  const blob = new Uint8Array(size + n * FILE_CHUNK_OVERHEAD);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const start = i * FILE_CHUNK_BYTES;
    const end = Math.min(size, start + FILE_CHUNK_BYTES);
    const iv = fileChunkIv(prefix, i);
    const ct = await aesGcmEncrypt(key, iv, await readRange(data, start, end), fileChunkAad(i, i === n - 1));
    blob.set(iv, offset);
    blob.set(ct, offset + IV_BYTES);
    offset += IV_BYTES + ct.length;
    options.onProgress?.(end, size);
  }
  return { blob, key: b64uEncode(keyBytes), sha256: b64uEncode(await sha256(blob)), size };
}

/**
 * Decrypt a downloaded blob. Refuses a blob whose chunks were altered,
 * truncated, reordered or extended, and (if `sha256` is given) one whose hash
 * differs from the payload's.
 * @param {Uint8Array} blob
 * @param {Uint8Array | string} key 32 bytes, or base64url as in the payload
 * @param {{sha256?: string, onProgress?: ProgressCallback}} [options]
 *   `sha256`: the payload's base64url hash of the blob, checked first;
 *   `onProgress(doneBytes, totalBytes)` after each chunk, in plaintext bytes
 * @returns {Promise<Bytes>} the plaintext
 * @throws {ComityCryptoError} `integrity`, `format`, `auth`
 */
export async function decryptFile(blob, key, options = {}) {
  if (!(blob instanceof Uint8Array)) throw new ComityCryptoError('format', 'blob must be a Uint8Array');
  if (options.sha256 !== undefined) {
    const actual = await sha256(blob);
    if (!bytesEqual(actual, b64uDecode(options.sha256))) {
      throw new ComityCryptoError('integrity', 'file blob SHA-256 does not match the message');
    }
  }
  const keyBytes = typeof key === 'string' ? b64uDecode(key) : key;
  const aesKey = await importAesKey(keyBytes);
  const n = Math.max(1, Math.ceil(blob.length / STORED_CHUNK_BYTES));
  const lastStored = blob.length - (n - 1) * STORED_CHUNK_BYTES;
  if (lastStored < FILE_CHUNK_OVERHEAD) {
    throw new ComityCryptoError('format', 'file blob is truncated (shorter than a chunk header and tag)');
  }
  const total = blob.length - n * FILE_CHUNK_OVERHEAD;
  const plain = new Uint8Array(total);
  const prefix = blob.subarray(0, FILE_PREFIX_BYTES);
  let done = 0;
  for (let i = 0; i < n; i++) {
    const start = i * STORED_CHUNK_BYTES;
    const chunk = blob.subarray(start, Math.min(blob.length, start + STORED_CHUNK_BYTES));
    const iv = chunk.subarray(0, IV_BYTES);
    // The stored IV must be the one this position implies; a chunk moved from
    // elsewhere in the file is named here rather than as a bare auth failure.
    if (!bytesEqual(iv, fileChunkIv(prefix, i))) {
      throw new ComityCryptoError('auth', `file chunk ${i} is out of place (reordered or spliced)`);
    }
    let part;
    try {
      part = await aesGcmDecrypt(aesKey, iv, chunk.subarray(IV_BYTES), fileChunkAad(i, i === n - 1));
    } catch (err) {
      if (!(err instanceof ComityCryptoError && err.code === 'auth')) throw err;
      throw new ComityCryptoError('auth',
        `file chunk ${i} of ${n} failed authentication: the blob was altered, truncated or extended`);
    }
    plain.set(part, done);
    done += part.length;
    options.onProgress?.(done, total);
  }
  return plain;
}
