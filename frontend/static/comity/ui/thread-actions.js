// What a member does in a thread (DESIGN §4, §7): send messages (rotating
// the key first when the epoch is closed or the devices changed), upload and
// download encrypted files, invite (with shared history) and remove members.

import * as C from '../crypto/index.js';
import { downloadBlob, get, post, uploadBlob } from '../transport/api.js';
import { SocketError } from '../transport/socket.js';
import { announce, h } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';

const HANDLING_TTL_MS = 60_000; // how long a thread's default handling code is reused

/**
 * @typedef {import('../../../types.js').Payload} Payload
 * @typedef {import('../../../types.js').FileRef} FileRef
 * @typedef {import('./thread-state.js').Item} Item
 */

export class ThreadActions {
  /** @param {import('./thread-page.js').ThreadPage} page */
  constructor(page) {
    this.page = page;
    this.state = page.state;
    this.socket = page.socket;
    this.thread = page.thread;
    /** @type {Promise<void> | null} */
    this.rotating = null;
    /** @type {{code: string | null, at: number} | null} */
    this.handling = null;
  }

  /**
   * Rotate to a new epoch (one at a time); resolves once the package is in
   * the record. Members it keys in for the first time (joined since the last
   * package) then get the earlier epochs I hold, if history is shared: the
   * inviter's browser does this at once, or, if it closed first, whichever
   * member rotates next.
   */
  rotate() {
    this.rotating ??= (async () => {
      // Entries waiting for keys may hold the epochs and members a package must follow.
      if (this.state.stalled) throw new Error(t('thread.unverifiedNoSend'));
      const newcomers = this.state.newcomers;
      const { pkg } = await this.state.rotation();
      let mine = true;
      try {
        await this.socket.request({ type: 'keys', thread: this.thread, package: pkg });
      } catch (err) {
        // Someone else rotated first (the server says conflict): their package brings the epoch on,
        // and they share the history.
        if (!(err instanceof SocketError && err.code === 'conflict')) throw err;
        mine = false;
      }
      await this.page.waitFor(() => this.state.epoch >= pkg.epoch);
      if (this.state.needsRotation) throw new Error(t('thread.noKey'));
      for (const user of mine ? newcomers : []) {
        for (const history of await this.state.historyFor(user)) {
          await this.socket.request({ type: 'keys', thread: this.thread, package: history });
        }
      }
    })().finally(() => { this.rotating = null; });
    return this.rotating;
  }

  /**
   * Before sending: a record verified to its end, no changed identity, an open
   * epoch that every current device holds.
   */
  async ready() {
    if (this.state.stalled) await this.page.retryVerification();
    if (this.state.stalled) throw new Error(t('thread.unverifiedNoSend'));
    await Promise.all([...this.state.members.keys()].map((u) => this.page.directory.user(u, { fresh: true })));
    await this.page.showAlerts();
    if (this.page.blocked) throw new Error(this.state.broken ? t('thread.brokenNoSend') : t('trust.blocked'));
    // Not a rotation of mine: only a member keyed before me may make the package that admits me.
    if (this.state.awaitingAdmission) throw new Error(t('thread.awaitingKey'));
    if (this.state.needsRotation || (await this.state.devicesChanged(false))) await this.rotate();
  }

  /**
   * Encrypt, sign and queue one message. Resolves once it is registered as
   * pending (shown in the timeline), with `delivered`, which settles once it
   * is in the record or refused. Rejects, with nothing queued, when it cannot
   * be sealed (keys not fetched, no open epoch, record not verifiable).
   * @param {import('../../../types.js').MessageKind} kind
   * @param {Record<string, any>} meta
   * @param {Payload} payload
   * @param {import('./composer.js').Draft} [draft] what the composer held, to put back if it is not sent
   * @returns {Promise<{clientId: string, delivered: Promise<void>}>}
   */
  async queue(kind, meta, payload, draft) {
    await this.ready();
    const handling = await this.defaultHandling();
    if (handling && !('handling' in meta)) meta = { ...meta, handling }; // signed, so it reaches exports (docs/protocol.md)
    const envelope = await this.state.seal(kind, meta, payload);
    const clientId = envelope.header.client_id;
    this.page.pending.set(clientId, { text: payload.text, state: this.socket.state === 'open' ? 'sending' : 'waiting', draft });
    this.page.render();
    const delivered = this.deliver(envelope, kind, meta, payload, draft);
    delivered.catch(() => {}); // the caller may stop listening; the pending message shows the failure
    return { clientId, delivered };
  }

  /**
   * Encrypt, sign and send one message; shown as pending until it is in the record.
   * @param {import('../../../types.js').MessageKind} kind
   * @param {Record<string, any>} meta
   * @param {Payload} payload
   */
  async send(kind, meta, payload) {
    await (await this.queue(kind, meta, payload)).delivered;
  }

