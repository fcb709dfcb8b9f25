// Who is who, as far as keys go (DESIGN §4): each user's identity key, backup
// key and the devices that identity certified, fetched from
// `GET users/{id}/keys` and checked here — a device whose certificate does
// not verify is left out, so keys never go to it and its signatures are not
// believed. Revoked devices are kept apart, with their revocation time, only
// to check what they signed before it; their certificates may come from an
// identity key the user replaced, if the keys since vouch for it. Also
// whether I verified the user's identity key (safety number) and whether it
// changed since.
//
// "No keys" and "no answer" differ: what the server answers (a user it does
// not show me, or one without certified devices) is kept and believed, and
// checks fail on it as strictly as ever; a fetch that failed (offline, a
// server error, a session that ended) is not kept, and rejects with
// KeysUnavailable, so that the caller waits and asks again instead of taking
// the user for one without keys.

import * as C from '../crypto/index.js';
import { t } from './i18n.js';

/**
 * @typedef {{dh: string, sig: string}} DeviceKeys
 * @typedef {'unverified' | 'verified' | 'changed'} Trust
 * @typedef {{user: string, display_name: string, authority: string | null, identity: string | null,
 *   backup: string | null, devices: Map<string, DeviceKeys>, revoked: Map<string, DeviceKeys & {revokedAt: number}>,
 *   rejected: number, trust: Trust, verifiedIdentity: string | null}} UserKeys
 */

/** The server did not answer for a user's keys just now (not: it said there are none). */
export class KeysUnavailable extends Error {
  /**
   * @param {string} user
   * @param {unknown} cause the fetch's own error
   */
  constructor(user, cause) {
    super(`the keys of ${user} cannot be fetched right now`);
    this.name = 'KeysUnavailable';
    this.user = user;
    this.cause = cause;
  }
}

export class Directory {
  /**
   * `fetchUser` resolves to the served keys, or to null for a user the server
   * does not show; it rejects when the server could not be asked.
   * @param {{me: string, fetchUser: (id: string) => Promise<any>,
   *   loadVerified?: (me: string, other: string) => Promise<{identity: string} | undefined>,
   *   saveVerified?: (me: string, other: string, identity: string) => Promise<unknown>}} options
   */
  constructor(options) {
    this.me = options.me;
    this.fetchUser = options.fetchUser;
    this.loadVerified = options.loadVerified ?? C.loadVerified;
    this.saveVerified = options.saveVerified ?? C.saveVerified;
    /** @type {Map<string, Promise<UserKeys | null>>} */
    this.cache = new Map();
  }

  /**
   * A user's verified keys (cached; `fresh` refetches, e.g. before a rotation).
   * A failed fetch is not cached: the keys known before, if any, stay, and the
   * next call asks again.
   * @param {string} id
   * @param {{fresh?: boolean}} [options]
   * @returns {Promise<UserKeys | null>} null for a user the server does not show me
   * @throws {KeysUnavailable} when the server could not be asked
   */
  user(id, options = {}) {
    const before = this.cache.get(id);
    let pending = options.fresh ? undefined : before;
    if (!pending) {
      // What the server served but cannot be read as keys counts as no keys, as strictly as before.
      const loading = this.load(id).catch((err) => {
        if (err instanceof KeysUnavailable) throw err;
        return null;
      });
      pending = loading;
      this.cache.set(id, loading);
      loading.catch(() => {
        if (this.cache.get(id) !== loading) return;
        if (before && before !== loading) this.cache.set(id, before);
        else this.cache.delete(id);
      });
    }
    return pending;
  }

  /**
   * @param {string} id
   * @returns {Promise<UserKeys | null>}
   */
  async load(id) {
    let body;
    try {
      body = await this.fetchUser(id);
    } catch (err) {
      throw new KeysUnavailable(id, err);
    }
    if (!body || typeof body !== 'object') return null;
    /** @type {Map<string, DeviceKeys>} */
    const devices = new Map();
    let rejected = 0;
    for (const d of body.devices ?? []) {
      if (await certified(id, body.identity, d)) devices.set(d.device, { dh: d.dh, sig: d.sig });
      else rejected++;
    }
    /** @type {Map<string, DeviceKeys & {revokedAt: number}>} */
    const revoked = new Map();
    const identities = body.revoked?.length ? await vouchedIdentities(id, body.identity, body.replaced) : [];
    for (const d of body.revoked ?? []) {
      const revokedAt = Date.parse(d.revoked_at);
      if (!Number.isNaN(revokedAt) && await certifiedByAny(id, identities, d)) {
        revoked.set(d.device, { dh: d.dh, sig: d.sig, revokedAt });
      }
    }
    const verified = id === this.me ? undefined : await this.loadVerified(this.me, id).catch(() => undefined);
    /** @type {Trust} */
    let trust = 'unverified';
    if (id === this.me) trust = 'verified';
    else if (verified) trust = verified.identity === body.identity ? 'verified' : 'changed';
    return {
      user: id, display_name: String(body.display_name ?? ''), authority: body.authority ?? null,
      identity: body.identity ?? null, backup: body.backup ?? null, devices, revoked, rejected, trust,
      verifiedIdentity: verified?.identity ?? null,
    };
  }

