// /threads/{id}/: the consultation itself. Loads and verifies the record
// over HTTP, follows it live over the tab's socket, decrypts what this
// device may read, and sends messages, key packages and membership changes
// (DESIGN §4–§7).

import * as C from '../crypto/index.js';
import { ApiError, get, post } from '../transport/api.js';
import { ComitySocket, SocketError } from '../transport/socket.js';
import { Directory, KeysUnavailable } from './directory.js';
import { announce, byId, h, pageData, replace, reserveBelow, say } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';
import { currentUser, refusalReason, requireDevice } from './session.js';
import { ThreadState } from './thread-state.js';
import { derive, renderItem, renderPending } from './thread-view.js';
import { Members } from './members.js';
import { Composer } from './composer.js';
import { ThreadActions } from './thread-actions.js';

const PAGE = 50; // items rendered at first; "show earlier" adds as many
const HTTP_PAGE = 1000; // entries per history request (the API's maximum)
const TYPING_SHOWN_MS = 5000;
const READ_EVERY_MS = 1000; // read positions are sent at most once a second
const RECHECK_FIRST_MS = 2000; // keys the server could not serve: asked again soon…
const RECHECK_MAX_MS = 60_000; // …then less and less often

/**
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {import('../../../types.js').Payload} Payload
 * @typedef {import('../../../types.js').FileRef} FileRef
 */

export class ThreadPage {
  /**
   * @param {{thread: string, parties: string[], me: import('./thread-state.js').Me, serverKey: string}} options
   */
  constructor(options) {
    this.thread = options.thread;
    this.me = options.me;
    this.user = currentUser();
    this.directory = new Directory({ me: this.me.user, fetchUser: fetchUserKeys });
    /** @type {Map<string, Promise<{id: string, dh: string} | null>>} */
    this.records = new Map();
    this.state = new ThreadState({
      thread: this.thread, parties: options.parties, me: this.me, serverKey: options.serverKey,
      directory: this.directory, recordsKey: (code) => this.recordsKey(code),
    });
    this.socket = new ComitySocket({ device: this.me.device, checkRefusal: () => refusalReason(this.me.device) });
    /** @type {Map<string, {name: string, authority: string | null, role?: string, devices?: string[]}>} */
    this.people = new Map();
    /** @type {Map<string, number>} */
    this.reads = new Map();
    /** @type {Set<string>} */
    this.online = new Set();
    /** @type {Map<string, ReturnType<typeof setTimeout>>} */
    this.typing = new Map();
    /** @type {Map<string, {text: string, state: 'sending' | 'waiting' | 'failed', why?: string,
     *   draft?: import('./composer.js').Draft}>} */
    this.pending = new Map();
    /** @type {import('../transport/socket.js').ClosedReason | null} why the socket ended for good */
    this.ended = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.recheckTimer = undefined;
    this.recheckDelay = RECHECK_FIRST_MS;
    this.showingUnverified = false;
    this.shown = PAGE;
    this.renderPending = false;
    this.peopleVersion = 0;
    /** @type {Map<number, {key: string, node: HTMLElement}>} */
    this.nodes = new Map();
    this.readSent = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.readTimer = undefined;
    /** @type {Promise<unknown>} */
    this.queue = Promise.resolve();
    /** @type {Array<() => void>} */
    this.waiters = [];
    this.loaded = false;
    /** Milliseconds spent waiting for pages and verifying them while loading (for the benchmark). */
    this.timing = { wait: 0, ingest: 0 };
    this.list = byId('entries');
    this.actions = new ThreadActions(this);
    this.members = new Members(this);
    this.composer = document.getElementById('composer') ? new Composer(this) : null;
  }

  // --- loading ----------------------------------------------------------------

