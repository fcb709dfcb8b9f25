// The composer: text with a Markdown subset, and the structured items —
// clarification (due date), answer, assurance (type, status moves),
// document (encrypted in the browser, with a progress bar), reply and edit.

import { byId, say } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';

const TYPING_EVERY_MS = 3000; // at most one typing frame per 3 s

/**
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {{mode: 'reply' | 'edit' | 'answer' | 'assurance', item: Item, status?: string}} Context
 */

export class Composer {
  /** @param {import('./thread-page.js').ThreadPage} page */
  constructor(page) {
    this.page = page;
    this.form = byId('composer', HTMLFormElement);
    this.text = byId('compose-text', HTMLTextAreaElement);
    this.kind = byId('compose-kind', HTMLSelectElement);
    this.button = byId('send-button', HTMLButtonElement);
    /** @type {Context | null} */
    this.context = null;
    /** @type {string | null} */
    this.blocked = null;
    this.lastTyping = 0;
    this.kind.addEventListener('change', () => this.showKindFields());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void this.submit();
      }
    });
    this.text.addEventListener('input', () => this.typing());
    byId('composer-cancel').addEventListener('click', () => this.clearContext());
    this.showKindFields();
  }

  showKindFields() {
    const kind = this.context ? null : this.kind.value;
    for (const el of this.form.querySelectorAll('[data-for-kind]')) {
      /** @type {HTMLElement} */ (el).hidden = el.getAttribute('data-for-kind') !== kind;
    }
  }

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    this.page.socket.raw({ type: 'typing', thread: this.page.thread });
  }

  /**
   * @param {string} text
   * @param {'info' | 'error' | 'ok'} [tone]
   */
  status(text, tone = 'info') {
    say(byId('composer-status'), text, tone);
  }

  /** @param {string | null} reason why sending is blocked, or null */
  setBlocked(reason) {
    this.blocked = reason;
    this.button.disabled = Boolean(reason);
    if (reason) this.status(reason, 'error');
    else if (byId('composer-status').getAttribute('data-tone') === 'error') this.status('');
  }

  /** @param {string} reason */
  disable(reason) {
    for (const el of this.form.elements) /** @type {HTMLInputElement} */ (el).disabled = true;
    this.status(reason, 'error');
  }

  /**
   * Reply to, edit, answer or move the status of an item.
   * @param {Context['mode']} mode
   * @param {Item} item
   * @param {string} [status]
   */
  setContext(mode, item, status) {
    this.context = { mode, item, status };
    const name = this.page.people.get(item.actor.user ?? '')?.name ?? '';
    const label = mode === 'assurance'
      ? t(/** @type {any} */ (`composer.assurance.${status}`))
      : t(/** @type {any} */ (`composer.${mode}`), { name });
    byId('composer-context-text').textContent = label;
    byId('composer-context').hidden = false;
    this.kind.disabled = true;
    if (mode === 'edit') {
      const edits = this.page.derived?.edits.get(item.seq);
      this.text.value = edits?.length ? edits[edits.length - 1].payload?.text ?? '' : item.payload?.text ?? '';
    }
    this.showKindFields();
    this.text.focus();
  }

  clearContext() {
    this.context = null;
    byId('composer-context').hidden = true;
    this.kind.disabled = false;
    this.showKindFields();
  }

  /**
   * The item to send from the form and context.
   * @returns {Promise<{kind: import('../../../types.js').MessageKind, meta: Record<string, any>,
   *   payload: import('../../../types.js').Payload} | null>}
   */
  async build() {
    const text = this.text.value;
    const context = this.context;
    /** @type {import('../../../types.js').Payload} */
    const payload = { text, reply_to: null, edits: null, files: [] };
    if (context?.mode === 'edit') {
      const kind = context.item.envelope?.header.kind === 'note' ? 'note' : 'text';
      return { kind, meta: {}, payload: { ...payload, edits: context.item.seq } };
    }
    // Answers and assurance moves name what they close or move in the
    // server-visible meta too (the server never sees reply_to).
    if (context?.mode === 'answer') {
      return { kind: 'answer', meta: { clarification: context.item.seq }, payload: { ...payload, reply_to: context.item.seq } };
    }
    if (context?.mode === 'assurance') {
      const type = /** @type {any} */ (context.item.envelope?.header.meta).type;
      const meta = { type, status: context.status, ref: context.item.seq };
      return { kind: 'assurance', meta, payload: { ...payload, reply_to: context.item.seq } };
    }
    if (context?.mode === 'reply') payload.reply_to = context.item.seq;
    const kind = /** @type {import('../../../types.js').MessageKind} */ (this.kind.value);
    if (kind === 'clarification') {
      const due = byId('compose-due', HTMLInputElement).value;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(due)) throw new Error(t('composer.dueNeeded'));
      if (!text.trim()) throw new Error(t('composer.textNeeded'));
      return { kind, meta: { due }, payload };
    }
    if (kind === 'assurance') {
      if (!text.trim()) throw new Error(t('composer.textNeeded'));
      const meta = { type: byId('compose-assurance-type', HTMLSelectElement).value, status: byId('compose-assurance-status', HTMLSelectElement).value };
      return { kind, meta, payload };
    }
    if (kind === 'document') {
      const file = byId('compose-file', HTMLInputElement).files?.[0];
      if (!file) throw new Error(t('composer.fileNeeded'));
      const progress = byId('upload-progress', HTMLProgressElement);
      progress.hidden = false;
      progress.value = 0;
      this.status(t('composer.encrypting', { name: file.name }));
      const ref = await this.page.actions.uploadFile(file, (fraction) => {
        progress.value = Math.round(fraction * 100);
      });
      return { kind, meta: { doc_type: byId('compose-doc-type', HTMLSelectElement).value }, payload: { ...payload, files: [ref] } };
    }
    if (!text.trim()) return null;
    return { kind, meta: {}, payload };
  }

  async submit() {
    if (this.blocked) {
      this.status(this.blocked, 'error');
      return;
    }
    this.button.disabled = true;
    try {
      const item = await this.build();
      if (!item) return;
      this.status(t('composer.sending'));
      const sent = this.page.actions.send(item.kind, item.meta, item.payload);
      this.text.value = '';
      byId('compose-file', HTMLInputElement).value = '';
      byId('upload-progress', HTMLProgressElement).hidden = true;
      // A clarification, an assurance or a document is a deliberate move:
      // the next message is plain text unless the officer chooses again.
      this.kind.value = 'text';
      this.clearContext();
      await sent;
      this.status(t('composer.sent'), 'ok');
    } catch (err) {
      this.status(describeError(err), 'error');
    } finally {
      this.button.disabled = Boolean(this.blocked);
      this.text.focus();
    }
  }
}
