// This browser's keys for the signed-in user (DESIGN §4 "Device keys"): the
// device record in IndexedDB, checked against the server's device list, and
// the making of a new device — first sign-in (new identity and backup keys
// under a recovery passphrase) or restore (unwrap them from the server).

import * as C from '../crypto/index.js';
import { ApiError, del, get, post, put } from '../transport/api.js';
import { pageData } from './dom.js';

/**
 * @typedef {import('../crypto/keystore.js').DeviceRecord} DeviceRecord
 * @typedef {import('./thread-state.js').Me} Me
 */

/** The signed-in user, as the template put it on <main>. */
export function currentUser() {
  return {
    id: pageData('user'), role: pageData('role'), authority: pageData('authority'), name: pageData('displayName'),
  };
}

/**
 * This browser's device for `user`, if it has one the server still honours.
 * A revoked device is forgotten, so the user can set up this browser again.
 * @param {string} user
 * @returns {Promise<DeviceRecord | null>}
 */
export async function activeDevice(user) {
  const record = await C.loadDevice(user);
  if (!record) return null;
  const devices = /** @type {{device: string, revoked_at: string | null}[]} */ (await get('devices'));
  const mine = devices.find((d) => d.device === record.device);
  if (!mine || mine.revoked_at) {
    await C.forgetDevice(user);
    return null;
  }
  return record;
}

/**
 * Why the server refuses this browser's socket, when it is for good: the
 * session ended (signed out, expired) or the device was revoked. Null when
 * the server cannot be asked or sees nothing wrong: a network fault, then.
 * @param {string} device
 * @returns {Promise<'signed-out' | 'revoked' | null>}
 */
export async function refusalReason(device) {
  let devices;
  try {
    devices = /** @type {{device: string, revoked_at: string | null}[]} */ (await get('devices'));
  } catch (err) {
    // 401: no session; 403: a session whose second factor is not verified (consult/middleware.py).
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return 'signed-out';
    return null;
  }
  const mine = devices.find((d) => d.device === device);
  return !mine || mine.revoked_at ? 'revoked' : null;
}

/**
 * @param {DeviceRecord} record
 * @returns {Me}
 */
export function meOf(record) {
  return {
    user: record.user, device: record.device, dhPrivate: record.dh.privateKey, sigPrivate: record.sig.privateKey,
    backupPrivate: record.backup, backupPublic: record.backupPublic,
  };
}

/**
 * The page's device, or a redirect to the key set-up page (then never resolves).
 * @returns {Promise<{record: DeviceRecord, me: Me}>}
 */
export async function requireDevice() {
  const user = currentUser().id;
  const record = await activeDevice(user);
  if (!record) {
    location.assign(`/keys/?next=${encodeURIComponent(location.pathname + location.search)}`);
    return new Promise(() => {});
  }
  return { record, me: meOf(record) };
}

/**
 * Make, certify, register and store a device for `user`.
 * @param {string} user
 * @param {CryptoKey} identityPrivate
 * @param {string} identityPublic
 * @param {CryptoKey} backupPrivate non-extractable
 * @param {string} backupPublic
 * @returns {Promise<DeviceRecord>}
 */
async function makeDevice(user, identityPrivate, identityPublic, backupPrivate, backupPublic) {
  const dh = await C.generateKeyPair('ecdh');
  const sig = await C.generateKeyPair('ecdsa');
  const device = C.newDeviceId();
  const fields = { user, device, dh: await C.publicKeyB64u(dh.publicKey), sig: await C.publicKeyB64u(sig.publicKey) };
  const certificate = await C.certifyDevice(identityPrivate, fields);
  await post('devices', { v: 1, ...fields, certificate });
  const record = {
    user, device, dh, sig, backup: backupPrivate, identity: identityPublic, backupPublic, created: new Date().toISOString(),
  };
  await C.saveDevice(record);
  await C.persistStorage();
  return { id: `device:${user}`, ...record };
}

