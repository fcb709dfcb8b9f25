// Following a thread live over the tab's socket (DESIGN §7): entries as they
// are recorded, who is typing, how far the others have read, who is online,
// and the socket's own state. Entries are applied through the page's queue,
// in turn with rechecks and "show earlier", so the replay sees them in order.

import { SocketError } from '../transport/socket.js';
import { announce, byId } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';

const TYPING_SHOWN_MS = 5000;
const READ_EVERY_MS = 1000; // read positions are sent at most once a second

export class ThreadLive {
  /** @param {import('./thread-page.js').ThreadPage} page */
  constructor(page) {
    this.page = page;
    /** @type {Map<string, ReturnType<typeof setTimeout>>} who is typing, until when it is no longer shown */
    this.typing = new Map();
    this.readSent = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.readTimer = undefined;
    /** @type {Array<() => void>} checked after every batch of entries (waitFor) */
    this.waiters = [];
  }

  /** Listen to the socket, then follow the thread from the verified head. */
  start() {
    const { socket } = this.page;
    socket.addEventListener('frame', (event) => this.onFrame(/** @type {CustomEvent} */ (event).detail));
    socket.addEventListener('state', (event) => this.onConnection(/** @type {CustomEvent} */ (event).detail));
    socket.addEventListener('error-frame', (event) => this.onErrorFrame(/** @type {CustomEvent} */ (event).detail));
    socket.addEventListener('drained', () => this.page.timeline.updatePending());
    socket.addEventListener('hello', () => this.page.history.recheckSoon());
    socket.subscribe(this.page.thread, this.page.state.head.seq);
    socket.start();
  }

  /** @param {any} frame */
  onFrame(frame) {
    const page = this.page;
    if (frame.thread !== page.thread) return;
    switch (frame.type) {
      case 'entry':
        page.enqueue(() => this.onEntries([frame]));
        break;
      case 'typing':
        if (frame.user !== page.me.user) this.showTyping(frame.user);
        break;
      case 'read':
        page.reads.set(frame.user, Math.max(frame.seq, page.reads.get(frame.user) ?? 0));
        page.render();
        break;
      case 'presence':
        if (frame.online) page.online.add(frame.user);
        else page.online.delete(frame.user);
        page.members.render();
        break;
      default:
        break;
    }
  }

  /**
   * Apply entries as they come (none: those that waited for keys), then show them.
   * @param {any[]} frames
   */
  async onEntries(frames) {
    const page = this.page;
    const state = page.state;
    const wasBroken = state.broken;
    const applied = await state.ingest(frames);
    if (applied.length === 0) {
      // Another version of an entry shown already, or entries waiting for keys: said at once.
      if (state.broken !== wasBroken || state.stalled) await page.showAlerts();
      return;
    }
    page.socket.applied(page.thread, state.head.seq);
    await page.history.saveHead();
    let membership = false;
    for (const item of applied) {
      if (item.kind === 'message') {
        await state.decrypt(item);
        const clientId = item.envelope?.header.client_id;
        if (clientId) page.pending.delete(clientId);
        if (item.actor.user !== page.me.user && item.payload) {
          const who = page.people.get(item.actor.user ?? '')?.name ?? t('thread.someone');
          announce(t('thread.newMessage', { name: who, text: item.payload.text.slice(0, 140) }));
          this.clearTyping(item.actor.user ?? '');
        }
      } else if (item.kind === 'member' || item.kind === 'expiry' || item.kind === 'keys') {
        membership = true;
      }
    }
    if (membership) {
      for (const item of state.openable()) await state.decrypt(item); // a history package came
      await page.loadPeople();
    }
    page.shown += applied.length;
    page.render();
    page.members.render();
    await page.showAlerts();
    for (const resolve of this.waiters.splice(0)) resolve();
    await page.backup();
    this.markRead();
  }

  /** @param {string} state */
  onConnection(state) {
    const page = this.page;
    const el = byId('connection');
    el.dataset.state = state;
    const waiting = page.socket.pending;
    const revoked = page.socket.closedReason === 'revoked';
    el.textContent = state === 'open' ? t('conn.open')
      : state === 'connecting' ? t('conn.connecting')
        : state === 'closed' ? (revoked ? t('conn.revoked') : t('conn.signedOut'))
          : waiting ? t('conn.offlineQueued', { n: waiting }) : t('conn.offline');
    if (state === 'closed') {
      page.ended = revoked ? 'revoked' : 'signed-out';
      page.composer?.disable(revoked ? t('session.revoked') : t('session.signedOut'));
      void page.showAlerts();
    }
    page.timeline.updatePending();
  }

  /** @param {any} frame */
  onErrorFrame(frame) {
    const page = this.page;
    if (frame.ref === 'sub' && frame.code === 'not_found') {
      page.alert(t('thread.noLongerMember'));
      page.composer?.disable(t('thread.noLongerMember'));
      page.socket.subs.delete(page.thread);
      return;
    }
    page.composer?.status(describeError(new SocketError(frame.code, frame.detail, frame)), 'error');
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
    const names = [...this.typing.keys()].map((u) => this.page.people.get(u)?.name ?? t('thread.someone'));
    byId('typing').textContent = names.length ? t('thread.typing', { names: names.join(', ') }) : '';
  }

  /** Tell the others how far I have read: at most once a second, only forward. */
  markRead() {
    if (this.readTimer !== undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      const { state, socket, thread } = this.page;
      const seq = state.head.seq;
      if (document.visibilityState === 'visible' && state.isMember && seq > this.readSent) {
        if (socket.raw({ type: 'read', thread, seq })) this.readSent = seq;
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
}