  async load() {
    performance.mark('comity:load');
    await this.state.init();
    // Pages are fetched one ahead: the next is on its way while this one is verified.
    const head = (await get(`threads/${this.thread}`)).head;
    /** @param {number} after */
    const fetchPage = (after) => get(`threads/${this.thread}/entries?after=${after}&limit=${HTTP_PAGE}`);
    let after = 0;
    let next = fetchPage(0);
    this.timing = { wait: 0, ingest: 0 };
    for (;;) {
      let started = performance.now();
      const page = await next;
      this.timing.wait += performance.now() - started;
      const last = page.length ? page[page.length - 1].seq : after;
      const more = page.length === HTTP_PAGE && last < head;
      if (more) next = fetchPage(last);
      started = performance.now();
      await this.state.ingest(page);
      this.timing.ingest += performance.now() - started;
      if (!more || this.state.broken) break;
      after = last;
    }
    performance.mark('comity:verified'); // fetched, chain verified, membership replayed, keys opened
    await this.state.addBackupWraps(await get(`key-backup?thread=${this.thread}`));
    await this.checkRememberedHead();
    await this.loadPeople();
    await this.decryptWindow();
    this.loaded = true;
    this.renderNow();
    performance.mark('comity:rendered'); // the newest page is decrypted and in the DOM
    say(byId('timeline-status'), '');
    this.showAlerts();
    this.members.render();
    this.wireSocket();
    this.socket.subscribe(this.thread, this.state.head.seq);
    this.socket.start();
    void this.afterLoad();
  }

  /** Work that need not delay the first render. */
  async afterLoad() {
    if (!(await this.state.verifyAllSignatures())) await this.showAlerts();
    await this.decryptAll();
    this.render();
    await this.backup();
    await this.showAlerts();
    const open = !this.state.broken && !this.state.stalled; // the epoch is known: the record is applied to its end
    if (this.state.isMember && this.state.epoch === 0 && open && this.state.creator === this.me.user) {
      await this.actions.rotate().catch((err) => this.composer?.status(describeError(err), 'error'));
    }
  }

  /**
   * A fork shows up as a different hash at a seq this device verified before,
   * a rollback as a record that ends before it; the remembered head then stays.
   */
  async checkRememberedHead() {
    const remembered = await C.loadHead(this.thread).catch(() => undefined);
    if (remembered) this.state.compareWithRemembered(remembered);
    await this.saveHead();
  }

  /**
   * Remember the verified head — not while entries wait for keys: the head
   * is short of the served record then, and must not move back.
   */
  async saveHead() {
    if (!this.state.broken && !this.state.stalled) await C.saveHead(this.thread, this.state.head).catch(() => {});
  }

  /** Names and authorities of everyone in the record (metadata from the server). */
  async loadPeople() {
    let summary;
    try {
      summary = await get(`threads/${this.thread}`);
    } catch (err) {
      // Removed while the page is open: the thread is closed to me now, and the
      // socket's closing (shown as an alert) says so; nothing more to load.
      if (this.loaded && err instanceof ApiError && err.status === 404) return;
      throw err;
    }
    for (const m of summary.members) {
      this.people.set(m.user, { name: m.display_name, authority: m.authority, role: m.role });
    }
    this.summary = summary;
    this.peopleVersion++;
    const users = new Set();
    for (const item of this.state.items) {
      if (item.actor.user) users.add(item.actor.user);
      const body = /** @type {any} */ (item.entry.body);
      if ((item.kind === 'member' || item.kind === 'expiry') && body?.user) users.add(body.user);
    }
    for (const member of this.state.members.keys()) users.add(member);
    await Promise.all([...users].map(async (id) => {
      const keys = await this.directory.user(id).catch((err) => {
        if (err instanceof KeysUnavailable) return null; // names only: asked again on the next load
        throw err;
      });
      const known = this.people.get(id);
      this.people.set(id, {
        name: keys?.display_name || known?.name || t('thread.someone'), authority: keys?.authority ?? known?.authority ?? null,
        role: known?.role, devices: keys ? [...keys.devices.keys()] : [],
      });
    }));
  }

  /** @returns {Item[]} items shown in the timeline, oldest first */
  visibleItems() {
    const derived = this.derived ?? derive(this.state);
    return this.state.items.filter((i) => !derived.hidden.has(i.seq));
  }

  async decryptWindow() {
    const messages = this.state.items.filter((i) => i.kind === 'message');
    const newest = messages.slice(-this.shown);
    for (const item of newest) {
      await this.state.decrypt(item);
      const target = item.payload?.reply_to ?? item.payload?.edits;
      if (target) {
        const other = this.state.bySeq.get(target);
        if (other) await this.state.decrypt(other);
      }
    }
  }

