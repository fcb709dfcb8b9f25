// The timeline of a thread page: the newest items, "show earlier", the
// messages still on their way, where focus and the scroll position stay,
// and how far the others have read. Rendered at most once per frame, and
// keyed, so that a burst of entries neither rebuilds the list nor moves the
// reader's place in it.

import { byId } from './dom.js';
import { derive, renderItem, renderPending } from './thread-view.js';

export const PAGE = 50; // items rendered at first; "show earlier" adds as many

/**
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {import('../../../types.js').FileRef} FileRef
 */

export class ThreadTimeline {
  /** @param {import('./thread-page.js').ThreadPage} page */
  constructor(page) {
    this.page = page;
    this.list = byId('entries');
    this.renderPending = false;
    /** @type {Map<number, {key: string, node: HTMLElement}>} */
    this.nodes = new Map();
  }

  /** @returns {Item[]} items shown in the timeline, oldest first */
  visibleItems() {
    const { state } = this.page;
    const derived = this.page.derived ?? derive(state);
    return state.items.filter((i) => !derived.hidden.has(i.seq));
  }

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
    const page = this.page;
    if (!page.loaded) return;
    page.derived = derive(page.state);
    const items = this.visibleItems();
    const start = Math.max(0, items.length - page.shown);
    const focused = /** @type {HTMLElement | null} */ (document.activeElement?.closest?.('[data-seq]') ?? null);
    const focusSeq = focused?.dataset.seq;
    const focusAction = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.action;
    const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
    const readUpTo = Math.max(0, ...[...page.reads].filter(([u]) => u !== page.me.user).map(([, s]) => s));
    const ctx = {
      state: page.state, me: page.me.user, myAuthority: page.user.authority, people: page.people, derived: page.derived, readUpTo,
      onReply: (/** @type {Item} */ i) => page.composer?.setContext('reply', i),
      onEdit: (/** @type {Item} */ i) => page.composer?.setContext('edit', i),
      onAnswer: (/** @type {Item} */ i) => page.composer?.setContext('answer', i),
      onAssurance: (/** @type {Item} */ i, /** @type {string} */ s) => page.composer?.setContext('assurance', i, s),
      onDownload: (/** @type {FileRef} */ f, /** @type {HTMLButtonElement} */ b) => page.actions.download(f, b),
      onAcknowledge: (/** @type {Item} */ i) => page.actions.acknowledge(i),
      onRetract: (/** @type {Item} */ i) => page.actions.retract(i),
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
    for (const [clientId, p] of page.pending) {
      const restore = p.state === 'failed' && p.draft && page.composer ? () => this.restorePending(clientId) : undefined;
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
    const page = this.page;
    const d = /** @type {import('./thread-view.js').Derived} */ (page.derived);
    return [
      page.peopleVersion, page.state.isMember ? 1 : 0, item.payload ? 1 : 0, item.decryptError ?? '', item.problem ?? '',
      d.edits.get(item.seq)?.length ?? 0, d.answers.get(item.seq) ?? '', d.assurance.get(item.seq)?.status ?? '',
      item.actor.user === page.me.user && readUpTo >= item.seq ? 'r' : '', item.removed?.reason ?? '',
      d.receipts.filter((r) => r.upTo >= item.seq).length,
    ].join('|');
  }

  showEarlier() {
    this.page.shown += PAGE;
    this.page.enqueue(async () => {
      await this.page.history.decryptWindow();
      this.render();
    });
  }

  /**
   * Put a message that was not sent back into the composer; its bubble goes.
   * @param {string} clientId
   */
  restorePending(clientId) {
    const draft = this.page.pending.get(clientId)?.draft;
    if (!draft || !this.page.composer?.restore(draft)) return;
    this.page.pending.delete(clientId);
    this.render();
  }

  updatePending() {
    const offline = this.page.socket.state !== 'open';
    for (const p of this.page.pending.values()) if (p.state !== 'failed') p.state = offline ? 'waiting' : 'sending';
    this.render();
  }
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
