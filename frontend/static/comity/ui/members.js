// The members panel: who is in the thread (replayed from signed entries),
// presence, trust (safety numbers, verification), invitations and removals.

import { get } from '../transport/api.js';
import { digitGroups } from './directory.js';
import { byId, h, replace, say } from './dom.js';
import { describeError } from './errors.js';
import { formatTime, t } from './i18n.js';

const LIAISON_DAYS = 14; // default length of a liaison officer's invitation

export class Members {
  /** @param {import('./thread-page.js').ThreadPage} page */
  constructor(page) {
    this.page = page;
    /** @type {string | null} */
    this.trustUser = null;
    /** @type {Map<string, {display_name: string, authority: string | null, role: string}>} */
    this.candidates = new Map();
    this.wire();
  }

  wire() {
    byId('trust-close').addEventListener('click', () => this.closeTrust());
    byId('trust-verify').addEventListener('click', () => void this.verify());
    const form = /** @type {HTMLFormElement | null} */ (document.getElementById('invite'));
    if (!form) return;
    const select = byId('invite-user', HTMLSelectElement);
    select.addEventListener('change', () => this.onCandidate());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = byId('invite-status');
      const user = select.value;
      if (!user) return;
      const liaison = this.candidates.get(user)?.role === 'liaison';
      const until = byId('invite-expires', HTMLInputElement).value;
      if (liaison && !until) return say(status, t('invite.expiryNeeded'), 'error');
      const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
      button.disabled = true;
      say(status, t('invite.working'));
      try {
        await this.page.actions.invite(user, liaison ? new Date(until).toISOString() : null);
        say(status, t('invite.done'), 'ok');
        await this.loadCandidates();
      } catch (err) {
        say(status, describeError(err), 'error');
      } finally {
        button.disabled = false;
      }
    });
  }

  async loadCandidates() {
    const select = /** @type {HTMLSelectElement | null} */ (document.getElementById('invite-user'));
    if (!select) return;
    const rows = await get(`threads/${this.page.thread}/candidates`);
    this.candidates = new Map(rows.map((/** @type {any} */ r) => [r.user, r]));
    replace(select, h('option', { value: '' }, t('invite.choose')),
      rows.map((/** @type {any} */ r) => h('option', { value: r.user }, `${r.display_name} · ${r.authority ?? ''} · ${t(/** @type {any} */ (`role.${r.role}`))}`)));
    byId('invite-history').textContent = this.page.state.history === 'shared' ? t('invite.historyShared') : t('invite.historyFromJoin');
    this.onCandidate();
  }

  onCandidate() {
    const user = byId('invite-user', HTMLSelectElement).value;
    const liaison = this.candidates.get(user)?.role === 'liaison';
    byId('invite-expiry-field').hidden = !liaison;
    const input = byId('invite-expires', HTMLInputElement);
    if (liaison && !input.value) {
      const until = new Date(Date.now() + LIAISON_DAYS * 86_400_000);
      until.setSeconds(0, 0);
      input.value = new Date(until.getTime() - until.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    }
  }

  async render() {
    const page = this.page;
    const state = page.state;
    const mayManage = state.isMember && page.user.role !== 'liaison';
    const items = [];
    for (const [user, membership] of state.members) {
      const p = page.people.get(user);
      const keys = await page.directory.user(user).catch(() => null); // not served now: no trust button this time
      const me = user === page.me.user;
      const row = h('li', { 'data-user': user },
        h('span', { class: `presence ${page.online.has(user) || me ? 'online' : ''}`, title: page.online.has(user) || me ? t('members.online') : t('members.away') }),
        h('span', { class: 'visually-hidden' }, page.online.has(user) || me ? t('members.online') : t('members.away')),
        h('strong', {}, p?.name ?? t('thread.someone')), ' ', h('span', { class: 'authority' }, p?.authority ?? ''),
        me ? ` (${t('members.you')})` : '',
        membership.expires ? h('span', { class: 'help' }, ` ${t('members.until', { date: formatTime(membership.expires) })}`) : null);
      if (!me && keys) {
        const trust = h('button', { type: 'button', class: `link trust-${keys.trust}`, 'data-action': 'safety' }, t(`trust.${keys.trust}`));
        trust.addEventListener('click', () => this.openTrust(user));
        row.append(' · ', trust);
      }
      if (mayManage && !me) {
        const remove = h('button', { type: 'button', class: 'link danger', 'data-action': 'remove' }, t('members.remove'));
        remove.addEventListener('click', () => this.remove(user));
        row.append(' · ', remove);
      }
      items.push(row);
    }
    replace(byId('members'), items);
    if (state.isMember && this.candidates.size === 0) await this.loadCandidates().catch(() => {});
  }

  /** @param {string} user */
  async remove(user) {
    const name = this.page.people.get(user)?.name ?? '';
    if (!confirm(t('members.confirmRemove', { name }))) return;
    try {
      await this.page.actions.remove(user);
      await this.loadCandidates();
    } catch (err) {
      this.page.composer?.status(describeError(err), 'error');
    }
  }

  /** @param {string} user */
  async openTrust(user) {
    this.trustUser = user;
    const panel = byId('trust-panel');
    let keys;
    let digits;
    try {
      keys = await this.page.directory.user(user, { fresh: true });
      digits = await this.page.directory.safetyNumber(user);
    } catch (err) {
      this.page.composer?.status(describeError(err), 'error');
      return;
    }
    say(byId('trust-status'), ''); // what an earlier attempt said is not about this one
    byId('trust-title').textContent = t('trust.title', { name: keys?.display_name ?? '' });
    byId('trust-state').textContent = t(`trust.state.${keys?.trust ?? 'unverified'}`);
    replace(byId('safety-digits'), digitGroups(digits ?? '').map((g) => h('li', {}, g)));
    const qr = byId('safety-qr', HTMLImageElement);
    qr.hidden = !digits;
    if (digits) {
      qr.src = `/api/v1/safety-qr?number=${digits}`;
      qr.alt = t('trust.qr');
    }
    byId('trust-verify').hidden = !digits || keys?.trust === 'verified';
    panel.hidden = false;
    panel.scrollIntoView({ block: 'nearest' });
    byId('trust-verify').focus();
  }

  closeTrust() {
    byId('trust-panel').hidden = true;
    this.trustUser = null;
  }

  /**
   * Mark the identity key behind the shown safety number as verified. A
   * failure (no answer from the server, no identity key any more) is said in
   * the panel, next to the button: the person is still not verified.
   */
  async verify() {
    const user = this.trustUser;
    if (!user) return;
    const status = byId('trust-status');
    say(status, '');
    try {
      await this.page.directory.verify(user);
      await this.openTrust(user);
      await this.page.showAlerts();
      await this.render();
    } catch (err) {
      say(status, describeError(err), 'error');
    }
  }
}