  async decryptAll() {
    for (const item of this.state.items) {
      if (item.kind === 'message') await this.state.decrypt(item);
    }
  }

  /** @param {string} code */
  recordsKey(code) {
    let pending = this.records.get(code);
    if (!pending) {
      pending = (async () => {
        const key = await get(`authorities/${encodeURIComponent(code)}/records-key`);
        // Every epoch key is wrapped to this key: it is used only once someone of that authority
        // is shown to have certified it. A certifier the server cannot name is a refusal, not a pass.
        const certifier = await this.directory.user(key.certified_by);
        const fields = { authority: code, certified_by: key.certified_by, dh: key.dh };
        const certified = Boolean(certifier?.identity) && certifier?.authority === code
          && await C.verifyRecordsCertificate(/** @type {string} */ (certifier?.identity), fields, key.certificate)
            .catch(() => false);
        if (!certified) throw new Error(t('records.badCertificate', { code }));
        return { id: key.id, dh: key.dh };
      })();
      this.records.set(code, pending);
      pending.catch(() => this.records.delete(code));
    }
    return pending;
  }

  async backup() {
    for (const wrap of await this.state.backupWraps()) {
      await post('key-backup', wrap).catch(() => {});
    }
  }

  // --- live -------------------------------------------------------------------

  wireSocket() {
    this.socket.addEventListener('frame', (event) => this.onFrame(/** @type {CustomEvent} */ (event).detail));
    this.socket.addEventListener('state', (event) => this.onConnection(/** @type {CustomEvent} */ (event).detail));
    this.socket.addEventListener('error-frame', (event) => this.onErrorFrame(/** @type {CustomEvent} */ (event).detail));
    this.socket.addEventListener('drained', () => this.updatePending());
    this.socket.addEventListener('hello', () => this.recheckSoon());
  }

  /** @param {any} frame */
  onFrame(frame) {
    if (frame.thread !== this.thread) return;
    switch (frame.type) {
      case 'entry':
        this.enqueue(() => this.onEntries([frame]));
        break;
      case 'typing':
        if (frame.user !== this.me.user) this.showTyping(frame.user);
        break;
      case 'read':
        this.reads.set(frame.user, Math.max(frame.seq, this.reads.get(frame.user) ?? 0));
        this.render();
        break;
      case 'presence':
        if (frame.online) this.online.add(frame.user);
        else this.online.delete(frame.user);
        this.members.render();
        break;
      default:
        break;
    }
  }

  /** @param {() => Promise<unknown>} work */
  enqueue(work) {
    this.queue = this.queue.then(work).catch((err) => console.error(err));
  }

  /** @param {any[]} frames */
  async onEntries(frames) {
    const wasBroken = this.state.broken;
    const applied = await this.state.ingest(frames);
    if (applied.length === 0) {
      // Another version of an entry shown already, or entries waiting for keys: said at once.
      if (this.state.broken !== wasBroken || this.state.stalled) await this.showAlerts();
      return;
    }
    this.socket.applied(this.thread, this.state.head.seq);
    await this.saveHead();
    let membership = false;
    for (const item of applied) {
      if (item.kind === 'message') {
        await this.state.decrypt(item);
        const clientId = item.envelope?.header.client_id;
        if (clientId) this.pending.delete(clientId);
        if (item.actor.user !== this.me.user && item.payload) {
          const who = this.people.get(item.actor.user ?? '')?.name ?? t('thread.someone');
          announce(t('thread.newMessage', { name: who, text: item.payload.text.slice(0, 140) }));
          this.clearTyping(item.actor.user ?? '');
        }
      } else if (item.kind === 'member' || item.kind === 'expiry' || item.kind === 'keys') {
        membership = true;
      }
    }
    if (membership) await this.loadPeople();
    this.shown += applied.length;
    this.render();
    this.members.render();
    await this.showAlerts();
    for (const resolve of this.waiters.splice(0)) resolve();
    await this.backup();
    this.markRead();
  }

