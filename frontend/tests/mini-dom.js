// Just enough of the DOM for the Node tests to build detached nodes and
// serialise them, as record/html.js does for record.html: elements with
// attributes and children, text nodes, fragments, `textContent`, `innerHTML`
// and `outerHTML` (text and attribute values escaped as a browser escapes them).
// For the page's own pieces (the composer, pending messages, the trust panel) it also has a
// body to find elements in by id, event listeners, form controls with their
// `value`, `disabled`, `readOnly` and `hidden`, and the HTML*Element classes
// that `byId` checks against (`installFormDom`).
// Not a test file: node --test only runs *.test.js.

/** @param {string} text */
const escapeText = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** @param {string} text */
const escapeAttribute = (text) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

const VOID = new Set(['br', 'meta', 'img', 'input', 'hr', 'link']);

class MiniText {
  /** @param {string} text */
  constructor(text) {
    this.text = text;
  }

  /** @returns {string} */
  get textContent() {
    return this.text;
  }

  /** @returns {string} */
  get outerHTML() {
    return escapeText(this.text);
  }
}

class MiniElement {
  /** @param {string} tag */
  constructor(tag) {
    this.tag = tag.toLowerCase();
    /** @type {Map<string, string>} */
    this.attributes = new Map();
    /** @type {(MiniElement | MiniText)[]} */
    this.children = [];
    /** @type {Map<string, ((event: any) => void)[]>} */
    this.listeners = new Map();
    this.value = '';
    this.readOnly = false;
    /** @type {any} */
    this.files = null;
  }

  /** @param {string} name @param {string} value */
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }

  /** @param {string} name */
  getAttribute(name) {
    return this.attributes.get(name) ?? null;
  }

  /** @param {string} name */
  removeAttribute(name) {
    this.attributes.delete(name);
  }

  get id() {
    return this.attributes.get('id') ?? '';
  }

  get hidden() {
    return this.attributes.has('hidden');
  }

  set hidden(on) {
    if (on) this.attributes.set('hidden', '');
    else this.attributes.delete('hidden');
  }

  get disabled() {
    return this.attributes.has('disabled');
  }

  set disabled(on) {
    if (on) this.attributes.set('disabled', '');
    else this.attributes.delete('disabled');
  }

  /** @param {MiniElement | MiniText} child */
  appendChild(child) {
    if (child instanceof MiniElement && child.tag === '#fragment') {
      this.children.push(...child.children.splice(0)); // a fragment hands over its children
    } else {
      this.children.push(child);
    }
    return child;
  }

  /** @param {...(MiniElement | MiniText | string)} nodes */
  append(...nodes) {
    for (const node of nodes) this.appendChild(typeof node === 'string' ? new MiniText(node) : node);
  }

  /** @param {...(MiniElement | MiniText)} nodes */
  replaceChildren(...nodes) {
    this.children = [];
    this.append(...nodes);
  }

  /** @param {string} text */
  set textContent(text) {
    this.children = [new MiniText(text)];
  }

  /** @returns {string} */
  get textContent() {
    return this.children.map((child) => child.textContent).join('');
  }

  /** @returns {string} */
  get innerHTML() {
    return this.children.map((child) => child.outerHTML).join('');
  }

  /** @returns {string} */
  get outerHTML() {
    const attributes = [...this.attributes].map(([name, value]) => ` ${name}="${escapeAttribute(value)}"`).join('');
    return VOID.has(this.tag) ? `<${this.tag}${attributes}>` : `<${this.tag}${attributes}>${this.innerHTML}</${this.tag}>`;
  }

  /** @returns {MiniElement[]} every element below this one, in document order */
  descendants() {
    return this.children.flatMap((child) => (child instanceof MiniElement ? [child, ...child.descendants()] : []));
  }

  /**
   * Only what the client's own code asks: `[name]`, `[name="value"]` or a tag name.
   * @param {string} selector
   */
  querySelectorAll(selector) {
    const attribute = /^\[([\w-]+)(?:="([^"]*)")?\]$/.exec(selector);
    return this.descendants().filter((el) => (attribute
      ? el.attributes.has(attribute[1]) && (attribute[2] === undefined || el.attributes.get(attribute[1]) === attribute[2])
      : el.tag === selector.toLowerCase()));
  }

  /** @param {string} selector */
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }

  /** The form controls inside (a form's `elements`). */
  get elements() {
    return this.descendants().filter((el) => ['input', 'select', 'textarea', 'button'].includes(el.tag));
  }

  /** @param {string} type @param {(event: any) => void} listener */
  addEventListener(type, listener) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  /** @param {{type: string, [key: string]: any}} event */
  dispatchEvent(event) {
    let prevented = false;
    const full = { preventDefault: () => { prevented = true; }, target: this, ...event };
    for (const listener of this.listeners.get(event.type) ?? []) listener(full);
    return !prevented;
  }

  click() {
    if (!this.disabled) this.dispatchEvent({ type: 'click' });
  }

  focus() {
    /** @type {any} */ (globalThis).document.activeElement = this;
  }

  /** Nothing to scroll without a layout. */
  scrollIntoView() {}
}

/** The element classes `byId` checks against, one per tag the client asks for. */
const CLASSES = {
  form: 'HTMLFormElement', textarea: 'HTMLTextAreaElement', select: 'HTMLSelectElement', button: 'HTMLButtonElement',
  input: 'HTMLInputElement', progress: 'HTMLProgressElement', img: 'HTMLImageElement',
};
/** @type {Record<string, typeof MiniElement>} */
const BY_TAG = Object.fromEntries(Object.entries(CLASSES).map(([tag, name]) => {
  const named = { [name]: class extends MiniElement {} }[name];
  return [tag, named];
}));

/** @param {string} tag */
const createElement = (tag) => new (BY_TAG[tag.toLowerCase()] ?? MiniElement)(tag);

/** Make `document` the mini DOM, for modules that build nodes (once per test process). */
export function installMiniDom() {
  /** @type {any} */ (globalThis).document ??= {
    createElement,
    createTextNode: (/** @type {string} */ text) => new MiniText(text),
    createDocumentFragment: () => new MiniElement('#fragment'),
  };
}

/**
 * The mini DOM with a page: `document.body`, `getElementById`, the
 * HTMLElement classes, and an English `<html lang>`. Returns the body, to
 * which a test appends the elements a page's template would hold.
 * @returns {any}
 */
export function installFormDom() {
  installMiniDom();
  const doc = /** @type {any} */ (globalThis).document;
  doc.documentElement ??= { lang: 'en' };
  doc.body = new MiniElement('body');
  doc.activeElement = null;
  doc.getElementById = (/** @type {string} */ id) => doc.body.descendants().find((/** @type {MiniElement} */ el) => el.id === id) ?? null;
  const g = /** @type {any} */ (globalThis);
  g.HTMLElement = MiniElement;
  for (const [tag, name] of Object.entries(CLASSES)) g[name] = BY_TAG[tag];
  return doc.body;
}
