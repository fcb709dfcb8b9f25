// Loading a thread's record over HTTP and verifying it (DESIGN §5): page by
// page, compared with the head this browser verified on an earlier visit,
// and decrypted as far as the timeline shows it. Keys the server could not
// serve just now are asked for again, sooner after a reconnect: until then
// the page says calmly that part of the thread cannot be verified yet.

import * as C from '../crypto/index.js';
import { get } from '../transport/api.js';
import { byId, say } from './dom.js';
import { t } from './i18n.js';

const HTTP_PAGE = 1000; // entries per history request (the API's maximum)
const RECHECK_FIRST_MS = 2000; // keys the server could not serve: asked again soon…
const RECHECK_MAX_MS = 60_000; // …then less and less often

export class ThreadHistory {
  /** @param {import('./thread-page.js').ThreadPage} page */
  constructor(page) {
    this.page = page;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.recheckTimer = undefined;
    this.recheckDelay = RECHECK_FIRST_MS;
    this.showingUnverified = false;
  }

  /** Fetch the record from its start and verify it, replaying membership and opening keys. */
  async verify() {
    const { page } = this;
    const { state, thread } = page;
    await state.init();
    // Pages are fetched one ahead: the next is on its way while this one is verified.
    const head = (await get(`threads/${thread}`)).head;
    /** @param {number} after */
    const fetchPage = (after) => get(`threads/${thread}/entries?after=${after}&limit=${HTTP_PAGE}`);
    let after = 0;
    let next = fetchPage(0);
    page.timing = { wait: 0, ingest: 0 };
    for (;;) {
      let started = performance.now();
      const entries = await next;
      page.timing.wait += performance.now() - started;
      const last = entries.length ? entries[entries.length - 1].seq : after;
      const more = entries.length === HTTP_PAGE && last < head;
      if (more) next = fetchPage(last);
      started = performance.now();
      await state.ingest(entries);
      page.timing.ingest += performance.now() - started;
      if (!more || state.broken) break;
      after = last;
    }
  }

  /**
   * A fork shows up as a different hash at a seq this device verified before,
   * a rollback as a record that ends before it; the remembered head then stays.
   */
  async checkRememberedHead() {
    const remembered = await C.loadHead(this.page.thread).catch(() => undefined);
    if (remembered) this.page.state.compareWithRemembered(remembered);
    await this.saveHead();
  }

  /**
   * Remember the verified head — not while entries wait for keys: the head
   * is short of the served record then, and must not move back.
   */
  async saveHead() {
    const { state, thread } = this.page;
    if (!state.broken && !state.stalled) await C.saveHead(thread, state.head).catch(() => {});
  }

  /** Decrypt the newest messages the timeline shows, and those they reply to or edit. */
  async decryptWindow() {
    const { state, shown } = this.page;
    const messages = state.items.filter((i) => i.kind === 'message');
    const newest = messages.slice(-shown);
    for (const item of newest) {
      await state.decrypt(item);
      const target = item.payload?.reply_to ?? item.payload?.edits;
      if (target) {
        const other = state.bySeq.get(target);
        if (other) await state.decrypt(other);
      }
    }
  }

  async decryptAll() {
    const { state } = this.page;
    for (const item of state.items) {
      if (item.kind === 'message') await state.decrypt(item);
    }
  }

  // --- keys the server could not serve ------------------------------------------

  /** Whether some of the record waits for keys the server could not serve just now. */
  get unverified() {
    const { state } = this.page;
    return Boolean(state.stalled) || state.undecided().length > 0;
  }

  /**
   * Say calmly that part of the thread cannot be verified yet, and ask again
   * later (sooner after a reconnect). Not a finding: nothing is shown as
   * verified meanwhile, and nothing is called broken.
   */
  scheduleRecheck() {
    const unverified = this.unverified && !this.page.state.broken;
    if (unverified !== this.showingUnverified && this.page.loaded) {
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
      this.page.enqueue(() => this.recheck());
    }, this.recheckDelay);
    this.recheckDelay = Math.min(RECHECK_MAX_MS, this.recheckDelay * 2);
  }

  /** Ask again at once (the connection is back). */
  recheckSoon() {
    if (!this.unverified) return;
    clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    this.recheckDelay = RECHECK_FIRST_MS;
    this.page.enqueue(() => this.recheck());
  }

  /** Apply the entries that waited for keys, and decrypt the messages that did. */
  async recheck() {
    const { page } = this;
    if (page.state.stalled) await page.live.onEntries([]);
    for (const item of page.state.undecided()) await page.state.decrypt(item);
    page.render();
    await page.showAlerts();
  }

  /**
   * Try at once what waits for keys (before sending), in turn with live entries.
   * @returns {Promise<void>}
   */
  retryVerification() {
    return new Promise((resolve) => {
      this.page.enqueue(async () => {
        try {
          await this.recheck();
        } finally {
          resolve();
        }
      });
    });
  }
}
