// Just enough of the DOM for the Node tests to build detached nodes and
// serialise them, as record/html.js does for record.html: elements with
// attributes and children, text nodes, fragments, `textContent`, `innerHTML`
// and `outerHTML` (text and attribute values escaped as a browser escapes them).
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
  }

  /** @param {string} name @param {string} value */
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
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

  /** @param {string} text */
  set textContent(text) {
    this.children = [new MiniText(text)];
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
}

/** Make `document` the mini DOM, for modules that build nodes (once per test process). */
export function installMiniDom() {
  /** @type {any} */ (globalThis).document ??= {
    createElement: (/** @type {string} */ tag) => new MiniElement(tag),
    createTextNode: (/** @type {string} */ text) => new MiniText(text),
    createDocumentFragment: () => new MiniElement('#fragment'),
  };
}
