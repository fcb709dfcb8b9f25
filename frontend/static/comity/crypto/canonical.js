// Canonical JSON of protocol comity/v1 (DESIGN §4): RFC 8785 for the subset
// the protocol uses — UTF-8, object keys sorted by UTF-16 code units, no
// insignificant white space, no floats, integers within ±(2^53−1).
// Everything signed or hashed goes through `canonicalize`; everything
// received goes through `parseStrictJson`, which refuses what canonical JSON
// cannot express (floats, exponents, big integers, NaN, duplicate keys), so a
// value parsed here re-serialises to the bytes its signer signed.

import { ComityCryptoError } from './errors.js';
import { hasLoneSurrogate, utf8Decode, utf8Encode } from './encoding.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').JsonValue} JsonValue */

/** Nesting limit: protocol objects are a few levels deep; this stops stack exhaustion on hostile input. */
export const MAX_JSON_DEPTH = 64;

/**
 * Serialise a value as canonical JSON text.
 * Strings use JSON.stringify, whose escaping is exactly RFC 8785's.
 * Keys are sorted with the default sort, which compares UTF-16 code units
 * as RFC 8785 §3.2.3 requires.
 * @param {unknown} value null, booleans, safe integers, strings, arrays and plain objects
 * @returns {string}
 * @throws {ComityCryptoError} code `json` for anything outside that subset
 */
export function canonicalize(value) {
  return serialize(value, 0);
}

/**
 * Canonical JSON as UTF-8 bytes: what gets signed, hashed or used as AAD.
 * @param {unknown} value
 * @returns {Bytes}
 */
export function canonicalBytes(value) {
  return utf8Encode(canonicalize(value));
}

/**
 * @param {unknown} value
 * @param {number} depth
 * @returns {string}
 */
