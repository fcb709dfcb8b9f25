// The composer: text with a Markdown subset, and the structured items —
// clarification (due date), answer, assurance (type, status moves),
// document (encrypted in the browser, with a progress bar), reply and edit.
// Nothing typed is lost: the composer is cleared only once the message is
// queued (shown as pending); a failure before that leaves everything as it
// was, and a message that later fails can be put back to edit and resend.

import { byId, say } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';

const TYPING_EVERY_MS = 3000; // at most one typing frame per 3 s

/**
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {{mode: 'reply' | 'edit' | 'answer' | 'assurance', item: Item, status?: string}} Context
 * @typedef {{text: string, kind: string, context: Context | null, due: string, assuranceType: string,
 *   assuranceStatus: string, docType: string, file: File | null}} Draft what the composer held when it sent
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
    /** @type {string | null} why sending is blocked (a broken record, a changed identity key) */
    this.blocked = null;
    /** @type {'info' | 'error'} how that reason is shown */
    this.blockedTone = 'error';
    /** @type {string | null} why the composer is closed for good (signed out, no longer a member) */
    this.closed = null;
    /** A submit is under way (encrypting, uploading, sealing): another one waits for it. */
    this.busy = false;
    this.submits = 0;
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

  /** Whether the send button may be pressed now. */
  updateButton() {
    this.button.disabled = Boolean(this.blocked || this.closed || this.busy);
  }

  /**
   * @param {string | null} reason why sending is blocked, or null
   * @param {'info' | 'error'} [tone] 'info' for a wait that ends by itself (a key still to come)
   */
  setBlocked(reason, tone = 'error') {
    const before = this.blocked;
    const beforeTone = this.blockedTone;
    if (reason === before && tone === beforeTone) return; // the status line is a live region: said once
    this.blocked = reason;
    this.blockedTone = tone;
    this.updateButton();
    if (reason) {
      this.status(reason, tone);
      return;
    }
    // Only the message blocking showed goes with it: another action's error stays.
    const line = byId('composer-status');
    if (before && line.getAttribute('data-tone') === beforeTone && line.textContent === before) this.status('');
  }

  /**
   * Close the composer for good. The text stays readable and can be copied:
   * the textarea turns read-only rather than disabled.
   * @param {string} reason
   */
  disable(reason) {
    this.closed = reason;
    for (const el of this.form.elements) {
      if (el instanceof HTMLTextAreaElement) el.readOnly = true;
      else /** @type {HTMLInputElement} */ (el).disabled = true;
    }
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
    this.kind.disabled = Boolean(this.closed);
    this.showKindFields();
  }

  /** @returns {Draft} what the composer holds now */
  snapshot() {
    return {
      text: this.text.value, kind: this.kind.value, context: this.context,
      due: byId('compose-due', HTMLInputElement).value,
      assuranceType: byId('compose-assurance-type', HTMLSelectElement).value,
      assuranceStatus: byId('compose-assurance-status', HTMLSelectElement).value,
      docType: byId('compose-doc-type', HTMLSelectElement).value,
      file: byId('compose-file', HTMLInputElement).files?.[0] ?? null,
    };
  }

  /**
   * Put a message that was not sent back into the composer, to edit and send
   * again. Refused while the composer holds other text, which it would replace.
   * @param {Draft} draft
   * @returns {boolean} whether it was put back
   */
  restore(draft) {
    if (this.text.value.trim() && this.text.value !== draft.text) {
      this.status(t('composer.finishFirst'), 'error');
      this.text.focus();
      return false;
    }
    this.text.value = draft.text;
    this.kind.value = draft.kind;
    byId('compose-due', HTMLInputElement).value = draft.due;
    byId('compose-assurance-type', HTMLSelectElement).value = draft.assuranceType;
    byId('compose-assurance-status', HTMLSelectElement).value = draft.assuranceStatus;
    byId('compose-doc-type', HTMLSelectElement).value = draft.docType;
    if (draft.file) setFile(byId('compose-file', HTMLInputElement), draft.file);
    const item = draft.context && this.page.state.bySeq.get(draft.context.item.seq);
    if (draft.context && item) {
      const text = draft.text;
      this.setContext(draft.context.mode, item, draft.context.status);
      this.text.value = text; // an edit's context loads the original text: keep the one written
    } else {
      this.clearContext();
    }
    this.status(t('composer.restored'));
    this.text.focus();
    return true;
  }

  /**
   * Empty the composer once a message is queued. Text typed meanwhile (during
   * an upload) is kept.
   * @param {Draft} sent
   */
  reset(sent) {
    if (this.text.value === sent.text) this.text.value = '';
    byId('compose-file', HTMLInputElement).value = '';
    byId('upload-progress', HTMLProgressElement).hidden = true;
    // A clarification, an assurance or a document is a deliberate move:
    // the next message is plain text unless the officer chooses again.
    this.kind.value = 'text';
    this.clearContext();
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

  /**
   * Send what the composer holds. The composer is emptied only once the
   * message is queued; until then (encrypting, uploading, checking keys,
   * sealing) a second submit is ignored, and any failure leaves the text,
   * context and file where they were, with the error below.
   */
  async submit() {
    if (this.busy || this.closed) return;
    if (this.blocked) {
      this.status(this.blocked, this.blockedTone);
      return;
    }
    this.busy = true;
    this.updateButton();
    const submit = ++this.submits;
    /** @type {{delivered: Promise<void>} | null} */
    let queued = null;
    try {
      const draft = this.snapshot();
      const item = await this.build();
      if (!item) return;
      this.status(t('composer.sending'));
      queued = await this.page.actions.queue(item.kind, item.meta, item.payload, draft);
      this.reset(draft);
    } catch (err) {
      byId('upload-progress', HTMLProgressElement).hidden = true;
      this.status(describeError(err), 'error');
    } finally {
      this.busy = false;
      this.updateButton();
      this.text.focus();
    }
    if (!queued) return;
    try {
      await queued.delivered;
      if (submit === this.submits) this.status(t('composer.sent'), 'ok');
    } catch (err) {
      // The pending message says "Not sent" and offers to edit and resend it.
      if (submit === this.submits) this.status(describeError(err), 'error');
    }
  }
}

/**
 * Choose `file` in a file input again (where the browser lets a script do so).
 * @param {HTMLInputElement} input
 * @param {File} file
 */
function setFile(input, file) {
  try {
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
  } catch {
    // The officer chooses the file again.
  }
}
