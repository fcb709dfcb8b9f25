// Message envelopes (DESIGN §4 "Message envelope").
//
//   header   = {"v":1,"thread":T,"epoch":E,"sender_device":D,"client_id":uuid4,
//               "kind":K,"meta":{…}}
//   ct       = AES-256-GCM(epoch_key, iv, canonical(payload), aad=canonical(header))
//   sig      = ECDSA(device sig key, canonical({"ct":ct,"header":header,"iv":iv}))
//   envelope = {"header":header,"iv":iv,"ct":ct,"sig":sig}
//
// The header is the AAD, so the server-visible metadata cannot be moved to
// another thread, epoch or kind without breaking decryption; the signature
// names the sending device, which AES-GCM under a shared epoch key cannot.

import { ComityCryptoError } from './errors.js';
import {
  AES_KEY_BYTES, IV_BYTES, TAG_BYTES, aesGcmDecrypt, aesGcmEncrypt, asPublicKey, b64uDecode, b64uDecodeExact,
  b64uEncode, canonicalBytes, parseStrictJsonBytes, randomBytes, sign, verify,
} from './primitives.js';
import { expectCounter, expectFields, expectOneOf, expectString, expectVersion1 } from './checks.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').Envelope} Envelope */
/** @typedef {import('../../../types.js').Header} Header */
/** @typedef {import('../../../types.js').Payload} Payload */
/** @typedef {import('../../../types.js').PublicKeyInput} PublicKeyInput */

export const MESSAGE_KINDS = /** @type {const} */ (['text', 'clarification', 'answer', 'assurance', 'document', 'note']);
const HEADER_FIELDS = ['v', 'thread', 'epoch', 'sender_device', 'client_id', 'kind', 'meta'];
const ENVELOPE_FIELDS = ['header', 'iv', 'ct', 'sig'];
const PAYLOAD_FIELDS = ['text', 'reply_to', 'edits', 'files'];
const FILE_FIELDS = ['blob', 'name', 'mime', 'size', 'key', 'sha256'];
const FILE_HASH_BYTES = 32; // SHA-256 of the blob

/**
 * A fresh client_id (uuid4): makes a resend idempotent (DESIGN §7).
 * @returns {string}
 */
export function newClientId() {
  return globalThis.crypto.randomUUID();
}

/**
 * Check a header's shape.
 * @param {unknown} header
 * @returns {Header}
 */
export function checkHeader(header) {
  const h = expectFields(header, HEADER_FIELDS, 'header');
  expectVersion1(h.v, 'header');
  expectString(h.thread, 'header thread');
  expectCounter(h.epoch, 'header epoch');
  expectString(h.sender_device, 'header sender_device');
  expectString(h.client_id, 'header client_id');
  expectOneOf(h.kind, MESSAGE_KINDS, 'header kind');
  if (h.meta === null || typeof h.meta !== 'object' || Array.isArray(h.meta)) {
    throw new ComityCryptoError('format', 'header meta must be an object');
  }
  return /** @type {Header} */ (header);
}

/**
 * Check a decrypted payload's shape (DESIGN §4 "payload").
 * @param {unknown} payload
 * @returns {Payload}
 */
export function checkPayload(payload) {
  const p = expectFields(payload, PAYLOAD_FIELDS, 'payload');
  if (typeof p.text !== 'string') throw new ComityCryptoError('format', 'payload text must be a string');
  if (p.reply_to !== null) expectCounter(p.reply_to, 'payload reply_to');
  if (p.edits !== null) expectCounter(p.edits, 'payload edits');
  if (!Array.isArray(p.files)) throw new ComityCryptoError('format', 'payload files must be a list');
  for (const file of p.files) {
    const f = expectFields(file, FILE_FIELDS, 'payload file');
    expectString(f.blob, 'file blob');
    if (typeof f.name !== 'string') throw new ComityCryptoError('format', 'file name must be a string');
    if (typeof f.mime !== 'string') throw new ComityCryptoError('format', 'file mime must be a string');
    if (!Number.isSafeInteger(f.size) || /** @type {number} */ (f.size) < 0) {
      throw new ComityCryptoError('format', 'file size must be an integer ≥ 0');
    }
    b64uDecodeExact(f.key, AES_KEY_BYTES, 'file key');
    b64uDecodeExact(f.sha256, FILE_HASH_BYTES, 'file sha256');
  }
  return /** @type {Payload} */ (payload);
}

