// The Markdown subset of message texts (DESIGN §8): **bold**, *italics*,
// `code`, fenced code blocks, "> " quotes, "- " and "1. " lists, [links](url)
// and bare https:// links. Parsing yields a small tree of plain objects;
// `renderMarkdown` turns it into DOM nodes with createElement and text nodes
// only — never innerHTML — so hostile text stays text. Links keep only
// https and mailto URLs; anything else is shown as the text it is.

/**
 * @typedef {{type: 'text', text: string} | {type: 'br'} | {type: 'code', text: string}
 *   | {type: 'strong' | 'em', children: Inline[]} | {type: 'link', href: string, children: Inline[]}} Inline
 * @typedef {{type: 'p', children: Inline[]} | {type: 'quote', children: Block[]} | {type: 'pre', text: string}
 *   | {type: 'ul' | 'ol', items: Inline[][]}} Block
 */

const MAX_QUOTE_DEPTH = 4; // hostile input must not nest without bound
const LINK_SCHEMES = new Set(['https:', 'mailto:']); // no http: links out of an encrypted thread

/**
 * A URL a link may point to, normalised, or null.
 * @param {string} raw
 * @returns {string | null}
 */
export function safeHref(raw) {
  const text = raw.trim();
  if (!/^(https:\/\/|mailto:)/i.test(text)) return null;
  try {
    const url = new URL(text);
    return LINK_SCHEMES.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Parse a message text into blocks.
 * @param {string} text
 * @param {number} [depth]
 * @returns {Block[]}
 */
export function parseMarkdown(text, depth = 0) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  /** @type {Block[]} */
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const body = [];
      i++;
      while (i < lines.length && !/^```\s*$/.test(lines[i])) body.push(lines[i++]);
      i++; // the closing fence (or the end)
      blocks.push({ type: 'pre', text: body.join('\n') });
    } else if (/^>\s?/.test(line) && depth < MAX_QUOTE_DEPTH) {
      const body = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) body.push(lines[i++].replace(/^>\s?/, ''));
      blocks.push({ type: 'quote', children: parseMarkdown(body.join('\n'), depth + 1) });
    } else if (/^\s*[-*+]\s+/.test(line)) {
      const items = [];
      while (i < lines.length && /^\s*[-*+]\s+/.test(lines[i])) items.push(parseInline(lines[i++].replace(/^\s*[-*+]\s+/, '')));
      blocks.push({ type: 'ul', items });
    } else if (/^\s*\d{1,9}[.)]\s+/.test(line)) {
      const items = [];
      while (i < lines.length && /^\s*\d{1,9}[.)]\s+/.test(lines[i])) items.push(parseInline(lines[i++].replace(/^\s*\d{1,9}[.)]\s+/, '')));
      blocks.push({ type: 'ol', items });
    } else if (line.trim() === '') {
      i++;
    } else {
      const body = [];
      while (i < lines.length && lines[i].trim() !== '' && !/^(```|>|\s*[-*+]\s+|\s*\d{1,9}[.)]\s+)/.test(lines[i])) {
        body.push(lines[i++]);
      }
      if (body.length === 0) body.push(lines[i++]); // a line only the block rules looked at (e.g. ">" too deep)
      /** @type {Inline[]} */
      const children = [];
      body.forEach((l, n) => {
        if (n > 0) children.push({ type: 'br' });
        for (const node of parseInline(l)) children.push(node); // no spread: a long line has many nodes
      });
      blocks.push({ type: 'p', children });
    }
  }
  return blocks;
}

/**
 * Parse inline spans of one line.
 * @param {string} text
 * @returns {Inline[]}
 */
export function parseInline(text) {
  /** @type {Inline[]} */
  const out = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push({ type: 'text', text: plain });
    plain = '';
  };
  /** @param {RegExp} re @param {number} at */
  const match = (re, at) => {
    re.lastIndex = at;
    return re.exec(text);
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    let m = null;
    if (c === '`' && (m = match(INLINE.code, i))) {
      flush();
      out.push({ type: 'code', text: m[1] });
    } else if ((c === '*' || c === '_') && (m = match(c === '*' ? INLINE.strongStar : INLINE.strongUnder, i))) {
      flush();
      out.push({ type: 'strong', children: parseInline(m[1]) });
    } else if ((c === '*' || c === '_') && (m = match(c === '*' ? INLINE.emStar : INLINE.emUnder, i))) {
      flush();
      out.push({ type: 'em', children: parseInline(m[1]) });
    } else if (c === '[' && (m = match(INLINE.link, i))) {
      const href = safeHref(m[2]);
      flush();
      if (href) out.push({ type: 'link', href, children: parseInline(m[1]) });
      else out.push({ type: 'text', text: m[0] });
    } else if ((c === 'h' || c === 'H') && (i === 0 || /\W/.test(text[i - 1])) && (m = match(INLINE.bare, i))) {
      const href = safeHref(m[1]);
      flush();
      out.push(href ? { type: 'link', href, children: [{ type: 'text', text: m[1] }] } : { type: 'text', text: m[1] });
    }
    if (m) {
      i += m[0].length;
    } else {
      plain += c;
      i++;
    }
  }
  flush();
  return out;
}

/** Sticky patterns: each tried only where its first character stands. */
const INLINE = {
  code: /`([^`]+)`/y,
  strongStar: /\*\*(?=\S)([^*]*?\S)\*\*/y,
  strongUnder: /__(?=\S)([^_]*?\S)__/y,
  emStar: /\*(?=[^\s*])([^*]*?[^\s*])?\*/y,
  emUnder: /_(?=[^\s_])([^_]*?[^\s_])?_(?![A-Za-z0-9])/y,
  // Neither part may hold its own opener, so a failed try stops at the next one: retried at
  // every "[" of a line, a scan to the line's end was quadratic (a frame of "[" froze readers).
  link: /\[([^[\]]+)\]\(([^()\s]+)\)/y,
  bare: /(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]'])/iy,
};

/**
 * @param {Inline[]} inlines
 * @param {Node} parent
 */
function renderInline(inlines, parent) {
  for (const node of inlines) {
    let el;
    switch (node.type) {
      case 'text':
        parent.appendChild(document.createTextNode(node.text));
        continue;
      case 'br':
        el = document.createElement('br');
        break;
      case 'code':
        el = document.createElement('code');
        el.textContent = node.text;
        break;
      case 'strong':
      case 'em':
        el = document.createElement(node.type);
        renderInline(node.children, el);
        break;
      case 'link':
        el = document.createElement('a');
        el.setAttribute('href', node.href);
        el.setAttribute('rel', 'noopener noreferrer nofollow');
        el.setAttribute('target', '_blank');
        renderInline(node.children, el);
        break;
    }
    parent.appendChild(el);
  }
}

/**
 * @param {Block[]} blocks
 * @param {Node} parent
 */
function renderBlocks(blocks, parent) {
  for (const block of blocks) {
    let el;
    if (block.type === 'p') {
      el = document.createElement('p');
      renderInline(block.children, el);
    } else if (block.type === 'pre') {
      el = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = block.text;
      el.appendChild(code);
    } else if (block.type === 'quote') {
      el = document.createElement('blockquote');
      renderBlocks(block.children, el);
    } else {
      el = document.createElement(block.type);
      for (const item of block.items) {
        const li = document.createElement('li');
        renderInline(item, li);
        el.appendChild(li);
      }
    }
    parent.appendChild(el);
  }
}

/**
 * Render a message text as DOM nodes.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  renderBlocks(parseMarkdown(text), fragment);
  return fragment;
}
