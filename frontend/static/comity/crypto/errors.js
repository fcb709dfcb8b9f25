// One error type for everything the crypto layer refuses, so the UI can map a
// failure to a message by `code` (DESIGN §9: bad input gets a clear error)
// without parsing text. Messages never contain key material or plaintext.

/**
 * Why an operation was refused.
 * - `unavailable`: no WebCrypto (`crypto.subtle`) in this context
 * - `encoding`: bad base64url, hex or UTF-8
 * - `json`: not canonical-JSON-compatible (floats, duplicates, big integers…)
 * - `format`: a protocol object has a wrong shape, field or size
 * - `key`: a key could not be imported or has the wrong type
 * - `auth`: AES-GCM authentication failed (wrong key or tampered data)
 * - `signature`: an ECDSA signature did not verify
 * - `integrity`: a hash did not match (file blob SHA-256)
 * @typedef {'unavailable'|'encoding'|'json'|'format'|'key'|'auth'|'signature'|'integrity'} CryptoErrorCode
 */

export class ComityCryptoError extends Error {
  /**
   * @param {CryptoErrorCode} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'ComityCryptoError';
    /** @type {CryptoErrorCode} */
    this.code = code;
  }
}