/**
 * First sign-in: new identity and backup keys wrapped under the recovery
 * passphrase, published, then this device certified with the new identity.
 * Also used to start over (a lost passphrase): the server then revokes every
 * device the old identity certified, and counterparts see the change.
 * @param {string} user
 * @param {string} passphrase
 * @returns {Promise<DeviceRecord>}
 */
export async function createKeys(user, passphrase) {
  const previous = await publishedIdentity();
  const identity = await C.createWrappedKeyPair(passphrase, user, 'identity');
  const backup = await C.createWrappedKeyPair(passphrase, user, 'backup');
  const identityPublic = C.b64uEncode(identity.publicKey);
  const backupPublic = C.b64uEncode(backup.publicKey);
  /** @type {Record<string, unknown>} */
  const body = {
    identity: identityPublic, backup: backupPublic, identity_wrapped: identity.wrapped, backup_wrapped: backup.wrapped,
  };
  // Starting over: the new key vouches for the old one, so what the old
  // devices signed (a thread's creation, membership changes) still verifies.
  if (previous) body.succession = await C.signSuccession(identity.privateKey, { user, previous, identity: identityPublic });
  await put('identity', body);
  await C.forgetDevice(user);
  return makeDevice(user, identity.privateKey, identityPublic, backup.privateKey, backupPublic);
}

/**
 * Another browser of the same user: unwrap identity and backup keys with the
 * recovery passphrase, then certify a new device.
 * @param {string} user
 * @param {string} passphrase
 * @returns {Promise<DeviceRecord>}
 * @throws {C.ComityCryptoError} code `auth` for a wrong passphrase
 */
export async function restoreKeys(user, passphrase) {
  const stored = await get('identity');
  const identity = await C.unwrapPrivateKey(stored.identity_wrapped, passphrase, user, 'identity');
  const backup = await C.unwrapPrivateKey(stored.backup_wrapped, passphrase, user, 'backup');
  return makeDevice(user, identity, stored.identity, backup, stored.backup);
}

/**
 * Whether the user already has published keys (restore rather than create).
 * @returns {Promise<boolean>}
 */
export async function hasIdentity() {
  return (await publishedIdentity()) !== null;
}

/**
 * The user's published identity key, or null before the first one.
 * @returns {Promise<string | null>}
 */
async function publishedIdentity() {
  try {
    return (await get('identity')).identity;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/**
 * Unlock the signed-in user's identity key (e.g. to certify a records key).
 * @param {string} user
 * @param {string} passphrase
 * @returns {Promise<CryptoKey>}
 */
export async function unlockIdentity(user, passphrase) {
  const stored = await get('identity');
  return C.unwrapPrivateKey(stored.identity_wrapped, passphrase, user, 'identity');
}

/** @param {string} device */
export function revokeDevice(device) {
  return del(`devices/${encodeURIComponent(device)}`);
}

/**
 * A rough strength estimate of a passphrase, in bits: length × log2 of the
 * character pool, halved when few distinct characters are used. Meant to
 * steer people towards long passphrases, not to measure real entropy.
 * @param {string} passphrase
 * @returns {{bits: number, level: 0 | 1 | 2 | 3}}
 */
export function passphraseStrength(passphrase) {
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/\d/.test(passphrase)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(passphrase)) pool += 33;
  const chars = [...passphrase];
  let bits = pool ? chars.length * Math.log2(pool) : 0;
  const distinct = new Set(chars).size;
  if (distinct < Math.min(8, chars.length / 2)) bits /= 2;
  if (/^(.)\1*$/.test(passphrase) || /^(?:0123|1234|abcd|qwer|pass)/i.test(passphrase)) bits = Math.min(bits, 10);
  bits = Math.round(bits);
  /** @type {0 | 1 | 2 | 3} */
  const level = chars.length < MIN_PASSPHRASE_CHARS ? 0 : bits < 50 ? 1 : bits < 80 ? 2 : 3;
  return { bits, level };
}

export const MIN_PASSPHRASE_CHARS = 12; // short passphrases are guessable even at 600,000 PBKDF2 rounds
export const MIN_PASSPHRASE_LEVEL = 2; // "fair" or better to continue
