// The epoch keys of a thread (DESIGN §4 "Key packages", "Backup key"): the
// ones this device could open, from the record or from its backup wraps, the
// wraps it owes its backup key, and the packages it builds: the next
// epoch's for every current member device, and earlier epochs' for a
// newcomer when history is shared. Keys go only to certified devices.

import * as C from '../crypto/index.js';
import { t } from './i18n.js';

/**
 * @typedef {import('../../../types.js').KeyPackage} KeyPackage
 * @typedef {import('./thread-state.js').ThreadState} ThreadState
 */

/**
 * Unwrap the epoch key addressed to this device or to my backup key.
 * @param {ThreadState} state
 * @param {KeyPackage} pkg
 * @param {import('./directory.js').DeviceKeys} keys the signing device's, as checked
 */
export async function openMine(state, pkg, keys) {
  if (state.epochKeys.has(pkg.epoch)) return;
  const mine = pkg.recipients.find((r) => r.id === state.me.device);
  const backup = `backup:${state.me.user}`;
  try {
    if (mine) {
      const { epochKey } = await C.openKeyPackage(pkg, keys.sig, state.me.device, state.me.dhPrivate);
      setEpochKey(state, pkg.epoch, epochKey, pkg.reason === 'history' ? 'history' : 'device');
      state.backupNeeded.add(pkg.epoch);
    } else if (pkg.recipients.some((r) => r.id === backup)) {
      const { epochKey } = await C.openKeyPackage(pkg, keys.sig, backup, state.me.backupPrivate);
      setEpochKey(state, pkg.epoch, epochKey, 'backup');
    }
  } catch {
    // Not openable by me: messages of that epoch say so.
  }
}

/**
 * Hold an epoch key; the AES key made from an earlier one is dropped.
 * @param {ThreadState} state
 * @param {number} epoch
 * @param {Uint8Array} key
 * @param {string} source how it reached me: device, history or backup
 */
function setEpochKey(state, epoch, key, source) {
  state.epochKeys.set(epoch, key);
  state.keySource.set(epoch, source);
  state.aesKeys.delete(epoch);
}

/**
 * Epoch keys from my backup wraps (`GET key-backup`), for epochs I lack.
 * @param {ThreadState} state
 * @param {{epoch: number, eph: string, iv: string, ct: string}[]} wraps
 */
export async function addBackupWraps(state, wraps) {
  for (const w of wraps) {
    state.backupNeeded.delete(w.epoch);
    if (state.epochKeys.has(w.epoch)) continue;
    try {
      const ctx = { thread: state.thread, epoch: w.epoch, recipient: `backup:${state.me.user}` };
      setEpochKey(state, w.epoch, await C.unwrapEpochKey(w, ctx, w.eph, state.me.backupPrivate), 'backup');
    } catch {
      // a wrap that does not open (not mine, or altered): ignored
    }
  }
}

/**
 * Wraps of the epoch keys I received on this device, to my backup key, for
 * `POST key-backup` (DESIGN §4 "Backup key": writing needs no secret).
 * @param {ThreadState} state
 * @returns {Promise<{thread: string, epoch: number, eph: string, iv: string, ct: string}[]>}
 */
export async function backupWraps(state) {
  const out = [];
  for (const epoch of state.backupNeeded) {
    const key = state.epochKeys.get(epoch);
    if (!key) continue;
    const eph = await C.generateKeyPair('ecdh');
    const ctx = { thread: state.thread, epoch, recipient: `backup:${state.me.user}` };
    const { iv, ct } = await C.wrapEpochKey(key, ctx, eph.privateKey, state.me.backupPublic);
    out.push({ thread: state.thread, epoch, eph: C.b64uEncode(await C.exportPublicKey(eph.publicKey)), iv, ct });
  }
  state.backupNeeded.clear();
  return out;
}

/**
 * The AES key of an epoch, imported once; null for an epoch whose key I lack.
 * @param {ThreadState} state
 * @param {number} epoch
 * @returns {Promise<CryptoKey | null>}
 */
