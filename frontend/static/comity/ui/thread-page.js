// /threads/{id}/: the consultation itself. Loads and verifies the record
// over HTTP, follows it live over the tab's socket, decrypts what this
// device may read, and sends messages, key packages and membership changes
// (DESIGN §4–§7). The page holds what its parts share — the record's state,
// the people in it, the messages on their way — and runs whatever changes
// the replay one after the other; the parts live in thread-history.js
// (loading, verifying, asking again for keys), thread-live.js (the socket),
// thread-timeline.js (rendering), thread-actions.js, members.js and
// composer.js.

import * as C from '../crypto/index.js';
import { ApiError, get, post } from '../transport/api.js';
import { ComitySocket } from '../transport/socket.js';
import { Directory, KeysUnavailable } from './directory.js';
import { byId, h, pageData, replace, reserveBelow, say } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';
import { currentUser, refusalReason, requireDevice } from './session.js';
import { ThreadState } from './thread-state.js';
import { ThreadHistory } from './thread-history.js';
import { ThreadLive } from './thread-live.js';
import { PAGE, ThreadTimeline } from './thread-timeline.js';
import { Members } from './members.js';
import { Composer } from './composer.js';
import { ThreadActions } from './thread-actions.js';

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
    /** @type {Map<string, number>} how far each member has read */
    this.reads = new Map();
    /** @type {Set<string>} */
    this.online = new Set();
    /** @type {Map<string, {text: string, state: 'sending' | 'waiting' | 'failed', why?: string,
     *   draft?: import('./composer.js').Draft}>} */
    this.pending = new Map();
    /** @type {import('../transport/socket.js').ClosedReason | null} why the socket ended for good */
    this.ended = null;
    /** Whether sending is blocked (a broken record, a changed identity key). */
    this.blocked = false;
    /** How many of the newest items the timeline shows. */
    this.shown = PAGE;
    this.peopleVersion = 0;
    /** @type {import('./thread-view.js').Derived | undefined} what the items say of each other, as last rendered */
    this.derived = undefined;
    /** @type {any} the thread as the server summarises it (metadata) */
    this.summary = undefined;
    /** @type {Promise<unknown>} loading, live entries and rechecks, one after the other */
    this.queue = Promise.resolve();
    this.loaded = false;
    /** Milliseconds spent waiting for pages and verifying them while loading (for the benchmark). */
    this.timing = { wait: 0, ingest: 0 };
    this.history = new ThreadHistory(this);
    this.live = new ThreadLive(this);
    this.timeline = new ThreadTimeline(this);
    this.actions = new ThreadActions(this);
    this.members = new Members(this);
    this.composer = document.getElementById('composer') ? new Composer(this) : null;
  }

  async load() {
    performance.mark('comity:load');
    await this.history.verify();
    performance.mark('comity:verified'); // fetched, chain verified, membership replayed, keys opened
    await this.state.addBackupWraps(await get(`key-backup?thread=${this.thread}`));
    await this.history.checkRememberedHead();
    await this.loadPeople();
    await this.history.decryptWindow();
    this.loaded = true;
    this.renderNow();
    performance.mark('comity:rendered'); // the newest page is decrypted and in the DOM
    say(byId('timeline-status'), '');
    this.showAlerts();
    this.members.render();
    this.live.start();
    void this.afterLoad();
  }

  /** Work that need not delay the first render. */
  async afterLoad() {
    if (!(await this.state.verifyAllSignatures())) await this.showAlerts();
    await this.history.decryptAll();
    this.render();
    await this.backup();
    await this.showAlerts();
    const open = !this.state.broken && !this.state.stalled; // the epoch is known: the record is applied to its end
    const creating = this.state.isMember && this.state.epoch === 0 && this.state.creator === this.me.user;
    // A change whose rotation never came (its browser closed first) is made good by the next member to
    // look, unless a changed identity key is still to be verified (no key goes to it meanwhile).
    if (open && (creating || (this.state.rotationDue && !this.blocked))) {
      await this.actions.rotate().catch((err) => this.composer?.status(describeError(err), 'error'));
    }
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

  /**
   * Run `work` after what is queued already: loading, live entries and
   * rechecks change the replay, so they never overlap.
   * @param {() => Promise<unknown>} work
   */
  enqueue(work) {
    this.queue = this.queue.then(work).catch((err) => console.error(err));
  }

  /**
   * Resolve once `predicate` holds (checked after every batch of entries).
   * @param {() => boolean} predicate
   * @param {number} [timeoutMs]
   * @returns {Promise<void>}
   */
  waitFor(predicate, timeoutMs) {
    return this.live.waitFor(predicate, timeoutMs);
  }

  /** Tell the others how far I have read (at most once a second). */
  markRead() {
    this.live.markRead();
  }

  /** Render once per frame however many entries arrive. */
  render() {
    this.timeline.render();
  }

  renderNow() {
    this.timeline.renderNow();
  }

  showEarlier() {
    this.timeline.showEarlier();
  }

  /**
   * Try at once what waits for keys (before sending), in turn with live entries.
   * @returns {Promise<void>}
   */
  retryVerification() {
    return this.history.retryVerification();
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
    if (this.blocked) this.composer?.setBlocked(this.state.broken ? t('thread.brokenNoSend') : t('trust.blocked'));
    else this.composer?.setBlocked(this.state.awaitingAdmission ? t('thread.awaitingKey') : null, 'info');
    byId('epoch-info').textContent = this.state.epoch
      ? t('thread.epoch', { epoch: this.state.epoch, authorities: this.state.parties.join(' / ') }) : '';
    this.history.scheduleRecheck();
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
