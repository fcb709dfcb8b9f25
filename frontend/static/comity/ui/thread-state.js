// A thread as this device understands it (DESIGN §4–§5): the verified
// record, the membership replayed from signed entries, the epoch keys this
// device could open, and the decrypted items. No DOM here, so it runs under
// Node's test runner too. This class holds the state and checks the chain;
// the replay of each entry is in thread-replay.js, the epoch keys and the
// packages built from them in thread-keys.js, and the opening of messages in
// thread-decrypt.js, all as functions of this state.
//
// Trust rules:
// - The chain (links and server signatures) is checked for every entry; at
//   the first break nothing after it is applied, and `broken` says why.
// - Membership is never taken from the server's word: `create` and `member`
//   entries are verified with the acting device's certified key (or, for a
//   device revoked since, with its certified key if the entry predates the
//   revocation) and replayed; `expiry` entries are the server's own, shown
//   as such. A change that does not verify breaks the record.
// - A message is decrypted only if its sender is a member and was one when
//   its epoch's package was recorded, and the epoch was not closed by a
//   removal, a leave or an expiry.
// - A `create`/`rotate` package is accepted only if signed by a certified
//   device (or one revoked after the package's entry) of a member of the
//   previous epoch, for the next epoch, linking to the previous package, and
//   if its members and recipients match the replay plus both authorities'
//   records keys. Otherwise it is marked untrusted and its key is not used.
// - Keys the server could not serve just now (offline, a server error) are
//   no finding either way: the entry that needs them and everything after it
//   wait, verified as a chain but not applied (`stalled`), until they can be
//   fetched; a message waiting for its sender's keys says so and is tried
//   again. Nothing is believed meanwhile, and nothing is called broken.

import * as C from '../crypto/index.js';
import { KeysUnavailable } from './directory.js';
import { t } from './i18n.js';
import { decryptItem, keyCameSince } from './thread-decrypt.js';
import * as Keys from './thread-keys.js';
import { applyEntry } from './thread-replay.js';

/**
 * @typedef {import('../../../types.js').ChainItem} ChainItem
 * @typedef {import('../../../types.js').Entry} Entry
 * @typedef {import('../../../types.js').Payload} Payload
 * @typedef {import('../../../types.js').Envelope} Envelope
 * @typedef {import('../../../types.js').KeyPackage} KeyPackage
 * @typedef {import('./directory.js').Directory} Directory
 * @typedef {{user: string, device: string, dhPrivate: CryptoKey, sigPrivate: CryptoKey, backupPrivate: CryptoKey,
 *   backupPublic: string}} Me
 * @typedef {{id: string, dh: string}} RecordsKeyInfo
 * @typedef {{seq: number, hash: string, serverSig: string, at: string, kind: Entry['kind'], actor: Entry['actor'], entry: Entry,
 *   problem: string | null, note: string | null, envelope?: Envelope, payload?: Payload | null,
 *   decryptError?: string | null, recipients?: {id: string, kind: string}[], reason?: string, epoch?: number,
 *   change?: any, removed?: {reason: string, on: string}}} Item
 */

