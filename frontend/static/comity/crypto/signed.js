// Signed objects of protocol comity/v1 (DESIGN §4): key packages, membership
// changes, acknowledgements and thread creations are each signed by a device
// over their canonical JSON *without* the "sig" field; device and records-key
// certificates are identity signatures over a fixed canonical body.

import { ComityCryptoError } from './errors.js';
import {
  asPublicKey, b64uDecode, b64uEncode, canonicalBytes, randomBytes, sign, verify,
} from './primitives.js';
import { expectFields, expectString } from './checks.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').PublicKeyInput} PublicKeyInput */
/** @typedef {import('../../../types.js').DeviceCertificateFields} DeviceCertificateFields */
/** @typedef {import('../../../types.js').RecordsCertificateFields} RecordsCertificateFields */

export const DEVICE_ID_BYTES = 16; // a device id is 16 random bytes, base64url (DESIGN §4)
export const CERTIFICATE_VERSION = 1;

/**
 * The bytes a device signs for an object: canonical JSON without "sig".
 * @param {object} obj
 * @returns {Bytes}
 */
export function signedBytesOf(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ComityCryptoError('format', 'a signed object must be a JSON object');
  }
  const { sig: _ignored, ...unsigned } = /** @type {Record<string, unknown>} */ (obj);
  return canonicalBytes(unsigned);
}

/**
 * Sign an object with a device key; returns a copy with "sig" set.
 * An existing "sig" is replaced, never signed over.
 * @template {object} T
 * @param {T} obj
 * @param {CryptoKey} privateKey ECDSA private key of the signing device
 * @returns {Promise<T & {sig: string}>}
 */
export async function signObject(obj, privateKey) {
  const signature = await sign(privateKey, signedBytesOf(obj));
  return { ...obj, sig: b64uEncode(signature) };
}

/**
 * Verify an object's "sig" against a device public key. False for a missing,
 * malformed or wrong signature; throws only for an unusable public key.
 * @param {object} obj
 * @param {PublicKeyInput} publicKey ECDSA public key of the claimed signer
 * @returns {Promise<boolean>}
 */
export async function verifyObject(obj, publicKey) {
  const sig = /** @type {Record<string, unknown>} */ (obj)?.sig;
  if (typeof sig !== 'string') return false;
  let signature;
  try {
    signature = b64uDecode(sig);
  } catch {
    return false;
  }
  return verify(await asPublicKey('ecdsa', publicKey), signature, signedBytesOf(obj));
}

/**
 * A fresh device id: 16 random bytes in base64url (DESIGN §4).
 * @returns {string}
 */
export function newDeviceId() {
  return b64uEncode(randomBytes(DEVICE_ID_BYTES));
}

// --- certificates ---------------------------------------------------------

/**
 * Canonical body of a device certificate:
 * `{"device":D,"dh":pub,"sig":pub,"user":U,"v":1}` (DESIGN §4). Here "sig" is
 * the device's ECDSA *public key*; the certificate itself (the identity
 * signature over these bytes) travels beside it.
 * @param {DeviceCertificateFields} fields
 * @returns {Bytes}
 */
export function deviceCertificateBytes(fields) {
  const f = expectFields(fields, ['user', 'device', 'dh', 'sig'], 'device certificate');
  return canonicalBytes({
    device: expectString(f.device, 'device'),
    dh: expectString(f.dh, 'dh'),
    sig: expectString(f.sig, 'sig'),
    user: expectString(f.user, 'user'),
    v: CERTIFICATE_VERSION,
  });
}

/**
 * Certify a device with the user's identity key.
 * @param {CryptoKey} identityPrivateKey
 * @param {DeviceCertificateFields} fields
 * @returns {Promise<string>} the certificate: base64url P1363 signature
 */
export async function certifyDevice(identityPrivateKey, fields) {
  return b64uEncode(await sign(identityPrivateKey, deviceCertificateBytes(fields)));
}

/**
 * @param {PublicKeyInput} identityPublicKey
 * @param {DeviceCertificateFields} fields
 * @param {string} certificate base64url signature
 * @returns {Promise<boolean>}
 */
export async function verifyDeviceCertificate(identityPublicKey, fields, certificate) {
  return verifyDetached(identityPublicKey, deviceCertificateBytes(fields), certificate);
}

/**
 * Canonical body of a records-key certificate:
 * `{"authority":A,"certified_by":U,"dh":pub,"v":1}` (DESIGN §4).
 * @param {RecordsCertificateFields} fields
 * @returns {Bytes}
 */
export function recordsCertificateBytes(fields) {
  const f = expectFields(fields, ['authority', 'certified_by', 'dh'], 'records-key certificate');
  return canonicalBytes({
    authority: expectString(f.authority, 'authority'),
    certified_by: expectString(f.certified_by, 'certified_by'),
    dh: expectString(f.dh, 'dh'),
    v: CERTIFICATE_VERSION,
  });
}

/**
 * Certify an authority's records key with a supervisor's identity key.
 * @param {CryptoKey} identityPrivateKey
 * @param {RecordsCertificateFields} fields
 * @returns {Promise<string>}
 */
export async function certifyRecordsKey(identityPrivateKey, fields) {
  return b64uEncode(await sign(identityPrivateKey, recordsCertificateBytes(fields)));
}

/**
 * @param {PublicKeyInput} identityPublicKey the certifying supervisor's identity key
 * @param {RecordsCertificateFields} fields
 * @param {string} certificate
 * @returns {Promise<boolean>}
 */
export async function verifyRecordsCertificate(identityPublicKey, fields, certificate) {
  return verifyDetached(identityPublicKey, recordsCertificateBytes(fields), certificate);
}

// --- starting over ---------------------------------------------------------

/**
 * Canonical body a new identity key signs for the one it replaces:
 * `{"identity":new,"previous":old,"user":U,"v":1}` (docs/protocol.md,
 * "Starting over"), so the old key's devices stay believable.
 * @param {{user: string, previous: string, identity: string}} fields
 * @returns {Bytes}
 */
export function successionBytes(fields) {
  const f = expectFields(fields, ['user', 'previous', 'identity'], 'succession');
  return canonicalBytes({
    identity: expectString(f.identity, 'identity'),
    previous: expectString(f.previous, 'previous'),
    user: expectString(f.user, 'user'),
    v: CERTIFICATE_VERSION,
  });
}

/**
 * The new identity key vouches for the key it replaces.
 * @param {CryptoKey} identityPrivateKey the new key
 * @param {{user: string, previous: string, identity: string}} fields
 * @returns {Promise<string>}
 */
export async function signSuccession(identityPrivateKey, fields) {
  return b64uEncode(await sign(identityPrivateKey, successionBytes(fields)));
}

/**
 * Whether `signature` is `fields.identity`'s vouching for `fields.previous`.
 * @param {{user: string, previous: string, identity: string}} fields
 * @param {unknown} signature
 * @returns {Promise<boolean>}
 */
export async function verifySuccession(fields, signature) {
  return verifyDetached(fields.identity, successionBytes(fields), signature);
}

/**
 * @param {PublicKeyInput} publicKey
 * @param {Bytes} bytes
 * @param {unknown} signatureB64u
 * @returns {Promise<boolean>}
 */
async function verifyDetached(publicKey, bytes, signatureB64u) {
  if (typeof signatureB64u !== 'string') return false;
  let signature;
  try {
    signature = b64uDecode(signatureB64u);
  } catch {
    return false;
  }
  return verify(await asPublicKey('ecdsa', publicKey), signature, bytes);
}
