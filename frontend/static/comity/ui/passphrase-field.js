// The strength meter under a new passphrase (shared by the key and records pages).

import { t } from './i18n.js';
import { passphraseStrength } from './session.js';

const LEVEL_KEYS = /** @type {const} */ (['strength.short', 'strength.weak', 'strength.fair', 'strength.strong']);

/**
 * Wire a passphrase input to its <meter> and text.
 * @param {HTMLInputElement} input
 * @param {HTMLMeterElement} meter
 * @param {HTMLElement} text
 * @returns {() => number} the current level
 */
export function strengthMeter(input, meter, text) {
  const update = () => {
    const { level } = passphraseStrength(input.value);
    meter.value = level;
    text.textContent = input.value ? t(LEVEL_KEYS[level]) : '';
    return level;
  };
  input.addEventListener('input', update);
  return update;
}