export class ThreadState {
  /**
   * @param {{thread: string, parties: string[], me: Me, serverKey: string, directory: Directory,
   *   recordsKey: (code: string) => Promise<RecordsKeyInfo | null>}} options
   */
  constructor(options) {
    this.thread = options.thread;
    this.parties = options.parties;
    this.me = options.me;
    this.serverKey = options.serverKey;
    this.directory = options.directory;
    this.recordsKey = options.recordsKey;
    /** @type {import('../../../types.js').ChainHead} */
    this.head = { seq: 0, hash: '' };
    /** @type {{seq: number, reason: string, detail: string} | null} */
    this.broken = null;
    this.subject = '';
    /** @type {'shared' | 'from_join'} */
    this.history = 'shared';
    this.creator = '';
    /** Replayed current members: user → seq that added them, expiry. @type {Map<string, {joinedSeq: number, expires: string | null}>} */
    this.members = new Map();
    this.epoch = 0;
    this.minEpoch = 1;
    /** @type {string | null} hash of the entry holding the current epoch's package */
    this.lastKeysHash = null;
    /** seq of that entry: members who joined after it were keyed by no package yet */
    this.epochSeq = 0;
    /** @type {KeyPackage | null} the current epoch's package */
    this.lastPackage = null;
    /** @type {Map<number, Set<string>>} members when each epoch's package was made */
    this.epochMembers = new Map();
    /** @type {Map<number, Uint8Array>} raw epoch keys (re-wrapped for backup and newcomers) */
    this.epochKeys = new Map();
    /** @type {Map<number, CryptoKey>} */
    this.aesKeys = new Map();
    /** @type {Map<number, string>} how each epoch key reached me */
    this.keySource = new Map();
    /** Epochs whose key I got from a device wrap and must back up. @type {Set<number>} */
    this.backupNeeded = new Set();
    /** @type {Item[]} */
    this.items = [];
    /** @type {Map<number, Item>} */
    this.bySeq = new Map();
    /** @type {Map<string, Item>} message client_id → item */
    this.byClientId = new Map();
    /** Entries after the head, their chain verified, waiting for keys the server could not serve. @type {ChainItem[]} */
    this.deferred = [];
    /** @type {{seq: number, user: string} | null} the entry waiting for keys, and whose */
    this.stalled = null;
  }

  /** Start from the genesis hash (async: SHA-256). */
  async init() {
    this.head = { seq: 0, hash: C.b64uEncode(await C.genesisHash(this.thread)) };
    return this;
  }

  /**
   * Verify and apply entries that follow the head, in seq order. Entries at or
   * below the head are ignored if they repeat what was applied (a resume may
   * repeat some); a different one is a fork.
   * @param {ChainItem[]} chainItems
   * @returns {Promise<Item[]>} the items applied
   */
  async ingest(chainItems) {
    if (this.broken) return [];
    const fork = this.otherVersion(chainItems);
    if (fork) {
      this.broken = { seq: fork.seq, reason: 'fork', detail: 'a second, different version of an entry already verified' };
      return [];
    }
    // Entries that waited for keys go first; a resume may repeat some of them.
    const waiting = new Set(this.deferred.map((i) => i.entry.seq));
    const fresh = [...this.deferred, ...chainItems.filter((i) => i.entry && i.entry.seq > this.head.seq && !waiting.has(i.entry.seq))];
    if (fresh.length === 0) return [];
    // A batch is authenticated by its links and its last server signature
    // (which signs the head); the others are checked afterwards by
    // verifyAllSignatures, so that opening a long thread stays fast.
    const result = await C.verifyChain(fresh, this.serverKey, { thread: this.thread, after: this.head, signatures: 'last' });
    const good = result.ok ? fresh : fresh.filter((i) => i.entry.seq <= result.head.seq);
    /** @type {Item[]} */
    const applied = [];
    // Until this batch is through, the earlier wait still stands for anyone asking.
    /** @type {{deferred: ChainItem[], stalled: {seq: number, user: string} | null}} */
    let wait = { deferred: [], stalled: null };
    for (const [index, chainItem] of good.entries()) {
      try {
        applied.push(await applyEntry(this, chainItem));
      } catch (err) {
        if (!(err instanceof KeysUnavailable)) throw err;
        // Verified up to here; this entry and the rest wait for the keys.
        wait = { deferred: good.slice(index), stalled: { seq: chainItem.entry.seq, user: err.user } };
        break;
      }
      if (this.broken) break; // a forged membership change: nothing after it is applied
    }
    this.deferred = wait.deferred;
    this.stalled = wait.stalled;
    if (this.broken) return applied;
    const last = applied.at(-1);
    if (!wait.stalled) this.head = result.head;
    else if (last) this.head = { seq: last.seq, hash: last.hash };
    if (!result.ok) this.broken = { seq: result.seq, reason: result.reason, detail: result.detail };
    return applied;
  }

