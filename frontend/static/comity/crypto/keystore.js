// The device's key store (DESIGN §4 "Device keys", §8): IndexedDB holding
// non-extractable CryptoKeys — structured clone keeps a CryptoKey's
// extractability, so the private halves never exist as bytes in JS — plus
// what the user has verified. Epoch keys are not stored: each page load
// unwraps them again from the key packages and backup wraps.
//
// Records (object store "keys", keyPath "id"):
//   "device:"+U       {user, device, dh, sig: CryptoKeyPair, backup: CryptoKey (ECDH private),
//                      identity, backupPublic: b64u, created}
//   "verified:"+U+":"+V  {identity: b64u of V's identity key, at}
//   "head:"+T         {seq, hash} last verified head of thread T

import { ComityCryptoError } from './errors.js';

const DB_NAME = 'comity';
const DB_VERSION = 1;
const STORE = 'keys';

/**
 * @typedef {{id: string, user: string, device: string, dh: CryptoKeyPair, sig: CryptoKeyPair,
 *   backup: CryptoKey, identity: string, backupPublic: string, created: string}} DeviceRecord
 */

/** @type {Promise<IDBDatabase> | null} */
let opening = null;

/** @returns {Promise<IDBDatabase>} */
function database() {
  if (!globalThis.indexedDB) {
    return Promise.reject(new ComityCryptoError('unavailable', 'This browser offers no IndexedDB to keep keys in (private window?).'));
  }
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new ComityCryptoError('unavailable', 'The key store cannot be opened.'));
  });
  return opening;
}

/**
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} action
 * @returns {Promise<T>}
 */
async function run(mode, action) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(new ComityCryptoError('unavailable', 'The key store refused the operation.'));
  });
}

/**
 * @param {string} id
 * @returns {Promise<any>}
 */
export const storeGet = (id) => run('readonly', (s) => s.get(id));
/**
 * @param {{id: string, [key: string]: unknown}} record
 * @returns {Promise<unknown>}
 */
export const storePut = (record) => run('readwrite', (s) => s.put(record));
/**
 * @param {string} id
 * @returns {Promise<unknown>}
 */
export const storeDelete = (id) => run('readwrite', (s) => s.delete(id));

/**
 * Ask the browser not to evict the key store under storage pressure (DESIGN §8).
 * @returns {Promise<boolean>} whether storage is persistent
 */
export async function persistStorage() {
  try {
    return (await globalThis.navigator?.storage?.persist?.()) ?? false;
  } catch {
    return false;
  }
}

/**
 * This browser's device for a user, if it has one.
 * @param {string} user
 * @returns {Promise<DeviceRecord | undefined>}
 */
export function loadDevice(user) {
  return storeGet(`device:${user}`);
}

/**
 * @param {Omit<DeviceRecord, 'id'>} record
 * @returns {Promise<unknown>}
 */
export function saveDevice(record) {
  return storePut({ id: `device:${record.user}`, ...record });
}

/** @param {string} user */
export function forgetDevice(user) {
  return storeDelete(`device:${user}`);
}

/**
 * The identity key I verified for a counterpart, or undefined.
 * @param {string} me
 * @param {string} other
 * @returns {Promise<{identity: string, at: string} | undefined>}
 */
export function loadVerified(me, other) {
  return storeGet(`verified:${me}:${other}`);
}

/**
 * @param {string} me
 * @param {string} other
 * @param {string} identity base64url identity public key as compared
 */
export function saveVerified(me, other, identity) {
  return storePut({ id: `verified:${me}:${other}`, identity, at: new Date().toISOString() });
}

/**
 * @param {string} thread
 * @returns {Promise<{seq: number, hash: string} | undefined>}
 */
export function loadHead(thread) {
  return storeGet(`head:${thread}`);
}

/**
 * @param {string} thread
 * @param {{seq: number, hash: string}} head
 */
export function saveHead(thread, head) {
  return storePut({ id: `head:${thread}`, seq: head.seq, hash: head.hash });
}
