// One clear sentence for every error the client can meet (DESIGN §7 codes,
// HTTP errors, crypto refusals), in the page's language.

import * as C from '../crypto/index.js';
import { ApiError } from '../transport/api.js';
import { SocketError } from '../transport/socket.js';
import { KeysUnavailable } from './directory.js';
import { t } from './i18n.js';

/** @type {Record<string, import('./i18n.js').MessageKey>} */
const SERVER_CODES = {
  bad_frame: 'error.bad_frame',
  bad_request: 'error.bad_frame',
  forbidden: 'error.forbidden',
  not_found: 'error.not_found',
  bad_signature: 'error.bad_signature',
  stale_epoch: 'error.stale_epoch',
  too_large: 'error.too_large',
  rate_limited: 'error.rate_limited',
  conflict: 'error.conflict',
  offline: 'error.offline',
  unauthenticated: 'error.unauthenticated',
  otp_required: 'error.unauthenticated',
  device_revoked: 'error.device_revoked',
};

/** @type {Record<string, import('./i18n.js').MessageKey>} */
const CRYPTO_CODES = {
  unavailable: 'error.crypto_unavailable',
  auth: 'error.crypto_auth',
  signature: 'error.crypto_signature',
  integrity: 'error.crypto_integrity',
};

/**
 * @param {unknown} err
 * @returns {string}
 */
export function describeError(err) {
  if (err instanceof KeysUnavailable) return describeError(err.cause); // why the server could not be asked
  if (err instanceof ApiError || err instanceof SocketError) {
    const key = SERVER_CODES[err.code];
    const base = key ? t(key) : t('error.unknown');
    return err.message && err.code !== 'offline' ? `${base} (${err.message})` : base;
  }
  if (err instanceof C.ComityCryptoError) {
    const key = CRYPTO_CODES[err.code];
    return key ? t(key) : `${t('error.unknown')} (${err.message})`;
  }
  return err instanceof Error && err.message ? err.message : t('error.unknown');
}
