// Building DOM nodes safely (STYLE §17): content reaches the page only as
// text nodes and through a short list of attributes; no innerHTML, no
// inline handlers, no style attributes (the CSP forbids them anyway).

/** Attributes a caller may set; event handlers and `style` are never among them. */
const ALLOWED_ATTRIBUTES = new Set([
  'id', 'class', 'href', 'src', 'alt', 'title', 'role', 'type', 'name', 'value', 'for', 'placeholder', 'min', 'max',
  'step', 'rows', 'required', 'disabled', 'hidden', 'datetime', 'lang', 'dir', 'tabindex', 'target', 'rel',
  'autocomplete', 'inputmode', 'accept', 'download', 'open', 'checked', 'selected', 'multiple', 'maxlength', 'minlength',
  'width', 'height', 'loading', 'spellcheck', 'start',
]);
const SAFE_URL = /^(?:https?:|mailto:|blob:|\/(?!\/)|#)/i;

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined>} Attrs
 */

/**
 * Create an element: `h('p', {class: 'x'}, 'text', h('b', {}, 'bold'))`.
 * `aria-*` and `data-*` attributes are allowed; `href`/`src` only with a safe scheme.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (!ALLOWED_ATTRIBUTES.has(name) && !name.startsWith('aria-') && !name.startsWith('data-')) {
      throw new Error(`attribute ${name} is not allowed`);
    }
    const text = value === true ? '' : String(value);
    if ((name === 'href' || name === 'src') && !SAFE_URL.test(text)) continue;
    element.setAttribute(name, text);
  }
  append(element, children);
  return element;
}

/**
 * Append children (strings become text nodes).
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/**
 * Replace an element's children.
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * An element by id, or an error naming it (templates and scripts must agree).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!element || (type && !(element instanceof type))) throw new Error(`missing #${id}`);
  return /** @type {T} */ (element);
}

/**
 * Read a `data-*` attribute of <main>, where templates put page context.
 * @param {string} name
 * @returns {string}
 */
export function pageData(name) {
  return document.getElementById('main')?.dataset[name] ?? '';
}

/**
 * Announce text to screen readers through the page's polite live region.
 * @param {string} text
 */
export function announce(text) {
  const region = document.getElementById('live-region');
  if (region) region.textContent = text;
}

/**
 * Show a status or error line in a container (role=status / alert set by the template).
 * @param {Element | null} target
 * @param {string} text
 * @param {'info' | 'error' | 'ok'} [tone]
 */
export function say(target, text, tone = 'info') {
  if (!target) return;
  target.textContent = text;
  target.setAttribute('data-tone', tone);
}

/**
 * Keep what takes focus clear of a sticky footer (WCAG 2.4.11 Focus Not Obscured).
 * The stylesheet sets the page's `scroll-padding-bottom` to `--sticky-bottom`; this
 * keeps that equal to the footer's height while the footer is sticky, and 0 when a
 * narrow layout makes it static. CSSOM changes are not inline styles: the CSP allows them.
 * @param {HTMLElement} footer
 */
export function reserveBelow(footer) {
  const root = document.documentElement;
  const update = () => {
    const sticky = getComputedStyle(footer).position === 'sticky';
    root.style.setProperty('--sticky-bottom', `${sticky ? Math.ceil(footer.getBoundingClientRect().height) : 0}px`);
  };
  new ResizeObserver(update).observe(footer);
  addEventListener('resize', update); // crossing the media query changes position, not always size
  update();
}
