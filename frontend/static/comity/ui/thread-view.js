// Rendering a thread's items as DOM nodes (STYLE §17: text nodes only).
// Messages show sender, authority, time, kind, delivery/read state, reply
// context, edit history and files; other entries (members, keys, expiry…)
// show as events; anything that failed a check is shown loudly.

import { h } from './dom.js';
import { formatSize, formatTime, plainName, t } from './i18n.js';
import { renderMarkdown } from './markdown.js';

/**
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {import('./thread-state.js').ThreadState} ThreadState
 * @typedef {import('../../../types.js').FileRef} FileRef
 * @typedef {{name: string, authority: string | null}} Person
 * @typedef {{
 *   edits: Map<number, Item[]>, hidden: Set<number>, answers: Map<number, number>,
 *   assurance: Map<number, {status: string, seq: number}>, original: Map<number, number>,
 *   receipts: {upTo: number, user: string, at: string}[],
 * }} Derived
 * @typedef {{
 *   state: ThreadState, me: string, myAuthority: string, people: Map<string, Person>, derived: Derived, readUpTo: number,
 *   onReply: (item: Item) => void, onEdit: (item: Item) => void, onAnswer: (item: Item) => void,
 *   onAssurance: (item: Item, status: string) => void, onDownload: (file: FileRef, button: HTMLButtonElement) => void,
 *   onAcknowledge: (item: Item) => void, onRetract: (item: Item) => void,
 * }} ViewContext
 */

// Who may move an assurance where (the server enforces the same table, see
// cases/actions/workflow.py): the side giving it (the requested side of the
// assurance) or the side that asked for it. A revised offer (offered →
// offered) is made by offering again from the composer.
const GIVER_MOVES = /** @type {Record<string, string[]>} */ ({
  requested: ['offered', 'declined'], offered: ['withdrawn'], declined: ['offered'], accepted: ['withdrawn'],
});
const RECEIVER_MOVES = /** @type {Record<string, string[]>} */ ({
  requested: ['withdrawn'], offered: ['accepted', 'declined'], declined: ['requested'],
});

/**
 * Relations between messages, from their decrypted payloads: edits (only by
 * the original's sender), answers to clarifications, assurance status moves.
 * @param {ThreadState} state
 * @returns {Derived}
 */
export function derive(state) {
  /** @type {Derived} */
  const d = { edits: new Map(), hidden: new Set(), answers: new Map(), assurance: new Map(), original: new Map(), receipts: [] };
  for (const item of state.items) {
    if (item.kind === 'receipt' && !item.problem) {
      d.receipts.push({ upTo: Number(/** @type {any} */ (item.entry.body).seq), user: String(item.actor.user), at: item.at });
    }
    if (item.kind !== 'message' || !item.payload) continue;
    const kind = item.envelope?.header.kind;
    const payload = item.payload;
    if (payload.edits !== null) {
      const original = state.bySeq.get(payload.edits);
      if (original && original.actor.user === item.actor.user && original.kind === 'message') {
        d.edits.set(original.seq, [...(d.edits.get(original.seq) ?? []), item]);
        d.hidden.add(item.seq);
        continue;
      }
    }
    const meta = /** @type {Record<string, any>} */ (item.envelope?.header.meta ?? {});
    if (kind === 'assurance') {
      const ref = typeof meta.ref === 'number' ? meta.ref : payload.reply_to;
      const target = ref !== null ? state.bySeq.get(ref) : undefined;
      if (target && target.envelope?.header.kind === 'assurance') {
        d.assurance.set(target.seq, { status: meta.status, seq: item.seq });
        d.original.set(item.seq, target.seq);
      } else {
        d.assurance.set(item.seq, { status: meta.status, seq: item.seq });
      }
    }
    const closes = typeof meta.clarification === 'number' ? meta.clarification : payload.reply_to;
    if (kind === 'answer' && closes !== null) {
      const target = state.bySeq.get(closes);
      if (target?.envelope?.header.kind === 'clarification') d.answers.set(target.seq, item.seq);
    }
  }
  return d;
}

/**
 * @param {ViewContext} ctx
 * @param {string | null} user
 * @returns {Person}
 */
function person(ctx, user) {
  return (user && ctx.people.get(user)) || { name: user ? t('thread.someone') : t('thread.server'), authority: null };
}

/**
 * @param {ViewContext} ctx
 * @param {string | null} user
 */
function who(ctx, user) {
  const p = person(ctx, user);
  return h('span', { class: 'who' }, h('strong', {}, plainName(p.name)), p.authority ? h('span', { class: 'authority' }, p.authority) : null);
}

