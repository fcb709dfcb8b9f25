// The record's hash chain (DESIGN §5).
//
//   hash_0       = SHA-256(UTF-8("comity/v1/genesis:" + T))
//   hash_n       = SHA-256(hash_{n-1} ‖ SHA-256(canonical(entry_n)))   (raw 32-byte values)
//   server_sig_n = ECDSA(server key, canonical({"hash":hash_n,"seq":n,"thread":T}))
//
// On the wire (and inside the signed object) hashes are base64url. A client
// checks each entry's link and server signature, remembers the last verified
// head, and reports the first break loudly: a fork, a gap or a re-signed
// history all show up here.

import {
  SHA256_BYTES, asPublicKey, b64uDecode, b64uEncode, bytesEqual, canonicalBytes, concatBytes, publicKeyB64u,
  sha256, utf8Encode, verify,
} from './primitives.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').Entry} Entry */
/** @typedef {import('../../../types.js').ChainItem} ChainItem */
/** @typedef {import('../../../types.js').ChainHead} ChainHead */
/** @typedef {import('../../../types.js').ChainResult} ChainResult */
/** @typedef {import('../../../types.js').ChainBreakReason} ChainBreakReason */
/** @typedef {import('../../../types.js').PublicKeyInput} PublicKeyInput */

export const GENESIS_PREFIX = 'comity/v1/genesis:'; // DESIGN §5

/**
 * hash_0 of a thread.
 * @param {string} thread
 * @returns {Promise<Bytes>}
 */
export async function genesisHash(thread) {
  return sha256(utf8Encode(GENESIS_PREFIX + thread));
}

/**
 * SHA-256(canonical(entry)).
 * @param {Entry} entry
 * @returns {Promise<Bytes>}
 */
export async function entryDigest(entry) {
  return sha256(canonicalBytes(entry));
}

/**
 * hash_n from hash_{n-1} and entry_n.
 * @param {Uint8Array} previousHash 32 bytes
 * @param {Entry} entry
 * @returns {Promise<Bytes>}
 */
export async function nextHash(previousHash, entry) {
  return sha256(concatBytes(previousHash, await entryDigest(entry)));
}

/**
 * The bytes the server signs for a head: canonical({"hash":b64u,"seq":n,"thread":T}).
 * @param {string} thread
 * @param {number} seq
 * @param {Uint8Array | string} hash raw 32 bytes or base64url
 * @returns {Bytes}
 */
export function serverSignedBytes(thread, seq, hash) {
  return canonicalBytes({ hash: typeof hash === 'string' ? hash : b64uEncode(hash), seq, thread });
}

/**
 * @param {unknown} value
 * @returns {Bytes | null}
 */
function decodeHash(value) {
  if (typeof value !== 'string') return null;
  try {
    const bytes = b64uDecode(value);
    return bytes.length === SHA256_BYTES ? bytes : null;
  } catch {
    return null;
  }
}

/**
 * Verify a run of entries in seq order and return the new head, or the first
 * break. Checks, per entry: shape, thread, seq continuity, hash link, server
 * signature, and that a `create` entry pins this very server key (a history
 * re-signed with another key fails, DESIGN §4 "thread creation").
 * @param {readonly ChainItem[]} items entries as the server sends them: `{entry, hash, server_sig}`
 * @param {PublicKeyInput} serverPublicKey the server's ECDSA key (`GET server-key`)
 * @param {{thread: string, after?: ChainHead}} options `after`: the last verified head (default: genesis, seq 0)
 * @returns {Promise<ChainResult>}
 */
export async function verifyChain(items, serverPublicKey, options) {
  const { thread } = options;
  const serverKey = await asPublicKey('ecdsa', serverPublicKey);
  const serverKeyB64u = await publicKeyB64u(serverKey);
  let seq = options.after?.seq ?? 0;
  let hash = options.after ? decodeHash(options.after.hash) : await genesisHash(thread);
  if (hash === null) throw new TypeError('options.after.hash must be a base64url SHA-256');
  /** @type {ChainHead} */
  let head = { seq, hash: b64uEncode(hash) };

  /**
   * @param {number} at
   * @param {ChainBreakReason} reason
   * @param {string} detail
   * @returns {ChainResult}
   */
  const broken = (at, reason, detail) => ({ ok: false, head, seq: at, reason, detail });

  for (const item of items) {
    const expected = seq + 1;
    const entry = item?.entry;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      return broken(expected, 'malformed', 'item has no entry object');
    }
    if (entry.thread !== thread) return broken(expected, 'thread', `entry belongs to thread ${String(entry.thread)}`);
    if (entry.seq !== expected || (item.seq !== undefined && item.seq !== entry.seq)) {
      return broken(expected, 'seq', `expected seq ${expected}, got ${String(entry.seq)} (gap, repeat or reorder)`);
    }
    const claimed = decodeHash(item.hash);
    if (claimed === null) return broken(expected, 'malformed', 'hash is not a base64url SHA-256');
    let computed;
    try {
      computed = await nextHash(hash, entry);
    } catch {
      return broken(expected, 'malformed', 'entry is not canonical JSON');
    }
    if (!bytesEqual(computed, claimed)) {
      return broken(expected, 'hash', 'hash does not link to the previous entry (altered entry or fork)');
    }
    let signature;
    try {
      signature = b64uDecode(item.server_sig);
    } catch {
      return broken(expected, 'malformed', 'server_sig is not base64url');
    }
    if (!(await verify(serverKey, signature, serverSignedBytes(thread, expected, computed)))) {
      return broken(expected, 'server_sig', 'server signature does not verify');
    }
    if (entry.kind === 'create') {
      const body = /** @type {Record<string, unknown> | null} */ (entry.body);
      if (body?.server_key !== serverKeyB64u) {
        return broken(expected, 'server_key', 'the thread creation pins a different server key');
      }
    }
    seq = expected;
    hash = computed;
    head = { seq, hash: b64uEncode(hash) };
  }
  return { ok: true, head };
}