  /** @param {string} state */
  onConnection(state) {
    const el = byId('connection');
    el.dataset.state = state;
    const waiting = this.socket.pending;
    const revoked = this.socket.closedReason === 'revoked';
    el.textContent = state === 'open' ? t('conn.open')
      : state === 'connecting' ? t('conn.connecting')
        : state === 'closed' ? (revoked ? t('conn.revoked') : t('conn.signedOut'))
          : waiting ? t('conn.offlineQueued', { n: waiting }) : t('conn.offline');
    if (state === 'closed') {
      this.ended = revoked ? 'revoked' : 'signed-out';
      this.composer?.disable(revoked ? t('session.revoked') : t('session.signedOut'));
      void this.showAlerts();
    }
    this.updatePending();
  }

  /** @param {any} frame */
  onErrorFrame(frame) {
    if (frame.ref === 'sub' && frame.code === 'not_found') {
      this.alert(t('thread.noLongerMember'));
      this.composer?.disable(t('thread.noLongerMember'));
      this.socket.subs.delete(this.thread);
      return;
    }
    this.composer?.status(describeError(new SocketError(frame.code, frame.detail, frame)), 'error');
  }

  /** @param {string} user */
  showTyping(user) {
    clearTimeout(this.typing.get(user));
    this.typing.set(user, setTimeout(() => this.clearTyping(user), TYPING_SHOWN_MS));
    this.renderTyping();
  }

  /** @param {string} user */
  clearTyping(user) {
    clearTimeout(this.typing.get(user));
    this.typing.delete(user);
    this.renderTyping();
  }

  renderTyping() {
    const names = [...this.typing.keys()].map((u) => this.people.get(u)?.name ?? t('thread.someone'));
    byId('typing').textContent = names.length ? t('thread.typing', { names: names.join(', ') }) : '';
  }