export async function aesKey(state, epoch) {
  let key = state.aesKeys.get(epoch);
  if (!key) {
    const raw = state.epochKeys.get(epoch);
    if (!raw) return null;
    key = await C.importAesKey(raw);
    state.aesKeys.set(epoch, key);
  }
  return key;
}

/**
 * Whether the members' certified devices differ from those the current
 * epoch's package was made for (a new browser, a revoked one): then the
 * key is rotated before sending, so that keys go to every current device.
 * @param {ThreadState} state
 * @param {boolean} [fresh] refetch the members' keys first (false: they were just fetched)
 * @returns {Promise<boolean>}
 */
export async function devicesChanged(state, fresh = true) {
  if (!state.lastPackage) return true;
  const listed = new Map(state.lastPackage.members.map((m) => [m.user, new Set(m.devices)]));
  for (const user of state.members.keys()) {
    const keys = await state.directory.user(user, { fresh });
    const before = listed.get(user);
    if (!keys || !before) return true;
    if (keys.devices.size !== before.size || [...keys.devices.keys()].some((d) => !before.has(d))) return true;
  }
  return false;
}

/**
 * The next epoch's package for every current member device, their backup
 * keys and both records keys. Keys go only to certified devices.
 * @param {ThreadState} state
 * @returns {Promise<{pkg: KeyPackage, epochKey: Uint8Array}>}
 */
export async function rotation(state) {
  /** @type {import('../../../types.js').RecipientKey[]} */
  const recipients = [];
  const members = [];
  for (const user of state.members.keys()) {
    const keys = await state.directory.user(user, { fresh: true });
    if (!keys) throw new Error(t('thread.memberNoKeys'));
    // Checked on the keys fetched here, not on what the page showed: a server could swap them in between.
    if (keys.trust === 'changed') throw new Error(t('trust.blocked'));
    const devices = [...keys.devices.keys()];
    members.push({ user, devices });
    for (const [id, d] of keys.devices) recipients.push({ id, kind: 'device', dh: d.dh });
    if (keys.backup) recipients.push({ id: `backup:${user}`, kind: 'backup', dh: keys.backup });
  }
  for (const code of state.parties) {
    const records = await state.recordsKey(code);
    if (!records) throw new Error(t('records.missing', { code }));
    recipients.push({ id: `records:${code}`, kind: 'records', dh: records.dh });
  }
  const epoch = state.epoch + 1;
  const epochKey = C.newEpochKey();
  const fields = {
    thread: state.thread, epoch, reason: /** @type {'create' | 'rotate'} */ (epoch === 1 ? 'create' : 'rotate'),
    prev: state.lastKeysHash, history: state.history, members, sender_device: state.me.device,
  };
  return { pkg: await C.buildKeyPackage(fields, epochKey, recipients, state.me.sigPrivate), epochKey };
}

/**
 * History packages: each earlier epoch I hold, wrapped for a newcomer's devices.
 * @param {ThreadState} state
 * @param {string} user the newcomer
 * @returns {Promise<KeyPackage[]>}
 */
export async function historyFor(state, user) {
  const keys = await state.directory.user(user, { fresh: true });
  if (!keys || keys.devices.size === 0 || state.history !== 'shared') return [];
  if (keys.trust === 'changed') throw new Error(t('trust.blocked'));
  const out = [];
  for (const [epoch, epochKey] of [...state.epochKeys].sort((a, b) => a[0] - b[0])) {
    const holders = state.epochMembers.get(epoch);
    if (!holders || holders.has(user) || !holders.has(state.me.user)) continue;
    const recipients = [...keys.devices].map(([id, d]) => ({ id, kind: /** @type {const} */ ('device'), dh: d.dh }));
    const fields = {
      thread: state.thread, epoch, reason: /** @type {const} */ ('history'), prev: null, history: state.history,
      members: [{ user, devices: [...keys.devices.keys()] }], sender_device: state.me.device,
    };
    out.push(await C.buildKeyPackage(fields, epochKey, recipients, state.me.sigPrivate));
  }
  return out;
}