/**
 * The AES-GCM AAD of a message: canonical(header).
 * @param {Header} header
 * @returns {Bytes}
 */
export function envelopeAad(header) {
  return canonicalBytes(checkHeader(header));
}

/**
 * The bytes the sender device signs: canonical({"ct":ct,"header":header,"iv":iv}).
 * @param {{header: Header, iv: string, ct: string}} envelope
 * @returns {Bytes}
 */
export function envelopeSignedBytes(envelope) {
  return canonicalBytes({ ct: envelope.ct, header: envelope.header, iv: envelope.iv });
}

/**
 * Encrypt and sign a message.
 * @param {Header} header
 * @param {Payload} payload
 * @param {CryptoKey | Uint8Array} epochKey the thread's key for header.epoch
 * @param {CryptoKey} senderSigPrivateKey ECDSA key of header.sender_device
 * @param {{iv?: Uint8Array}} [options] `iv` only to reproduce test vectors; normally random
 * @returns {Promise<Envelope>}
 */
export async function sealEnvelope(header, payload, epochKey, senderSigPrivateKey, options = {}) {
  const aad = envelopeAad(header);
  const plaintext = canonicalBytes(checkPayload(payload));
  const ivBytes = options.iv ?? randomBytes(IV_BYTES);
  const ct = b64uEncode(await aesGcmEncrypt(epochKey, ivBytes, plaintext, aad));
  const iv = b64uEncode(ivBytes);
  const sig = b64uEncode(await sign(senderSigPrivateKey, envelopeSignedBytes({ header, iv, ct })));
  return { header, iv, ct, sig };
}

/**
 * Check an envelope's shape and encodings.
 * @param {unknown} envelope
 * @returns {Envelope}
 */
export function checkEnvelope(envelope) {
  const e = expectFields(envelope, ENVELOPE_FIELDS, 'envelope');
  checkHeader(e.header);
  b64uDecodeExact(e.iv, IV_BYTES, 'envelope iv');
  if (typeof e.ct !== 'string' || b64uDecode(e.ct).length < TAG_BYTES) {
    throw new ComityCryptoError('format', 'envelope ct must be base64url of at least the 16-byte tag');
  }
  expectString(e.sig, 'envelope sig');
  return /** @type {Envelope} */ (envelope);
}

/**
 * Verify an envelope's device signature (after checking its shape).
 * @param {unknown} envelope
 * @param {PublicKeyInput} senderSigPublicKey certified ECDSA key of header.sender_device
 * @returns {Promise<boolean>}
 */
export async function verifyEnvelope(envelope, senderSigPublicKey) {
  const env = checkEnvelope(envelope);
  let signature;
  try {
    signature = b64uDecode(env.sig);
  } catch {
    return false;
  }
  return verify(await asPublicKey('ecdsa', senderSigPublicKey), signature, envelopeSignedBytes(env));
}

/**
 * Verify, decrypt and parse a message. The signature is checked first, so
 * nothing unauthenticated is decrypted; the plaintext must be strict JSON
 * with the payload's shape.
 * @param {unknown} envelope
 * @param {CryptoKey | Uint8Array} epochKey the key of envelope.header.epoch
 * @param {PublicKeyInput} senderSigPublicKey
 * @returns {Promise<Payload>}
 * @throws {ComityCryptoError} `signature`, `auth`, `json`, `format`
 */
export async function openEnvelope(envelope, epochKey, senderSigPublicKey) {
  if (!(await verifyEnvelope(envelope, senderSigPublicKey))) {
    throw new ComityCryptoError('signature', 'message signature does not verify');
  }
  const env = /** @type {Envelope} */ (envelope);
  const plaintext = await aesGcmDecrypt(epochKey, b64uDecode(env.iv), b64uDecode(env.ct), envelopeAad(env.header));
  return checkPayload(parseStrictJsonBytes(plaintext));
}
