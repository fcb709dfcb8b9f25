// A thread as this device understands it (DESIGN §4–§5): the verified
// record, the membership replayed from signed entries, the epoch keys this
// device could open, and the decrypted items. No DOM here, so it runs under
// Node's test runner too.
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
import { fullPackageProblem, historyProblem } from './package-rules.js';

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
        applied.push(await this.apply(chainItem));
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

  /**
   * @param {ChainItem} chainItem
   * @returns {Promise<Item>}
   */
  async apply(chainItem) {
    const entry = chainItem.entry;
    /** @type {Item} */
    const item = {
      seq: entry.seq, hash: chainItem.hash, serverSig: chainItem.server_sig, at: entry.at, kind: entry.kind,
      actor: entry.actor, entry, problem: null, note: null,
    };
    const body = /** @type {any} */ (entry.body);
    try {
      switch (entry.kind) {
        case 'create': await this.applyCreate(item, body); break;
        case 'member': await this.applyMember(item, body); break;
        case 'expiry': this.applyExpiry(item, body); break;
        case 'keys': await this.applyKeys(item, body); break;
        case 'message': this.applyMessage(item, body, chainItem); break;
        case 'purge': this.applyPurge(item, body); break;
        default: break; // receipt, status, export: shown as they are
      }
    } catch (err) {
      if (err instanceof KeysUnavailable) throw err; // not applied: tried again with the keys
      item.problem = err instanceof Error ? err.message : String(err);
    }
    this.items.push(item);
    this.bySeq.set(item.seq, item);
    return item;
  }

  /**
   * @param {Item} item
   * @param {any} creation
   */
  async applyCreate(item, creation) {
    // Only the first entry sets the subject and the history policy: a later "create" would
    // otherwise turn a from_join thread into one that re-wraps past keys for every newcomer.
    if (item.seq !== 1 || creation.thread !== this.thread) throw new Error('the thread creation is not this thread\'s first entry');
    this.subject = String(creation.subject ?? '');
    this.history = creation.history === 'from_join' ? 'from_join' : 'shared';
    this.creator = String(item.actor.user);
    const keys = await this.directory.deviceAt(item.actor.user, creation.sender_device, item.at);
    if (!keys) throw new Error('the creating device was not certified when the thread was created');
    if (!(await C.verifyObject(creation, keys.sig))) throw new Error('the thread creation signature does not verify');
    this.members.set(this.creator, { joinedSeq: item.seq, expires: null });
  }

  /**
   * @param {Item} item
   * @param {any} change
   */
  async applyMember(item, change) {
    item.change = change;
    const actor = String(item.actor.user);
    // A device revoked since still counts for a change recorded before its revocation.
    const keys = await this.directory.deviceAt(actor, change.sender_device, item.at);
    let problem = null;
    if (change.thread !== this.thread) problem = 'the change names another thread';
    else if (!keys) problem = 'the acting device was not certified when the change was recorded';
    else if (!(await C.verifyObject(change, keys.sig))) problem = 'the change signature does not verify';
    else if (!this.members.has(actor)) problem = 'the actor is not a member';
    else if (change.action === 'leave' && change.user !== actor) problem = 'only members leave for themselves';
    // A change no certified device of its actor signed, or made by someone who is not a member,
    // is a forgery: keys must never follow it to the person it adds, so the record is broken here.
    if (problem) {
      this.broken = { seq: item.seq, reason: 'member', detail: problem };
      throw new Error(problem);
    }
    if (change.action === 'add') {
      this.members.set(change.user, { joinedSeq: item.seq, expires: change.expires ?? null });
    } else {
      this.members.delete(change.user);
      this.minEpoch = this.epoch + 1;
    }
  }

  /**
   * @param {Item} item
   * @param {any} body
   */
  applyExpiry(item, body) {
    this.members.delete(body.user);
    this.minEpoch = this.epoch + 1;
    item.note = body.reason;
  }

  /**
   * @param {Item} item
   * @param {any} body
   * @param {ChainItem} chainItem
   */
  applyMessage(item, body, chainItem) {
    if (/** @type {any} */ (chainItem).digest !== undefined) {
      // Content dropped (retention or retraction); the chain bound it by its digest.
      item.removed = { reason: 'retention', on: String(/** @type {any} */ (chainItem).purged_on ?? '') };
      item.payload = null;
    }
    item.envelope = body;
    item.epoch = body?.header?.epoch;
    const clientId = body?.header?.client_id;
    if (typeof clientId === 'string') this.byClientId.set(clientId, item);
    const refusal = this.senderRefusal(item);
    if (refusal && !item.removed) {
      item.payload = null;
      item.decryptError = refusal;
    }
  }

  /**
   * Whether the replay so far allows this message, or why not: its sender must
   * be a member now and have been one when its epoch's package was made, and
   * the epoch must still be open (none closed by a removal, a leave or an
   * expiry). The server refuses the others (`stale_epoch`); a client that
   * believed it would read a removed member's words as if they still belonged.
   * @param {Item} item a message, at its place in the replay
   * @returns {'member' | 'stale' | null}
   */
  senderRefusal(item) {
    const sender = String(item.actor.user);
    const epoch = Number(item.epoch);
    if (!this.members.has(sender) || !this.epochMembers.get(epoch)?.has(sender)) return 'member';
    if (epoch < this.minEpoch) return 'stale';
    return null;
  }

  /**
   * A retraction or retention purge: the earlier message's content is gone
   * from the record, so it is gone from the page too.
   * @param {Item} item
   * @param {any} body
   */
  applyPurge(item, body) {
    const target = this.bySeq.get(body?.seq);
    if (target?.kind !== 'message') return;
    target.removed = { reason: String(body.reason), on: item.at };
    target.payload = null;
  }

  /**
   * @param {Item} item
   * @param {any} pkg
   */
  async applyKeys(item, pkg) {
    const checked = C.checkKeyPackage(pkg);
    item.recipients = checked.recipients.map((r) => ({ id: r.id, kind: r.kind }));
    item.reason = checked.reason;
    item.epoch = checked.epoch;
    const signer = String(item.actor.user);
    // A device revoked since still counts for a package recorded before its revocation: the
    // epochs it made stay readable, and the ones after them follow.
    const keys = await this.directory.deviceAt(signer, checked.sender_device, item.at);
    if (!keys) throw new Error('the package was sent by a device that was not certified then');
    if (!(await C.verifyKeyPackage(checked, keys.sig))) throw new Error('the package signature does not verify');
    if (checked.thread !== this.thread) throw new Error('the package names another thread');
    if (checked.reason === 'history') {
      const problem = historyProblem(this, checked, signer);
      if (problem) throw new Error(problem);
      item.note = 'history';
    } else {
      const problem = fullPackageProblem(this, checked, signer);
      if (checked.epoch === this.epoch + 1) {
        // The record moves on either way (the server accepted the package);
        // an untrusted package's key is just never used.
        this.epoch = checked.epoch;
        this.lastKeysHash = item.hash;
        this.lastPackage = checked;
        this.epochMembers.set(checked.epoch, new Set(this.members.keys()));
      }
      if (problem) throw new Error(problem);
    }
    await this.openMine(checked, keys);
  }

  /**
   * Unwrap the epoch key addressed to this device or to my backup key.
   * @param {KeyPackage} pkg
   * @param {import('./directory.js').DeviceKeys} keys the signing device's, as checked
   */
  async openMine(pkg, keys) {
    if (this.epochKeys.has(pkg.epoch)) return;
    const mine = pkg.recipients.find((r) => r.id === this.me.device);
    const backup = `backup:${this.me.user}`;
    try {
      if (mine) {
        const { epochKey } = await C.openKeyPackage(pkg, keys.sig, this.me.device, this.me.dhPrivate);
        this.setEpochKey(pkg.epoch, epochKey, pkg.reason === 'history' ? 'history' : 'device');
        this.backupNeeded.add(pkg.epoch);
      } else if (pkg.recipients.some((r) => r.id === backup)) {
        const { epochKey } = await C.openKeyPackage(pkg, keys.sig, backup, this.me.backupPrivate);
        this.setEpochKey(pkg.epoch, epochKey, 'backup');
      }
    } catch {
      // Not openable by me: messages of that epoch say so.
    }
  }

  /**
   * @param {number} epoch
   * @param {Uint8Array} key
   * @param {string} source
   */
  setEpochKey(epoch, key, source) {
    this.epochKeys.set(epoch, key);
    this.keySource.set(epoch, source);
    this.aesKeys.delete(epoch);
  }

  /**
   * Epoch keys from my backup wraps (`GET key-backup`), for epochs I lack.
   * @param {{epoch: number, eph: string, iv: string, ct: string}[]} wraps
   */
  async addBackupWraps(wraps) {
    for (const w of wraps) {
      this.backupNeeded.delete(w.epoch);
      if (this.epochKeys.has(w.epoch)) continue;
      try {
        const ctx = { thread: this.thread, epoch: w.epoch, recipient: `backup:${this.me.user}` };
        this.setEpochKey(w.epoch, await C.unwrapEpochKey(w, ctx, w.eph, this.me.backupPrivate), 'backup');
      } catch {
        // a wrap that does not open (not mine, or altered): ignored
      }
    }
  }

  /**
   * Wraps of the epoch keys I received on this device, to my backup key, for
   * `POST key-backup` (DESIGN §4 "Backup key": writing needs no secret).
   * @returns {Promise<{thread: string, epoch: number, eph: string, iv: string, ct: string}[]>}
   */
  async backupWraps() {
    const out = [];
    for (const epoch of this.backupNeeded) {
      const key = this.epochKeys.get(epoch);
      if (!key) continue;
      const eph = await C.generateKeyPair('ecdh');
      const ctx = { thread: this.thread, epoch, recipient: `backup:${this.me.user}` };
      const { iv, ct } = await C.wrapEpochKey(key, ctx, eph.privateKey, this.me.backupPublic);
      out.push({ thread: this.thread, epoch, eph: C.b64uEncode(await C.exportPublicKey(eph.publicKey)), iv, ct });
    }
    this.backupNeeded.clear();
    return out;
  }

  /**
   * @param {number} epoch
   * @returns {Promise<CryptoKey | null>}
   */
  async aesKey(epoch) {
    let key = this.aesKeys.get(epoch);
    if (!key) {
      const raw = this.epochKeys.get(epoch);
      if (!raw) return null;
      key = await C.importAesKey(raw);
      this.aesKeys.set(epoch, key);
    }
    return key;
  }

  /**
   * Verify and decrypt a message item (once).
   * @param {Item} item
   * @returns {Promise<Item>}
   */
  async decrypt(item) {
    const again = item.decryptError === 'unavailable' && item.payload === undefined; // keys not served last time
    if (item.kind !== 'message' || item.payload !== undefined || (item.decryptError && !again)) return item;
    const envelope = /** @type {Envelope} */ (item.envelope);
    try {
      const header = envelope.header;
      if (header.thread !== this.thread || header.sender_device !== item.actor.device) {
        throw new Error('mismatch');
      }
      const key = await this.aesKey(header.epoch);
      if (!key) {
        item.payload = null;
        item.decryptError = 'nokey';
        return item;
      }
      // A device revoked since (a lost laptop, a start-over) still vouches for what it sent before.
      const device = await this.directory.deviceAt(item.actor.user, header.sender_device, item.at);
      if (!device) {
        item.payload = null;
        item.decryptError = 'device';
        return item;
      }
      item.payload = await C.openEnvelope(envelope, key, device.sig);
      item.decryptError = null;
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        item.decryptError = 'unavailable'; // the payload stays undefined: decrypted on the next try
        return item;
      }
      item.payload = null;
      item.decryptError = err instanceof C.ComityCryptoError && err.code === 'signature' ? 'signature' : 'corrupt';
    }
    return item;
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
   * Whether the members' certified devices differ from those the current
   * epoch's package was made for (a new browser, a revoked one): then the
   * key is rotated before sending, so that keys go to every current device.
   * @param {boolean} [fresh] refetch the members' keys first (false: they were just fetched)
   * @returns {Promise<boolean>}
   */
  async devicesChanged(fresh = true) {
    if (!this.lastPackage) return true;
    const listed = new Map(this.lastPackage.members.map((m) => [m.user, new Set(m.devices)]));
    for (const user of this.members.keys()) {
      const keys = await this.directory.user(user, { fresh });
      const before = listed.get(user);
      if (!keys || !before) return true;
      if (keys.devices.size !== before.size || [...keys.devices.keys()].some((d) => !before.has(d))) return true;
    }
    return false;
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
    const key = await this.aesKey(this.epoch);
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
   * keys and both records keys. Keys go only to certified devices.
   * @returns {Promise<{pkg: KeyPackage, epochKey: Uint8Array}>}
   */
  async rotation() {
    /** @type {import('../../../types.js').RecipientKey[]} */
    const recipients = [];
    const members = [];
    for (const user of this.members.keys()) {
      const keys = await this.directory.user(user, { fresh: true });
      if (!keys) throw new Error(t('thread.memberNoKeys'));
      const devices = [...keys.devices.keys()];
      members.push({ user, devices });
      for (const [id, d] of keys.devices) recipients.push({ id, kind: 'device', dh: d.dh });
      if (keys.backup) recipients.push({ id: `backup:${user}`, kind: 'backup', dh: keys.backup });
    }
    for (const code of this.parties) {
      const records = await this.recordsKey(code);
      if (!records) throw new Error(t('records.missing', { code }));
      recipients.push({ id: `records:${code}`, kind: 'records', dh: records.dh });
    }
    const epoch = this.epoch + 1;
    const epochKey = C.newEpochKey();
    const fields = {
      thread: this.thread, epoch, reason: /** @type {'create' | 'rotate'} */ (epoch === 1 ? 'create' : 'rotate'),
      prev: this.lastKeysHash, history: this.history, members, sender_device: this.me.device,
    };
    return { pkg: await C.buildKeyPackage(fields, epochKey, recipients, this.me.sigPrivate), epochKey };
  }

  /**
   * History packages: each earlier epoch I hold, wrapped for a newcomer's devices.
   * @param {string} user the newcomer
   * @returns {Promise<KeyPackage[]>}
   */
  async historyFor(user) {
    const keys = await this.directory.user(user, { fresh: true });
    if (!keys || keys.devices.size === 0 || this.history !== 'shared') return [];
    const out = [];
    for (const [epoch, epochKey] of [...this.epochKeys].sort((a, b) => a[0] - b[0])) {
      const holders = this.epochMembers.get(epoch);
      if (!holders || holders.has(user) || !holders.has(this.me.user)) continue;
      const recipients = [...keys.devices].map(([id, d]) => ({ id, kind: /** @type {const} */ ('device'), dh: d.dh }));
      const fields = {
        thread: this.thread, epoch, reason: /** @type {const} */ ('history'), prev: null, history: this.history,
        members: [{ user, devices: [...keys.devices.keys()] }], sender_device: this.me.device,
      };
      out.push(await C.buildKeyPackage(fields, epochKey, recipients, this.me.sigPrivate));
    }
    return out;
  }
}
