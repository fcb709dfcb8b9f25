// The JS string catalogue (DESIGN §8 "UI strings translatable"): English,
// French and Spanish. Templates use Django's i18n; what scripts write goes
// through t(). The language is the page's <html lang>, which Django sets
// from the user's choice. A missing translation falls back to English.

import { CATALOGUE } from './catalogue.js';

/** @typedef {keyof typeof CATALOGUE.en} MessageKey */

/** @returns {'en' | 'fr' | 'es'} */
export function language() {
  const lang = (globalThis.document?.documentElement?.lang ?? 'en').slice(0, 2);
  return lang === 'fr' || lang === 'es' ? lang : 'en';
}

/**
 * Translate a message and fill its {placeholders}.
 * @param {MessageKey} key
 * @param {Record<string, string | number>} [vars]
 * @returns {string}
 */
export function t(key, vars = {}) {
  const table = /** @type {Record<string, string>} */ (CATALOGUE[language()]);
  const template = table[key] ?? CATALOGUE.en[key] ?? String(key);
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? plainName(vars[name]) : whole));
}

// Direction overrides and isolates in a name someone else chose would make
// "report_\u202Efdp.exe" read "report_exe.pdf", or run on into the text after it.
const DIRECTION_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;

/**
 * Text another person chose (a file or display name, a subject), with its direction controls shown as �.
 * @param {unknown} text
 * @returns {string}
 */
export function plainName(text) {
  return String(text).replace(DIRECTION_CONTROLS, '\uFFFD');
}

/**
 * A date and time in the page's language.
 * @param {string | Date} moment
 * @returns {string}
 */
export function formatTime(moment) {
  const date = typeof moment === 'string' ? new Date(moment) : moment;
  if (Number.isNaN(date.getTime())) return String(moment); // a malformed time must not stop the page
  return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/**
 * @param {number} bytes
 * @returns {string}
 */
export function formatSize(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${new Intl.NumberFormat(language(), { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}