  /**
   * The certified keys of one device of a user, or null.
   * @param {string | null} user
   * @param {string | null} device
   * @returns {Promise<DeviceKeys | null>}
   */
  async device(user, device) {
    if (!user || !device) return null;
    let keys = await this.user(user);
    if (keys && !keys.devices.has(device)) keys = await this.user(user, { fresh: true }); // a device added since
    return keys?.devices.get(device) ?? null;
  }

  /**
   * The keys a device of a user signed with at a past time `at`: a listed
   * device, or one revoked after `at`. Only to check old signatures: keys
   * never go to a revoked device.
   * @param {string | null} user
   * @param {string | null} device
   * @param {string} at ISO-8601, the time of the entry that holds the signature
   * @returns {Promise<DeviceKeys | null>}
   */
  async deviceAt(user, device, at) {
    const listed = await this.device(user, device); // refetches once when the device is unknown
    if (listed || !user || !device) return listed;
    const revoked = (await this.user(user))?.revoked.get(device);
    if (!revoked || !(Date.parse(at) < revoked.revokedAt)) return null;
    return { dh: revoked.dh, sig: revoked.sig };
  }

  /**
   * Mark a user's current identity key as verified (after comparing the safety number).
   * @param {string} id
   */
  async verify(id) {
    const keys = await this.user(id, { fresh: true });
    if (!keys?.identity) throw new Error(t('trust.noIdentity'));
    await this.saveVerified(this.me, id, keys.identity);
    this.cache.delete(id);
    return this.user(id);
  }

  /**
   * The safety number of me and another user (DESIGN §4), as 12 groups of 5 digits.
   * @param {string} other
   * @returns {Promise<string | null>}
   */
  async safetyNumber(other) {
    const [mine, theirs] = await Promise.all([this.user(this.me), this.user(other)]);
    if (!mine?.identity || !theirs?.identity) return null;
    return C.safetyNumber(mine.identity, theirs.identity);
  }
}

/**
 * The identity keys of a user whose certificates may be believed for revoked
 * devices: the current key, then each key the user replaced by starting over,
 * newest first, as long as the key after it vouched for it (docs/protocol.md,
 * "Starting over"). The server cannot add a key of its own to this chain; the
 * chain ends at the first link that does not verify.
 * @param {string} user
 * @param {string | null | undefined} current the user's identity key as served
 * @param {unknown} replaced the served `replaced` list
 * @returns {Promise<string[]>}
 */
async function vouchedIdentities(user, current, replaced) {
  if (!current) return [];
  const keys = [current];
  for (const link of Array.isArray(replaced) ? replaced : []) {
    const successor = keys[keys.length - 1];
    if (link?.by !== successor || typeof link.identity !== 'string' || keys.includes(link.identity)) break;
    const fields = { user, previous: link.identity, identity: successor };
    if (!(await C.verifySuccession(fields, link.sig).catch(() => false))) break;
    keys.push(link.identity);
  }
  return keys;
}

/**
 * Whether a device's certificate, as served, was signed by one of `identities`.
 * @param {string} user
 * @param {string[]} identities
 * @param {any} d the device as served
 * @returns {Promise<boolean>}
 */
async function certifiedByAny(user, identities, d) {
  for (const identity of identities) {
    if (await certified(user, identity, d)) return true;
  }
  return false;
}

/**
 * Whether a device's certificate, as served, was signed by its user's identity key.
 * @param {string} user
 * @param {string | null | undefined} identity the user's identity key as served
 * @param {any} d the device as served
 * @returns {Promise<boolean>}
 */
async function certified(user, identity, d) {
  if (!identity || d.user !== user) return false;
  const fields = { user, device: d.device, dh: d.dh, sig: d.sig };
  try {
    return await C.verifyDeviceCertificate(identity, fields, d.certificate);
  } catch {
    return false;
  }
}

/**
 * Split 60 digits in groups of five for reading aloud.
 * @param {string} digits
 * @returns {string[]}
 */
export function digitGroups(digits) {
  return digits.match(/\d{5}/g) ?? [];
}