  /** Tell the others how far I have read: at most once a second, only forward. */
  markRead() {
    if (this.readTimer !== undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      const seq = this.state.head.seq;
      if (document.visibilityState === 'visible' && this.state.isMember && seq > this.readSent) {
        if (this.socket.raw({ type: 'read', thread: this.thread, seq })) this.readSent = seq;
      }
    }, READ_EVERY_MS);
  }

  /**
   * Resolve once `predicate` holds (checked after every batch of entries).
   * @param {() => boolean} predicate
   * @param {number} [timeoutMs]
   * @returns {Promise<void>}
   */
  waitFor(predicate, timeoutMs = 20_000) {
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(t('thread.timeout')));
      }, timeoutMs);
      const check = () => {
        if (done) return;
        if (predicate()) {
          done = true;
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  // --- rendering --------------------------------------------------------------

  /** Render once per frame however many entries arrive (a burst re-renders once). */
  render() {
    if (this.renderPending) return;
    this.renderPending = true;
    const run = () => {
      this.renderPending = false;
      this.renderNow();
    };
    if (document.visibilityState === 'visible') requestAnimationFrame(run);
    else setTimeout(run, 0);
  }

  renderNow() {
    if (!this.loaded) return;
    this.derived = derive(this.state);
    const items = this.visibleItems();
    const start = Math.max(0, items.length - this.shown);
    const focused = /** @type {HTMLElement | null} */ (document.activeElement?.closest?.('[data-seq]') ?? null);
    const focusSeq = focused?.dataset.seq;
    const focusAction = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.action;
    const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
    const readUpTo = Math.max(0, ...[...this.reads].filter(([u]) => u !== this.me.user).map(([, s]) => s));
    const ctx = {
      state: this.state, me: this.me.user, myAuthority: this.user.authority, people: this.people, derived: this.derived, readUpTo,
      onReply: (/** @type {Item} */ i) => this.composer?.setContext('reply', i),
      onEdit: (/** @type {Item} */ i) => this.composer?.setContext('edit', i),
      onAnswer: (/** @type {Item} */ i) => this.composer?.setContext('answer', i),
      onAssurance: (/** @type {Item} */ i, /** @type {string} */ s) => this.composer?.setContext('assurance', i, s),
      onDownload: (/** @type {FileRef} */ f, /** @type {HTMLButtonElement} */ b) => this.actions.download(f, b),
      onAcknowledge: (/** @type {Item} */ i) => this.actions.acknowledge(i),
      onRetract: (/** @type {Item} */ i) => this.actions.retract(i),
    };
    // Keyed: an item's node is rebuilt only when what it shows changed.
    /** @type {Map<number, {key: string, node: HTMLElement}>} */
    const cache = new Map();
    const nodes = items.slice(start).map((item) => {
      const key = this.itemKey(item, readUpTo);
      const cached = this.nodes.get(item.seq);
      const node = cached && cached.key === key ? cached.node : renderItem(ctx, item);
      cache.set(item.seq, { key, node });
      return /** @type {HTMLElement} */ (node);
    });
    this.nodes = cache;
    for (const [clientId, p] of this.pending) {
      const restore = p.state === 'failed' && p.draft && this.composer ? () => this.restorePending(clientId) : undefined;
      nodes.push(renderPending(clientId, p.text, p.state, p.why, restore));
    }
    patchChildren(this.list, nodes);
    const earlier = byId('load-earlier');
    earlier.hidden = start === 0;
    if (focusSeq) {
      const again = this.list.querySelector(`[data-seq="${focusSeq}"]`);
      /** @type {HTMLElement | null} */ ((focusAction && again?.querySelector(`[data-action="${focusAction}"]`)) || null)?.focus();
    }
    if (nearBottom) window.scrollTo(0, document.body.scrollHeight);
  }

  /**
   * What an item's node depends on, as a string.
   * @param {Item} item
   * @param {number} readUpTo
   */
  itemKey(item, readUpTo) {
    const d = /** @type {import('./thread-view.js').Derived} */ (this.derived);
    return [
      this.peopleVersion, this.state.isMember ? 1 : 0, item.payload ? 1 : 0, item.decryptError ?? '', item.problem ?? '',
      d.edits.get(item.seq)?.length ?? 0, d.answers.get(item.seq) ?? '', d.assurance.get(item.seq)?.status ?? '',
      item.actor.user === this.me.user && readUpTo >= item.seq ? 'r' : '', item.removed?.reason ?? '',
      d.receipts.filter((r) => r.upTo >= item.seq).length,
    ].join('|');
  }

  showEarlier() {
    this.shown += PAGE;
    this.enqueue(async () => {
      await this.decryptWindow();
      this.render();
    });
  }

  /**
   * Put a message that was not sent back into the composer; its bubble goes.
   * @param {string} clientId
   */
  restorePending(clientId) {
    const draft = this.pending.get(clientId)?.draft;
    if (!draft || !this.composer?.restore(draft)) return;
    this.pending.delete(clientId);
    this.render();
  }

  updatePending() {
    const offline = this.socket.state !== 'open';
    for (const p of this.pending.values()) if (p.state !== 'failed') p.state = offline ? 'waiting' : 'sending';
    this.render();
  }

  /** @param {string} text */
  alert(text) {
    const el = byId('thread-alert');
    el.hidden = false;
    replace(el, h('p', {}, text));
  }

  /** Chain breaks and changed identity keys, loudly; sending is blocked meanwhile. */
  async showAlerts() {
    const el = byId('thread-alert');
    /** @type {HTMLElement[]} */
    const parts = [];
    if (this.ended) parts.push(sessionEnded(this.ended));
    if (this.state.broken) {
      parts.push(h('p', { class: 'broken' }, t('thread.broken', { seq: this.state.broken.seq, reason: t(/** @type {any} */ (`break.${this.state.broken.reason}`)) })));
    }
    const changed = this.state.isMember ? await this.state.changedIdentities() : [];
    for (const keys of changed) {
      const button = h('button', { type: 'button', 'data-action': 'reverify' }, t('trust.compare'));
      button.addEventListener('click', () => this.members.openTrust(keys.user));
      parts.push(h('p', { class: 'identity-changed' }, t('trust.changed', { name: keys.display_name }), ' ', button));
    }
    el.hidden = parts.length === 0;
    replace(el, parts);
    this.blocked = changed.length > 0 || Boolean(this.state.broken);
    this.composer?.setBlocked(this.blocked ? (this.state.broken ? t('thread.brokenNoSend') : t('trust.blocked')) : null);
    byId('epoch-info').textContent = this.state.epoch
      ? t('thread.epoch', { epoch: this.state.epoch, authorities: this.state.parties.join(' / ') }) : '';
    this.scheduleRecheck();
  }

  // --- keys the server could not serve ------------------------------------------

  /** Whether some of the record waits for keys the server could not serve just now. */
  get unverified() {
    return Boolean(this.state.stalled) || this.state.undecided().length > 0;
  }

  /**
   * Say calmly that part of the thread cannot be verified yet, and ask again
   * later (sooner after a reconnect). Not a finding: nothing is shown as
   * verified meanwhile, and nothing is called broken.
   */
  scheduleRecheck() {
    const unverified = this.unverified && !this.state.broken;
    if (unverified !== this.showingUnverified && this.loaded) {
      this.showingUnverified = unverified;
      say(byId('timeline-status'), unverified ? t('thread.unverified') : '');
    }
    if (!unverified) {
      clearTimeout(this.recheckTimer);
      this.recheckTimer = undefined;
      this.recheckDelay = RECHECK_FIRST_MS;
      return;
    }
    if (this.recheckTimer !== undefined) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.enqueue(() => this.recheck());
    }, this.recheckDelay);
    this.recheckDelay = Math.min(RECHECK_MAX_MS, this.recheckDelay * 2);
  }

  /** Ask again at once (the connection is back). */
  recheckSoon() {
    if (!this.unverified) return;
    clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    this.recheckDelay = RECHECK_FIRST_MS;
    this.enqueue(() => this.recheck());
  }

  /** Apply the entries that waited for keys, and decrypt the messages that did. */
  async recheck() {
    if (this.state.stalled) await this.onEntries([]);
    for (const item of this.state.undecided()) await this.state.decrypt(item);
    this.render();
    await this.showAlerts();
  }

  /**
   * Try at once what waits for keys (before sending), in turn with live entries.
   * @returns {Promise<void>}
   */
  retryVerification() {
    return new Promise((resolve) => {
      this.enqueue(async () => {
        try {
          await this.recheck();
        } finally {
          resolve();
        }
      });
    });
  }

}