  /**
   * Send a queued envelope until it is in the record; re-sealed under a new
   * epoch (same client_id: stored once) if the key changed meanwhile.
   * @param {import('../../../types.js').Envelope} envelope
   * @param {import('../../../types.js').MessageKind} kind
   * @param {Record<string, any>} meta
   * @param {Payload} payload
   * @param {import('./composer.js').Draft} [draft]
   */
  async deliver(envelope, kind, meta, payload, draft) {
    const clientId = envelope.header.client_id;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.socket.request({ type: 'send', thread: this.thread, envelope });
        break;
      } catch (err) {
        const retry = err instanceof SocketError && (err.code === 'stale_epoch' || err.code === 'conflict') && attempt < 2;
        if (!retry) {
          this.page.pending.set(clientId, { text: payload.text, state: 'failed', why: describeError(err), draft });
          this.page.render();
          throw err;
        }
        try {
          await this.rotate();
          envelope = await this.state.seal(kind, meta, payload, clientId); // same client_id: stored once
        } catch (again) {
          this.page.pending.set(clientId, { text: payload.text, state: 'failed', why: describeError(again), draft });
          this.page.render();
          throw again;
        }
      }
    }
    await this.page.waitFor(() => this.state.byClientId.has(clientId)).catch(() => {});
    this.page.pending.delete(clientId);
    this.page.render();
  }

  /**
   * The thread's default handling code, if any (cached for a minute).
   * @returns {Promise<string | null>}
   */
  async defaultHandling() {
    if (!this.handling || Date.now() - this.handling.at > HANDLING_TTL_MS) {
      let code = null;
      try {
        code = (await get(`threads/${this.thread}/handling`)).default ?? null;
      } catch {
        code = null; // an older server without handling codes
      }
      this.handling = { code, at: Date.now() };
    }
    return this.handling.code;
  }

  /**
   * Encrypt a file in the browser and upload the ciphertext.
   * @param {File} file
   * @param {(fraction: number) => void} onProgress 0..1 over encryption then upload
   * @returns {Promise<FileRef>}
   */
  async uploadFile(file, onProgress) {
    const encrypted = await C.encryptFile(file, { onProgress: (done, total) => onProgress(total ? (done / total) * 0.5 : 0.5) });
    const stored = await uploadBlob(this.thread, encrypted.blob, encrypted.sha256, (done, total) => onProgress(0.5 + (total ? (done / total) * 0.5 : 0.5)));
    return {
      blob: stored.id, name: file.name, mime: file.type || 'application/octet-stream', size: encrypted.size,
      key: encrypted.key, sha256: encrypted.sha256,
    };
  }

  /**
   * Download, check and decrypt a file, then hand it to the browser to save.
   * @param {FileRef} file
   * @param {HTMLButtonElement} button
   */
  async download(file, button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = t('thread.downloading');
    try {
      const blob = await downloadBlob(file.blob);
      const plain = await C.decryptFile(blob, file.key, { sha256: file.sha256 });
      const url = URL.createObjectURL(new Blob([plain], { type: 'application/octet-stream' }));
      const link = h('a', { href: url, download: file.name || 'file' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      announce(t('thread.downloaded', { name: file.name }));
    } catch (err) {
      this.page.composer?.status(describeError(err), 'error');
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  // --- the record -------------------------------------------------------------

  /**
   * Formally acknowledge the record up to `item` (DESIGN §4): this device signs
   * the entry's seq and hash, and the receipt becomes an entry itself.
   * @param {Item} item
   */
  async acknowledge(item) {
    try {
      const receipt = await C.signObject(
        { v: 1, thread: this.thread, seq: item.seq, hash: item.hash, device: this.page.me.device }, this.page.me.sigPrivate);
      await this.socket.request({ type: 'acknowledge', thread: this.thread, receipt });
      announce(t('thread.acknowledgedSent', { seq: item.seq }));
    } catch (err) {
      this.page.composer?.status(describeError(err), 'error');
    }
  }

  /**
   * Retract one of my messages: the server drops its ciphertext and records
   * the retraction; the entry and its hash stay (DESIGN §5). The server cannot
   * read which files the message carries, so they are named for it to delete.
   * @param {Item} item
   */
  async retract(item) {
    if (!window.confirm(t('thread.retractConfirm'))) return;
    const blobs = (item.payload?.files ?? []).map((file) => file.blob);
    try {
      await post(`threads/${this.thread}/entries/${item.seq}/retract`, { blobs });
      announce(t('thread.retractedSent'));
    } catch (err) {
      this.page.composer?.status(describeError(err), 'error');
    }
  }

  // --- membership -------------------------------------------------------------

  /**
   * Invite someone: the signed change, a new epoch that includes them, and
   * (shared history) the earlier epochs re-wrapped for their devices.
   * @param {string} user
   * @param {string | null} expires
   */
  async invite(user, expires) {
    await this.ready();
    await this.rotating?.catch(() => {}); // its package was made without them: the rotation below must follow it
    const change = await this.state.change('add', user, expires);
    await this.socket.request({ type: 'member', thread: this.thread, change });
    await this.page.waitFor(() => this.state.members.has(user));
    await this.rotate(); // keys them in, with the history
  }

  /**
   * Remove a member, then rotate so they cannot read what follows.
   * @param {string} user
   */
  async remove(user) {
    const change = await this.state.change('remove', user);
    await this.socket.request({ type: 'member', thread: this.thread, change });
    await this.page.waitFor(() => !this.state.members.has(user));
    await this.rotate();
  }

  async leave() {
    const change = await this.state.change('leave', this.page.me.user);
    await this.socket.request({ type: 'member', thread: this.thread, change });
  }
}
