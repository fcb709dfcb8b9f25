// A list of threads (case page, "my threads").

import { h, replace, say } from './dom.js';
import { formatTime, t } from './i18n.js';

/**
 * @typedef {{id: string, subject: string, history: string, head: number, created_at: string, member: boolean}} ThreadRow
 */

/**
 * @param {HTMLElement} list
 * @param {HTMLElement} status
 * @param {ThreadRow[]} rows
 */
export function renderThreadRows(list, status, rows) {
  say(status, rows.length ? '' : t('threads.none'));
  replace(list, rows.map((row) => h('li', {},
    h('a', { href: `/threads/${row.id}/` }, row.subject),
    ' · ', h('time', { datetime: row.created_at }, formatTime(row.created_at)),
    ' · ', t('threads.entries', { n: row.head }),
    row.history === 'shared' ? ` · ${t('threads.historyShared')}` : ` · ${t('threads.historyFromJoin')}`,
    row.member ? null : h('span', { class: 'badge muted' }, t('threads.notMember')))));
}