/**
 * A user's keys as the server serves them; null for a user it does not show
 * (404), an answer like "no keys". Other failures (offline, a server error,
 * an ended session) reject: no answer, asked again later (ui/directory.js).
 * @param {string} id
 */
async function fetchUserKeys(id) {
  try {
    return await get(`users/${encodeURIComponent(id)}/keys`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/**
 * The alert for a socket that ended for good, with the way back.
 * @param {import('../transport/socket.js').ClosedReason} reason
 */
function sessionEnded(reason) {
  const next = encodeURIComponent(location.pathname + location.search);
  return reason === 'revoked'
    ? h('p', { class: 'session-ended' }, t('session.revoked'), ' ', h('a', { href: `/keys/?next=${next}` }, t('session.keysPage')))
    : h('p', { class: 'session-ended' }, t('session.signedOut'), ' ', h('a', { href: `/login/?next=${next}` }, t('session.signIn')));
}

/**
 * Make `parent`'s children exactly `nodes`, moving and inserting only what
 * differs: a new entry at the end costs one insertion, not a rebuilt list.
 * @param {Element} parent
 * @param {Node[]} nodes
 */
function patchChildren(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    parent.removeChild(cursor);
    cursor = next;
  }
}

async function main() {
  const thread = pageData('thread');
  const member = pageData('member') === '1';
  const status = byId('timeline-status');
  if (!member) {
    say(status, '');
    try {
      const summary = await get(`threads/${thread}`);
      replace(byId('members'), summary.members.map((/** @type {any} */ m) => h('li', {}, h('strong', {}, m.display_name), ' ', m.authority ?? '')));
    } catch (err) {
      say(status, describeError(err), 'error');
    }
    byId('connection').textContent = '';
    return;
  }
  reserveBelow(byId('composer'));
  try {
    const { me } = await requireDevice();
    const serverKey = (await get('server-key')).key;
    const page = new ThreadPage({ thread, parties: pageData('parties').split(' ').filter(Boolean), me, serverKey });
    byId('load-earlier').addEventListener('click', () => page.showEarlier());
    document.addEventListener('visibilitychange', () => page.markRead());
    await page.load();
    /** @type {any} */ (globalThis).comityThread = page; // for tests and the benchmark
  } catch (err) {
    say(status, describeError(err), 'error');
    console.error(err);
  }
}

if (globalThis.document && pageData('thread')) main();