  /**
   * The first item that gives an applied seq another hash, if any. The same
   * entry again is harmless (a resume may repeat some); another one means the
   * server signed two histories.
   * @param {ChainItem[]} chainItems
   * @returns {{seq: number} | null}
   */
  otherVersion(chainItems) {
    const waiting = new Map(this.deferred.map((i) => [i.entry.seq, i.hash]));
    for (const i of chainItems) {
      const seq = i.entry?.seq;
      if (typeof seq !== 'number') continue;
      const known = seq > this.head.seq ? waiting.get(seq) : this.bySeq.get(seq)?.hash;
      if (known !== undefined && known !== i.hash) return { seq };
    }
    return null;
  }

  /**
   * Check every entry's own server signature (after a fast open); a bad one
   * breaks the record from there, loudly.
   * @returns {Promise<boolean>} whether all verify
   */
  async verifyAllSignatures() {
    const upTo = this.items.filter((i) => i.seq <= this.head.seq);
    const bad = await C.verifyServerSignatures(
      upTo.map((i) => ({ entry: i.entry, hash: i.hash, server_sig: i.serverSig })), this.serverKey, this.thread,
    );
    if (bad !== null && (!this.broken || this.broken.seq > bad)) {
      this.broken = { seq: bad, reason: 'server_sig', detail: 'server signature does not verify' };
    }
    return bad === null;
  }

  /**
   * Compare the record with the head this browser verified on an earlier visit:
   * another hash at that seq is a fork, and a record that ends before it is a
   * rollback (entries this browser verified are gone). Either breaks the record,
   * so the page keeps the remembered head instead of the served one.
   * @param {import('../../../types.js').ChainHead} remembered
   */
  compareWithRemembered(remembered) {
    // Entries waiting for keys are part of the served record (their chain is verified).
    const hash = this.bySeq.get(remembered.seq)?.hash ?? this.deferred.find((i) => i.entry.seq === remembered.seq)?.hash;
    const end = this.deferred.at(-1)?.entry.seq ?? this.head.seq;
    if (hash !== undefined && hash !== remembered.hash) {
      this.breakAt({ seq: remembered.seq, reason: 'fork', detail: 'the record differs from the one this browser verified before' });
    } else if (remembered.seq > end && !this.broken) {
      // A break already explains a record that stops short.
      const detail = `the record ends at entry ${end}; this browser verified it up to entry ${remembered.seq}`;
      this.breakAt({ seq: end + 1, reason: 'rollback', detail });
    }
  }

  /**
   * Record a break, keeping the earliest one found.
   * @param {{seq: number, reason: string, detail: string}} found
   */
  breakAt(found) {
    if (!this.broken || found.seq <= this.broken.seq) this.broken = found;
  }

  // --- keys and messages --------------------------------------------------------

  /**
   * Epoch keys from my backup wraps (`GET key-backup`), for epochs I lack.
   * @param {{epoch: number, eph: string, iv: string, ct: string}[]} wraps
   * @returns {Promise<void>}
   */
  addBackupWraps(wraps) {
    return Keys.addBackupWraps(this, wraps);
  }

  /**
   * Wraps of the epoch keys I received on this device, to my backup key, for `POST key-backup`.
   * @returns {Promise<{thread: string, epoch: number, eph: string, iv: string, ct: string}[]>}
   */
  backupWraps() {
    return Keys.backupWraps(this);
  }

  /**
   * Verify and decrypt a message item (once).
   * @param {Item} item
   * @returns {Promise<Item>}
   */
  decrypt(item) {
    return decryptItem(this, item);
  }

  /** @returns {Item[]} messages shown without a key whose epoch key has come since (history shared later) */
  openable() {
    return this.items.filter((i) => keyCameSince(this, i));
  }

  /** @returns {Item[]} messages waiting for their sender's keys, to try again */
  undecided() {
    return this.items.filter((i) => i.decryptError === 'unavailable' && i.payload === undefined);
  }