function serialize(value, depth) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new ComityCryptoError('json', `canonical JSON allows only integers within ±(2^53−1), got ${value}`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return quote(value);
    case 'object':
      break;
    default:
      throw new ComityCryptoError('json', `canonical JSON cannot encode a ${typeof value}`);
  }
  if (depth >= MAX_JSON_DEPTH) throw new ComityCryptoError('json', 'JSON nested too deeply');
  if (Array.isArray(value)) {
    const items = [];
    // An index loop, not map(): map() skips holes and would emit "[,]".
    for (let i = 0; i < value.length; i++) items.push(serialize(value[i], depth + 1));
    return `[${items.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // Dates, typed arrays, Maps… have no single JSON form: convert explicitly.
    throw new ComityCryptoError('json', 'canonical JSON encodes only plain objects');
  }
  const obj = /** @type {Record<string, unknown>} */ (value);
  const members = [];
  for (const key of Object.keys(obj).sort()) {
    const member = obj[key];
    if (member === undefined) {
      // JSON.stringify would drop the key silently; a signer and a verifier
      // could then disagree on what was signed.
      throw new ComityCryptoError('json', `canonical JSON: key ${JSON.stringify(key)} is undefined`);
    }
    members.push(`${quote(key)}:${serialize(member, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * @param {string} text
 * @returns {string}
 */
function quote(text) {
  if (hasLoneSurrogate(text)) throw new ComityCryptoError('json', 'string contains a lone surrogate');
  return JSON.stringify(text);
}

// --- strict parser --------------------------------------------------------

// Sticky (`y`) expressions match exactly at `lastIndex`. A string token is
// matched with the JSON grammar and then handed to JSON.parse for unescaping.
const WHITESPACE = /[ \t\n\r]*/y;
const STRING_TOKEN = /"(?:[^"\\\u0000-\u001f]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const INTEGER_TOKEN = /-?(?:0|[1-9][0-9]*)/y;

/**
 * Parse JSON text, refusing what canonical JSON cannot represent: numbers
 * with a fraction or exponent, integers beyond ±(2^53−1), NaN/Infinity,
 * duplicate object keys (JSON.parse keeps the last silently; two parties
 * could then read different values from the same signed bytes), lone
 * surrogates, and nesting deeper than MAX_JSON_DEPTH.
 * @param {string} text
 * @returns {JsonValue}
 * @throws {ComityCryptoError} code `json`
 */
export function parseStrictJson(text) {
  if (typeof text !== 'string') throw new ComityCryptoError('json', 'JSON text must be a string');
  const state = { text, pos: 0 };
  skipWhitespace(state);
  const value = parseValue(state, 0);
  skipWhitespace(state);
  if (state.pos !== text.length) fail(state, 'unexpected data after the JSON value');
  return value;
}

/**
 * Strictly parse UTF-8 bytes holding JSON (a decrypted payload, a frame).
 * @param {Uint8Array} bytes
 * @returns {JsonValue}
 */
export function parseStrictJsonBytes(bytes) {
  return parseStrictJson(utf8Decode(bytes));
}

/** @typedef {{text: string, pos: number}} ParseState */

/**
 * @param {ParseState} state
 * @param {string} why
 * @returns {never}
 */
function fail(state, why) {
  throw new ComityCryptoError('json', `invalid JSON at offset ${state.pos}: ${why}`);
}

/** @param {ParseState} state */
function skipWhitespace(state) {
  WHITESPACE.lastIndex = state.pos;
  WHITESPACE.test(state.text);
  state.pos = WHITESPACE.lastIndex;
}

/**
 * @param {ParseState} state
 * @param {RegExp} token sticky expression
 * @returns {string | null}
 */
function matchToken(state, token) {
  token.lastIndex = state.pos;
  const m = token.exec(state.text);
  if (!m) return null;
  state.pos = token.lastIndex;
  return m[0];
}

/**
 * @param {ParseState} state
 * @param {number} depth
 * @returns {JsonValue}
 */
function parseValue(state, depth) {
  const c = state.text[state.pos];
  if (c === '{' || c === '[') {
    if (depth >= MAX_JSON_DEPTH) fail(state, 'nested too deeply');
    return c === '{' ? parseObject(state, depth) : parseArray(state, depth);
  }
  if (c === '"') return parseString(state);
  for (const [word, value] of /** @type {const} */ ([['true', true], ['false', false], ['null', null]])) {
    if (state.text.startsWith(word, state.pos)) {
      state.pos += word.length;
      return value;
    }
  }
  const digits = matchToken(state, INTEGER_TOKEN);
  if (digits === null) return fail(state, 'unexpected character');
  const next = state.text[state.pos];
  if (next === '.' || next === 'e' || next === 'E') fail(state, 'floats and exponents are not allowed (DESIGN §4)');
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) fail(state, 'integer outside ±(2^53−1) (DESIGN §4)');
  return n === 0 ? 0 : n; // -0 is 0 in canonical JSON
}

/**
 * @param {ParseState} state
 * @returns {string}
 */
function parseString(state) {
  const token = matchToken(state, STRING_TOKEN);
  if (token === null) return fail(state, 'bad string');
  const value = /** @type {string} */ (JSON.parse(token));
  if (hasLoneSurrogate(value)) fail(state, 'string contains a lone surrogate');
  return value;
}

/**
 * @param {ParseState} state
 * @param {number} depth
 * @returns {JsonValue[]}
 */
function parseArray(state, depth) {
  state.pos++; // '['
  /** @type {JsonValue[]} */
  const out = [];
  skipWhitespace(state);
  if (state.text[state.pos] === ']') {
    state.pos++;
    return out;
  }
  for (;;) {
    skipWhitespace(state);
    out.push(parseValue(state, depth + 1));
    skipWhitespace(state);
    const c = state.text[state.pos++];
    if (c === ']') return out;
    if (c !== ',') fail(state, 'expected , or ]');
  }
}

/**
 * @param {ParseState} state
 * @param {number} depth
 * @returns {{[key: string]: JsonValue}}
 */
function parseObject(state, depth) {
  state.pos++; // '{'
  /** @type {{[key: string]: JsonValue}} */
  const out = {};
  skipWhitespace(state);
  if (state.text[state.pos] === '}') {
    state.pos++;
    return out;
  }
  for (;;) {
    skipWhitespace(state);
    if (state.text[state.pos] !== '"') fail(state, 'expected a string key');
    const key = parseString(state);
    // Compared after unescaping: "a" and "\u0061" are the same key.
    if (Object.hasOwn(out, key)) fail(state, `duplicate key ${JSON.stringify(key)}`);
    skipWhitespace(state);
    if (state.text[state.pos++] !== ':') fail(state, 'expected :');
    skipWhitespace(state);
    const value = parseValue(state, depth + 1);
    // defineProperty, not assignment: `out["__proto__"] = v` would change the
    // prototype instead of creating the key, as JSON.parse does.
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    skipWhitespace(state);
    const c = state.text[state.pos++];
    if (c === '}') return out;
    if (c !== ',') fail(state, 'expected , or }');
  }
}
