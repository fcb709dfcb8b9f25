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
//
// A purged item (content retracted by its sender or removed under retention)
// carries `digest`: the SHA-256 of the entry as it was written, which stands
// in for SHA-256(canonical(entry)) in its link. Only a `message` entry whose
// body has lost its `ct` may carry one; anything else with a digest is a
// 'malformed' break, and a wrong digest breaks the link ('hash') right there.

import {
  SHA256_BYTES, asPublicKey, b64uDecode, b64uEncode, bytesEqual, canonicalBytes, concatBytes, publicKeyB64u,
  sha256, utf8Encode, verify,
} from './primitives.js';
import { sha256Sync } from './sha256.js';

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
 * The digest an item's link binds: its `digest` if it is a purged message
 * (no `ct` left), else SHA-256(canonical(entry)) (synchronous: two small
 * hashes per entry, where WebCrypto's asynchronous digest would cost more
 * than the hashing, DESIGN §5 at 10,000 entries).
 * @param {ChainItem} item
 * @param {Entry} entry `item.entry`, already checked to be an object
 * @returns {Bytes | string} the digest, or why the item is malformed
 */
function linkedDigest(item, entry) {
  if (item.digest === undefined) {
    try {
      return sha256Sync(canonicalBytes(entry));
    } catch {
      return 'entry is not canonical JSON';
    }
  }
  const body = entry.body;
  if (entry.kind !== 'message' || body === null || typeof body !== 'object' || Array.isArray(body) || 'ct' in body) {
    return 'digest on an entry that is not a purged message (a message without its ct)';
  }
  return decodeHash(item.digest) ?? 'digest is not a base64url SHA-256';
}

/**
 * Verify a run of entries in seq order and return the new head, or the first
 * break. Checks, per entry: shape, thread, seq continuity, hash link, server
 * signature, and that a `create` entry pins this very server key (a history
 * re-signed with another key fails, DESIGN §4 "thread creation"). A purged
 * message links through its `digest` (see the top of this file).
 * With `signatures: 'last'` only the run's last server signature is checked
 * before returning: it signs the head hash, which commits to every earlier
 * entry through the links checked here, so a run from a verified head is
 * authenticated as a whole (the caller checks the others later, see
 * verifyServerSignatures). If that one fails, every signature is checked to
 * name the first bad entry.
 * @param {readonly ChainItem[]} items entries as the server sends them: `{entry, hash, server_sig, digest?}`
 * @param {PublicKeyInput} serverPublicKey the server's ECDSA key (`GET server-key`)
 * @param {{thread: string, after?: ChainHead, signatures?: 'all' | 'last'}} options `after`: the last
 *   verified head (default: genesis, seq 0); `signatures`: which server signatures to check (default all)
 * @returns {Promise<ChainResult>}
 */
export async function verifyChain(items, serverPublicKey, options) {
  if (options.signatures === 'last' && items.length > 1) {
    const quick = await verifyRun(items, serverPublicKey, options, false);
    if (!quick.ok) return quick;
    const last = items[items.length - 1];
    let signature = null;
    try {
      signature = b64uDecode(last.server_sig);
    } catch {
      signature = null;
    }
    const serverKey = await asPublicKey('ecdsa', serverPublicKey);
    if (signature && (await verify(serverKey, signature, serverSignedBytes(options.thread, quick.head.seq, quick.head.hash)))) {
      return quick;
    }
  }
  return verifyRun(items, serverPublicKey, options, true);
}

/**
 * Check every server signature of a verified run (in the background, after
 * a `signatures: 'last'` verification); the first that fails, or null.
 * @param {readonly ChainItem[]} items
 * @param {PublicKeyInput} serverPublicKey
 * @param {string} thread
 * @returns {Promise<number | null>} seq of the first bad signature
 */
export async function verifyServerSignatures(items, serverPublicKey, thread) {
  const serverKey = await asPublicKey('ecdsa', serverPublicKey);
  for (const item of items) {
    let signature;
    try {
      signature = b64uDecode(item.server_sig);
    } catch {
      return item.entry.seq;
    }
    if (!(await verify(serverKey, signature, serverSignedBytes(thread, item.entry.seq, item.hash)))) return item.entry.seq;
  }
  return null;
}

/**
 * @param {readonly ChainItem[]} items
 * @param {PublicKeyInput} serverPublicKey
 * @param {{thread: string, after?: ChainHead}} options
 * @param {boolean} checkSignatures
 * @returns {Promise<ChainResult>}
 */
async function verifyRun(items, serverPublicKey, options, checkSignatures) {
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
    const digest = linkedDigest(item, entry);
    if (typeof digest === 'string') return broken(expected, 'malformed', digest);
    const computed = sha256Sync(concatBytes(hash, digest));
    if (!bytesEqual(computed, claimed)) {
      return broken(expected, 'hash', 'hash does not link to the previous entry (altered entry or fork)');
    }
    if (checkSignatures) {
      let signature;
      try {
        signature = b64uDecode(item.server_sig);
      } catch {
        return broken(expected, 'malformed', 'server_sig is not base64url');
      }
      if (!(await verify(serverKey, signature, serverSignedBytes(thread, expected, computed)))) {
        return broken(expected, 'server_sig', 'server signature does not verify');
      }
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
