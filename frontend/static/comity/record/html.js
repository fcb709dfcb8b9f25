// record.html of an exported bundle: the whole record as one page that reads
// and prints well, with no script and no outside resource (DESIGN §5). Built
// as detached DOM nodes (text only ever as text nodes, message Markdown
// through the client's own renderer), then serialised. The page's own CSP
// forbids scripts, in case a reader opens it in a browser.

import { h } from '../ui/dom.js';
import { renderMarkdown } from '../ui/markdown.js';

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;color:#1b1f24;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;vertical-align:top}
.entry{border-top:1px solid #d0d7de;padding:.6rem 0}.meta{color:#59636e;font-size:.85rem}
.kind{font-weight:600;text-transform:uppercase;font-size:.75rem;letter-spacing:.05em}
.purged{color:#9a6700;font-style:italic}.hash{font-family:monospace;font-size:.75rem;word-break:break-all}
@media print{body{margin:0}.entry{break-inside:avoid}}
`;
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/**
 * @typedef {import('./bundle.js').RecordItem} RecordItem
 * @typedef {import('./bundle.js').Member} Member
 * @typedef {import('./bundle.js').Problem} Problem
 */

/**
 * @param {Map<string, Member>} members
 * @param {string | null | undefined} user
 */
function who(members, user) {
  if (!user) return 'Comity (server)';
  const member = members.get(user);
  return member ? `${member.display_name} (${member.authority ?? '—'})` : user;
}

/**
 * @param {RecordItem} item
 * @param {Map<string, Member>} members
 * @param {Map<number, string>} purges reason of each purged seq
 * @param {Problem[]} problems what the export could not show of this entry
 * @returns {HTMLElement[]}
 */
function body(item, members, purges, problems) {
  const { entry } = item;
  const b = /** @type {any} */ (entry.body ?? {});
  if (item.digest !== undefined) {
    const why = purges.get(entry.seq) === 'retracted' ? 'Content retracted by its sender on' : 'Content removed under retention on';
    return [h('p', { class: 'purged' }, `${why} ${item.purged_on ?? ''}.`)];
  }
  switch (entry.kind) {
    case 'message': {
      const header = b.header ?? {};
      const meta = Object.entries(header.meta ?? {}).sort().map(([k, v]) => `${k}: ${String(v)}`).join(' ');
      if (!item.payload && problems.length) {
        return [h('p', { class: 'purged' }, `[${header.kind}] ${meta} Not shown: ${problems.map((x) => x.what).join('; ')}.`)];
      }
      if (!item.payload) return [h('p', {}, `[${header.kind}] ${meta} (encrypted: open with the records key)`)];
      const p = item.payload;
      const leftOut = problems.filter((x) => x.file).map((x) => x.what);
      const text = h('div', {});
      text.appendChild(renderMarkdown(p.text));
      return [
        h('p', { class: 'meta' }, `${header.kind} ${meta}`),
        ...(p.reply_to ? [h('p', { class: 'meta' }, `In reply to entry ${p.reply_to}`)] : []),
        ...(p.edits ? [h('p', { class: 'meta' }, `Edits entry ${p.edits}`)] : []),
        text,
        ...(p.files.length ? [h('ul', {}, p.files.map((f) => h('li', {}, `${f.name} (${f.size} bytes, SHA-256 ${f.sha256})`)))] : []),
        ...(leftOut.length ? [h('p', { class: 'purged' }, `Left out: ${leftOut.join('; ')}.`)] : []),
      ];
    }
    case 'member':
      return [h('p', {}, `${b.action}: ${who(members, b.user)}`)];
    case 'expiry':
      return [h('p', {}, `${who(members, b.user)}: ${b.reason}`)];
    case 'keys': {
      const records = (b.recipients ?? []).filter((/** @type {any} */ r) => r.kind === 'records').map((/** @type {any} */ r) => r.id);
      return [h('p', {}, `Key epoch ${b.epoch} (${b.reason}); recorded by ${records.join(', ')}`)];
    }
    case 'receipt':
      return [h('p', {}, `Acknowledged everything up to entry ${b.seq}.`)];
    case 'create':
      return [h('p', {}, `Thread opened: ${b.subject}`)];
    case 'purge':
      return [h('p', {}, `Content of entry ${b.seq} removed (${b.reason}).`)];
    default:
      return [h('p', {}, `${entry.kind}: ${JSON.stringify(b)}`)];
  }
}

/**
 * The record as one HTML document, as text.
 * @param {{[key: string]: any}} manifest
 * @param {readonly RecordItem[]} items
 * @param {readonly Problem[]} [problems] what a readable export could not show, by entry
 * @returns {string}
 */
export function renderRecordHtml(manifest, items, problems = []) {
  /** @type {Map<string, Member>} */
  const members = new Map((manifest.members ?? []).map((/** @type {Member} */ m) => [m.user, m]));
  const purges = new Map();
  for (const item of items) {
    const b = /** @type {any} */ (item.entry.body);
    if (item.entry.kind === 'purge') purges.set(b.seq, b.reason);
  }
  const { case: c = {}, thread = {}, head = {} } = manifest;
  const title = `Record of ${c.requesting_reference} — ${thread.subject}`;
  const page = h('div', {},
    h('header', {},
      h('h1', {}, title),
      h('p', {}, `${c.requesting_authority} → ${c.requested_authority} · format ${manifest.format} · exported ` +
        `${manifest.exported_at} by ${who(members, manifest.exporter?.user)} · contents: ${manifest.contents}`),
      h('p', { class: 'hash' }, `Head: entry ${head.seq}, ${head.hash}`)),
    h('main', {},
      h('h2', {}, 'Members'),
      h('table', {},
        h('thead', {}, h('tr', {}, ['Name', 'Authority', 'Role', 'From entry', 'Until'].map((n) => h('th', {}, n)))),
        h('tbody', {}, [...members.values()].map((m) => h('tr', {},
          h('td', {}, m.display_name), h('td', {}, m.authority ?? ''), h('td', {}, m.role), h('td', {}, m.joined_seq),
          h('td', {}, `${m.ended_seq ?? ''} ${m.end_reason ?? ''}`.trim()))))),
      h('h2', {}, 'Entries'),
      items.map((item) => h('section', { class: 'entry', id: `e${item.entry.seq}` },
        h('div', { class: 'meta' }, h('span', { class: 'kind' }, item.entry.kind),
          ` · entry ${item.entry.seq} · ${item.entry.at} · ${who(members, item.entry.actor.user)}`),
        body(item, members, purges, problems.filter((x) => x.seq === item.entry.seq)),
        h('div', { class: 'hash' }, item.hash)))));
  const heading = h('title', {}, title);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">${heading.outerHTML}` +
    `<style>${STYLE}</style></head><body>${page.innerHTML}</body></html>\n`;
}