  // --- what I may do -----------------------------------------------------------

  /** Whether the current epoch is closed for sending (a member left or was removed). */
  get needsRotation() {
    return this.epoch === 0 || this.minEpoch > this.epoch || !this.epochKeys.has(this.epoch);
  }

  get isMember() {
    return this.members.has(this.me.user);
  }

  /**
   * Whether I joined after the current epoch's package: I may read, but not
   * write or rotate, until a member keyed before me rotates (the server
   * refuses both otherwise, DESIGN §4).
   */
  get awaitingAdmission() {
    return this.newcomers.includes(this.me.user);
  }

  /**
   * Whether a member keyed into the current epoch should rotate now, before
   * anyone writes: the epoch was closed (a removal, a leave, an expiry) or
   * someone joined after its package, and the rotation that should have
   * followed never came (the browser that made the change closed first).
   */
  get rotationDue() {
    if (!this.isMember || this.epoch === 0 || this.awaitingAdmission) return false;
    return this.minEpoch > this.epoch || this.newcomers.length > 0;
  }

  /** @returns {string[]} members who joined after the current epoch's package (none before the first) */
  get newcomers() {
    if (this.epoch === 0) return [];
    return [...this.members].filter(([, m]) => m.joinedSeq > this.epochSeq).map(([user]) => user);
  }

  /**
   * Whether the members' certified devices differ from those the current
   * epoch's package was made for: then the key is rotated before sending.
   * @param {boolean} [fresh] refetch the members' keys first (false: they were just fetched)
   * @returns {Promise<boolean>}
   */
  devicesChanged(fresh = true) {
    return Keys.devicesChanged(this, fresh);
  }

  /**
   * Counterparts whose identity key changed since I verified it: sending is
   * blocked until I verify again (DESIGN §4 "Safety number").
   * @returns {Promise<import('./directory.js').UserKeys[]>}
   */
  async changedIdentities() {
    const out = [];
    for (const user of this.members.keys()) {
      if (user === this.me.user) continue;
      // Keys not served now cannot tell; sending asks for them again first (ThreadActions.ready).
      const keys = await this.directory.user(user).catch((err) => {
        if (err instanceof KeysUnavailable) return null;
        throw err;
      });
      if (keys?.trust === 'changed') out.push(keys);
    }
    return out;
  }

  /**
   * Seal a message under the current epoch.
   * @param {import('../../../types.js').MessageKind} kind
   * @param {Record<string, any>} meta
   * @param {Payload} payload
   * @param {string} [clientId] kept when a message is re-sealed for a new epoch
   * @returns {Promise<Envelope>}
   */
  async seal(kind, meta, payload, clientId) {
    const key = await Keys.aesKey(this, this.epoch);
    if (!key) throw new Error(t('thread.noKey'));
    const header = {
      v: /** @type {1} */ (1), thread: this.thread, epoch: this.epoch, sender_device: this.me.device,
      client_id: clientId ?? C.newClientId(), kind, meta,
    };
    return C.sealEnvelope(header, payload, key, this.me.sigPrivate);
  }

  /**
   * A signed membership change.
   * @param {'add' | 'remove' | 'leave'} action
   * @param {string} user
   * @param {string | null} expires ISO-8601
   */
  change(action, user, expires = null) {
    return C.signObject(
      { v: 1, thread: this.thread, action, user, expires, sender_device: this.me.device }, this.me.sigPrivate,
    );
  }

  /**
   * The next epoch's package for every current member device, their backup
   * keys and both records keys.
   * @returns {Promise<{pkg: KeyPackage, epochKey: Uint8Array}>}
   */
  rotation() {
    return Keys.rotation(this);
  }

  /**
   * History packages: each earlier epoch I hold, wrapped for a newcomer's devices.
   * @param {string} user the newcomer
   * @returns {Promise<KeyPackage[]>}
   */
  historyFor(user) {
    return Keys.historyFor(this, user);
  }
}