/**
 * The latest text of a message (its last edit by the same sender).
 * @param {ViewContext} ctx
 * @param {Item} item
 */
function latestText(ctx, item) {
  const edits = ctx.derived.edits.get(item.seq);
  return edits?.length ? edits[edits.length - 1].payload?.text ?? '' : item.payload?.text ?? '';
}

/**
 * @param {string} text
 * @param {number} [max]
 */
function snippet(text, max = 120) {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * @param {ViewContext} ctx
 * @param {Item} item
 * @returns {HTMLElement}
 */
export function renderItem(ctx, item) {
  if (item.kind === 'message') return renderMessage(ctx, item);
  return renderEvent(ctx, item);
}

/**
 * @param {ViewContext} ctx
 * @param {Item} item
 */
function renderMessage(ctx, item) {
  const header = item.envelope?.header;
  const meta = /** @type {Record<string, any>} */ (header?.meta ?? {});
  const kind = header?.kind ?? 'text';
  const mine = item.actor.user === ctx.me;
  const li = h('li', {
    class: `entry message kind-${kind}${mine ? ' mine' : ''}${item.problem ? ' untrusted' : ''}`, id: `e-${item.seq}`,
    'data-seq': item.seq, 'data-kind': kind, tabindex: -1,
  });
  const top = h('p', { class: 'entry-head' }, who(ctx, item.actor.user), ' ',
    h('time', { datetime: item.at }, formatTime(item.at)), ' ', kindBadge(ctx, item, kind, meta));
  if (mine) {
    const read = ctx.readUpTo >= item.seq;
    top.append(' ', h('span', { class: `delivery ${read ? 'read' : 'delivered'}` }, read ? t('thread.read') : t('thread.delivered')));
  }
  li.append(top);
  if (item.removed) {
    const key = item.removed.reason === 'retracted' ? 'thread.retracted' : 'thread.removed';
    li.append(h('p', { class: 'removed' }, t(key, { date: formatTime(item.removed.on) })));
    return li;
  }
  if (item.decryptError) {
    // Keys the server could not serve just now are no finding: said calmly, and tried again.
    const tone = item.decryptError === 'nokey' ? 'undecryptable' : item.decryptError === 'unavailable' ? 'pending-text' : 'alert-inline';
    li.append(h('p', { class: tone }, t(/** @type {any} */ (`decrypt.${item.decryptError}`))));
    return li;
  }
  if (!item.payload) {
    li.append(h('p', { class: 'pending-text' }, t('thread.decrypting')));
    return li;
  }
  const payload = item.payload;
  const replyTo = ctx.derived.original.get(item.seq) ?? payload.reply_to;
  if (replyTo !== null && replyTo !== undefined) {
    const target = ctx.state.bySeq.get(replyTo);
    const text = target?.payload ? snippet(latestText(ctx, target)) : `#${replyTo}`;
    li.append(h('p', { class: 'reply-to' }, h('a', { href: `#e-${replyTo}` }, t('thread.inReplyTo', { name: person(ctx, target?.actor.user ?? null).name })), ' ', h('q', {}, text)));
  }
  const body = h('div', { class: 'body' });
  body.append(renderMarkdown(latestText(ctx, item)));
  li.append(body);
  const edits = ctx.derived.edits.get(item.seq);
  if (edits?.length) {
    const history = h('details', { class: 'edit-history' }, h('summary', {}, t('thread.edited', { n: edits.length })));
    const versions = h('ol', {});
    for (const version of [item, ...edits.slice(0, -1)]) {
      const li2 = h('li', {}, h('time', { datetime: version.at }, formatTime(version.at)), ' ');
      li2.append(renderMarkdown(version.payload?.text ?? ''));
      versions.append(li2);
    }
    history.append(versions);
    li.append(history);
  }
  if (payload.files.length) {
    li.append(h('ul', { class: 'files' }, payload.files.map((file) => {
      const button = h('button', { type: 'button', class: 'file' }, t('thread.download', { name: file.name || '?', size: formatSize(file.size) }));
      button.addEventListener('click', () => ctx.onDownload(file, button));
      return h('li', {}, button);
    })));
  }
  const acknowledged = acknowledgements(ctx, item);
  if (acknowledged.length) {
    li.append(h('p', { class: 'acknowledged' },
      acknowledged.map((a) => t('thread.acknowledged', { authority: a.authority, time: formatTime(a.at) })).join('; ')));
  }
  li.append(actions(ctx, item, kind, mine));
  return li;
}

/**
 * Formal acknowledgements covering a message, by authorities other than its
 * sender's: the first from each, with its time ("acknowledged by … at …").
 * @param {ViewContext} ctx
 * @param {Item} item
 * @returns {{authority: string, at: string}[]}
 */
export function acknowledgements(ctx, item) {
  const sender = person(ctx, item.actor.user).authority;
  /** @type {Map<string, string>} */
  const first = new Map();
  for (const receipt of ctx.derived.receipts) {
    const authority = person(ctx, receipt.user).authority;
    if (receipt.upTo >= item.seq && authority && authority !== sender && !first.has(authority)) first.set(authority, receipt.at);
  }
  return [...first].map(([authority, at]) => ({ authority, at }));
}

/**
 * @param {ViewContext} ctx
 * @param {Item} item
 * @param {string} kind
 * @param {Record<string, any>} meta
 */
function kindBadge(ctx, item, kind, meta) {
  if (kind === 'clarification') {
    const answered = ctx.derived.answers.get(item.seq);
    return h('span', { class: `badge ${answered ? 'ok' : 'warn'}` },
      t('kind.clarification'), ' · ', t('thread.due', { date: String(meta.due) }), ' · ',
      answered ? h('a', { href: `#e-${answered}` }, t('thread.answered')) : t('thread.open'));
  }
  if (kind === 'assurance') {
    const original = ctx.derived.original.get(item.seq);
    const status = original === undefined ? (ctx.derived.assurance.get(item.seq)?.status ?? meta.status) : meta.status;
    return h('span', { class: `badge assurance status-${status}` },
      t('kind.assurance'), ' · ', t(/** @type {any} */ (`assurance.${meta.type}`)), ' · ',
      h('span', { class: 'assurance-status' }, t(/** @type {any} */ (`status.${status}`))));
  }
  if (kind === 'document') return h('span', { class: 'badge' }, t('kind.document'), ' · ', t(/** @type {any} */ (`doc.${meta.doc_type}`)));
  if (kind === 'answer') return h('span', { class: 'badge ok' }, t('kind.answer'));
  if (kind === 'note') return h('span', { class: 'badge muted' }, t('kind.note'));
  return null;
}

/**
 * @param {ViewContext} ctx
 * @param {Item} item
 * @param {string} kind
 * @param {boolean} mine
 */
function actions(ctx, item, kind, mine) {
  const bar = h('p', { class: 'entry-actions' });
  if (!ctx.state.isMember) return bar;
  /** @param {string} label @param {() => void} action @param {string} [name] */
  const button = (label, action, name) => {
    const b = h('button', { type: 'button', class: 'link', 'data-action': name ?? label }, label);
    b.addEventListener('click', action);
    bar.append(b, ' ');
  };
  button(t('thread.reply'), () => ctx.onReply(item), 'reply');
  if (mine && (kind === 'text' || kind === 'note')) button(t('thread.edit'), () => ctx.onEdit(item), 'edit');
  if (kind === 'clarification' && !ctx.derived.answers.has(item.seq)) button(t('thread.answer'), () => ctx.onAnswer(item), 'answer');
  if (!mine) button(t('thread.acknowledge'), () => ctx.onAcknowledge(item), 'acknowledge');
  if (mine) button(t('thread.retract'), () => ctx.onRetract(item), 'retract');
  if (kind === 'assurance' && !ctx.derived.original.has(item.seq)) {
    const status = ctx.derived.assurance.get(item.seq)?.status ?? 'requested';
    const opener = person(ctx, item.actor.user).authority;
    const openedAs = /** @type {any} */ (item.envelope?.header.meta).status;
    const asker = openedAs === 'requested' ? opener : ctx.state.parties.find((p) => p !== opener);
    const party = ctx.state.parties.includes(ctx.myAuthority) && ctx.me !== '';
    const moves = !party ? [] : ctx.myAuthority === asker ? RECEIVER_MOVES[status] : GIVER_MOVES[status];
    for (const next of moves ?? []) {
      button(t(/** @type {any} */ (`assurance.to.${next}`)), () => ctx.onAssurance(item, next), `assurance-${next}`);
    }
  }
  return bar;
}

/**
 * @param {ViewContext} ctx
 * @param {Item} item
 */
function renderEvent(ctx, item) {
  const li = h('li', { class: `entry event kind-${item.kind}${item.problem ? ' untrusted' : ''}`, id: `e-${item.seq}`, 'data-seq': item.seq });
  const body = /** @type {any} */ (item.entry.body);
  const actor = person(ctx, item.actor.user).name;
  let text = '';
  switch (item.kind) {
    case 'create':
      text = t('event.create', { name: actor, history: body.history === 'shared' ? t('threads.historyShared') : t('threads.historyFromJoin') });
      break;
    case 'member': {
      const target = person(ctx, body.user).name;
      if (body.action === 'add') {
        text = body.expires ? t('event.addUntil', { name: actor, target, date: formatTime(body.expires) }) : t('event.add', { name: actor, target });
      } else if (body.action === 'remove') text = t('event.remove', { name: actor, target });
      else text = t('event.leave', { name: actor });
      break;
    }
    case 'expiry':
      text = t(body.reason === 'revoked' ? 'event.revoked' : 'event.expired', { target: person(ctx, body.user).name });
      break;
    case 'keys':
      return renderKeys(ctx, item, li, actor);
    case 'receipt': {
      const authority = person(ctx, item.actor.user).authority;
      text = t('event.receipt', { name: authority ? `${actor} (${authority})` : actor, seq: body.seq });
      break;
    }
    case 'status':
      text = t('event.status', { from: String(body.from), to: String(body.to) });
      break;
    case 'export':
      text = t('event.export', { name: person(ctx, body.by).name });
      break;
    case 'purge':
      text = body.reason === 'retracted' ? t('event.retracted', { name: actor, seq: body.seq }) : t('event.purge', { seq: body.seq });
      break;
  }
  li.append(h('p', {}, h('time', { datetime: item.at }, formatTime(item.at)), ' ', text));
  if (item.problem) li.append(h('p', { class: 'alert-inline' }, t('thread.untrusted', { why: item.problem })));
  return li;
}

/**
 * A key package: who made it, for which epoch, to whom — including the two
 * authorities' records keys ("recorded by …", DESIGN §4).
 * @param {ViewContext} ctx
 * @param {Item} item
 * @param {HTMLLIElement} li
 * @param {string} actor
 */
function renderKeys(ctx, item, li, actor) {
  const recipients = item.recipients ?? [];
  const records = recipients.filter((r) => r.kind === 'records').map((r) => r.id.slice('records:'.length));
  const devices = recipients.filter((r) => r.kind === 'device').length;
  const line = item.reason === 'history'
    ? t('event.history', { name: actor, epoch: item.epoch ?? '?' })
    : t('event.keys', { name: actor, epoch: item.epoch ?? '?', devices });
  const details = h('details', { class: 'recipients' },
    h('summary', {}, line, records.length ? ` — ${t('event.recordedBy', { authorities: records.join(' / ') })}` : ''),
    h('ul', {}, recipients.map((r) => {
      if (r.kind === 'records') return h('li', {}, t('recipient.records', { authority: r.id.slice(8) }));
      if (r.kind === 'backup') return h('li', {}, t('recipient.backup', { name: person(ctx, r.id.slice(7)).name }));
      const owner = [...ctx.people.entries()].find(([, p]) => /** @type {any} */ (p).devices?.includes(r.id));
      return h('li', {}, t('recipient.device', { id: r.id.slice(0, 8), name: owner ? owner[1].name : '' }));
    })));
  li.append(h('p', {}, h('time', { datetime: item.at }, formatTime(item.at)), ' '), details);
  if (item.problem) li.append(h('p', { class: 'alert-inline' }, t('thread.untrusted', { why: item.problem })));
  return li;
}

/**
 * A message of mine not yet in the record. One that failed offers to put its
 * text back into the composer, to edit and send again.
 * @param {string} clientId
 * @param {string} text
 * @param {'sending' | 'waiting' | 'failed'} state
 * @param {string} [why]
 * @param {() => void} [onRestore] given for a failed message the composer can take back
 */
export function renderPending(clientId, text, state, why, onRestore) {
  const li = h('li', { class: `entry message mine pending state-${state}`, 'data-client-id': clientId },
    h('p', { class: 'entry-head' }, h('span', { class: `delivery ${state}` }, t(/** @type {any} */ (`pending.${state}`))), why ? ` — ${why}` : ''),
    h('div', { class: 'body' }, renderMarkdown(text)));
  if (state === 'failed' && onRestore) {
    const button = h('button', { type: 'button', class: 'link', 'data-action': 'restore' }, t('pending.restore'));
    button.addEventListener('click', onRestore);
    li.append(h('p', { class: 'entry-actions' }, button));
  }
  return li;
}
