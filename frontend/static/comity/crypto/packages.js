// Epoch-key wraps and key packages (DESIGN §4 "Key package").
//
// For each recipient R with ECDH public key R.dh, under one ephemeral key
// pair per package:
//
//   z    = ECDH(eph_priv, R.dh)                                    32 bytes
//   salt = SHA-256(canonical({"epoch":E,"thread":T}))
//   k    = HKDF-SHA-256(ikm=z, salt, info=UTF-8("comity/v1/wrap:"+R), 32)
//   ct   = AES-256-GCM(k, iv, epoch_key,
//                      aad=canonical({"epoch":E,"recipient":R,"thread":T}))
//
// The salt and AAD bind a wrap to its thread and epoch, the info to its
// recipient, so a server cannot replay one recipient's wrap to another, or
// one epoch's wrap as another's.
//
// Epoch keys are handled as raw bytes: a device must re-wrap each epoch key
// it receives to its user's backup key and, with a shared history, to
// newcomers (DESIGN §4), so they cannot be non-extractable. Import them with
// importAesKey() (non-extractable) for message encryption.

import { ComityCryptoError } from './errors.js';
import {
  AES_KEY_BYTES, IV_BYTES, POINT_BYTES, TAG_BYTES, aesGcmDecrypt, aesGcmEncrypt, asPublicKey, b64uDecodeExact,
  b64uEncode, canonicalBytes, ecdh, exportPublicKey, generateKeyPair, hkdf, importAesKey, randomBytes,
  sha256, utf8Encode,
} from './primitives.js';
import { signObject, signedBytesOf, verifyObject } from './signed.js';
import { expectCounter, expectFields, expectOneOf, expectString, expectVersion1 } from './checks.js';

/** @typedef {import('../../../types.js').Bytes} Bytes */
/** @typedef {import('../../../types.js').PublicKeyInput} PublicKeyInput */
/** @typedef {import('../../../types.js').WrapContext} WrapContext */
/** @typedef {import('../../../types.js').WrappedEpochKey} WrappedEpochKey */
/** @typedef {import('../../../types.js').KeyPackage} KeyPackage */
/** @typedef {import('../../../types.js').KeyPackageFields} KeyPackageFields */
/** @typedef {import('../../../types.js').UnsignedKeyPackage} UnsignedKeyPackage */
/** @typedef {import('../../../types.js').RecipientKey} RecipientKey */
/** @typedef {import('../../../types.js').Recipient} Recipient */
/** @typedef {import('../../../types.js').RecipientKind} RecipientKind */

export const WRAP_INFO_PREFIX = 'comity/v1/wrap:'; // HKDF info domain separation (DESIGN §4)
export const EPOCH_KEY_BYTES = AES_KEY_BYTES; // an epoch key is 32 random bytes (DESIGN §4)

const PACKAGE_FIELDS = /** @type {const} */ ([
  'v', 'type', 'thread', 'epoch', 'reason', 'prev', 'history', 'members', 'sender_device', 'eph', 'recipients', 'sig',
]);
const REASONS = /** @type {const} */ (['create', 'rotate', 'history']);
const HISTORY_POLICIES = /** @type {const} */ (['shared', 'from_join']);
const RECIPIENT_KINDS = /** @type {const} */ (['device', 'records', 'backup']);

/**
 * A fresh epoch key (DESIGN §4: 32 random bytes, an AES-256-GCM key).
 * @returns {Bytes}
 */
export function newEpochKey() {
  return randomBytes(EPOCH_KEY_BYTES);
}

/**
 * HKDF salt of a wrap: SHA-256(canonical({"epoch":E,"thread":T})).
 * @param {string} thread
 * @param {number} epoch
 * @returns {Promise<Bytes>}
 */
export async function wrapSalt(thread, epoch) {
  return sha256(canonicalBytes({ epoch: expectCounter(epoch, 'epoch'), thread: expectString(thread, 'thread') }));
}

/**
 * HKDF info of a wrap: UTF-8("comity/v1/wrap:"+R).
 * @param {string} recipient
 * @returns {Bytes}
 */
export function wrapInfo(recipient) {
  return utf8Encode(WRAP_INFO_PREFIX + expectString(recipient, 'recipient'));
}

/**
 * AES-GCM AAD of a wrap: canonical({"epoch":E,"recipient":R,"thread":T}).
 * @param {WrapContext} ctx
 * @returns {Bytes}
 */
export function wrapAad(ctx) {
  return canonicalBytes({
    epoch: expectCounter(ctx.epoch, 'epoch'),
    recipient: expectString(ctx.recipient, 'recipient'),
    thread: expectString(ctx.thread, 'thread'),
  });
}

/**
 * z → k for one wrap, as a non-extractable AES key.
 * @param {Bytes} z
 * @param {WrapContext} ctx
 * @returns {Promise<CryptoKey>}
 */
async function wrapKey(z, ctx) {
  const k = await hkdf(z, await wrapSalt(ctx.thread, ctx.epoch), wrapInfo(ctx.recipient), AES_KEY_BYTES);
  return importAesKey(k);
}

/**
 * Wrap an epoch key for one recipient.
 * @param {Uint8Array} epochKey 32 bytes
 * @param {WrapContext} ctx thread, epoch and recipient id ("records:FR-MJ", a device id…)
 * @param {CryptoKey} ephPrivateKey the package's ephemeral ECDH private key
 * @param {PublicKeyInput} recipientDh the recipient's ECDH public key
 * @param {{iv?: Uint8Array}} [options] `iv` only to reproduce test vectors; normally random
 * @returns {Promise<WrappedEpochKey>}
 */
export async function wrapEpochKey(epochKey, ctx, ephPrivateKey, recipientDh, options = {}) {
  if (!(epochKey instanceof Uint8Array) || epochKey.length !== EPOCH_KEY_BYTES) {
    throw new ComityCryptoError('format', `epoch key must be ${EPOCH_KEY_BYTES} bytes`);
  }
  const z = await ecdh(ephPrivateKey, await asPublicKey('ecdh', recipientDh));
  const iv = options.iv ?? randomBytes(IV_BYTES);
  const ct = await aesGcmEncrypt(await wrapKey(z, ctx), iv, epochKey, wrapAad(ctx));
  return { iv: b64uEncode(iv), ct: b64uEncode(ct) };
}

/**
 * Unwrap an epoch key addressed to me.
 * @param {WrappedEpochKey} wrapped `{iv, ct}` from the package's recipient entry
 * @param {WrapContext} ctx thread, epoch and my recipient id
 * @param {PublicKeyInput} eph the package's ephemeral public key
 * @param {CryptoKey} dhPrivateKey my ECDH private key (device, backup or records)
 * @returns {Promise<Bytes>} the 32-byte epoch key
 * @throws {ComityCryptoError} `auth` if the wrap is not for this key and context
 */
export async function unwrapEpochKey(wrapped, ctx, eph, dhPrivateKey) {
  const iv = b64uDecodeExact(wrapped.iv, IV_BYTES, 'wrap iv');
  const ct = b64uDecodeExact(wrapped.ct, EPOCH_KEY_BYTES + TAG_BYTES, 'wrap ct');
  const z = await ecdh(dhPrivateKey, await asPublicKey('ecdh', eph));
  return aesGcmDecrypt(await wrapKey(z, ctx), iv, ct, wrapAad(ctx));
}

/**
 * Check that a recipient id matches its kind: "records:"+A, "backup:"+U, or a
 * bare device id (DESIGN §4). Keeps the HKDF info of the three kinds apart.
 * @param {string} id
 * @param {RecipientKind} kind
 */
function checkRecipientId(id, kind) {
  const ok = kind === 'device' ? !id.includes(':') : id.startsWith(`${kind}:`) && id.length > kind.length + 1;
  if (!ok) throw new ComityCryptoError('format', `recipient id ${JSON.stringify(id)} does not match kind ${kind}`);
}

/**
 * Check package fields shared by building and opening.
 * @param {Record<string, unknown>} f
 */
function checkPackageFields(f) {
  expectString(f.thread, 'package thread');
  expectCounter(f.epoch, 'package epoch');
  expectOneOf(f.reason, REASONS, 'package reason');
  if (f.prev !== null) expectString(f.prev, 'package prev');
  expectOneOf(f.history, HISTORY_POLICIES, 'package history');
  expectString(f.sender_device, 'package sender_device');
  if (!Array.isArray(f.members)) throw new ComityCryptoError('format', 'package members must be a list');
  for (const member of f.members) {
    const m = expectFields(member, ['user', 'devices'], 'package member');
    expectString(m.user, 'member user');
    if (!Array.isArray(m.devices)) throw new ComityCryptoError('format', 'member devices must be a list');
    for (const device of m.devices) expectString(device, 'member device');
  }
}

/**
 * Build and sign a key package: one fresh ephemeral ECDH key, one wrap (with
 * a fresh IV) per recipient, signed by the sending device over the canonical
 * package without "sig". The ephemeral private key is non-extractable and
 * dropped when this returns.
 * @param {KeyPackageFields} fields thread, epoch, reason, prev, history, members, sender_device
 * @param {Uint8Array} epochKey 32 bytes
 * @param {RecipientKey[]} recipients every device, both records keys, backups…
 * @param {CryptoKey} senderSigPrivateKey ECDSA key of the sending device
 * @returns {Promise<KeyPackage>}
 */
export async function buildKeyPackage(fields, epochKey, recipients, senderSigPrivateKey) {
  const f = expectFields(fields, ['thread', 'epoch', 'reason', 'prev', 'history', 'members', 'sender_device'], 'package fields');
  checkPackageFields(f);
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new ComityCryptoError('format', 'a key package needs at least one recipient');
  }
  const seen = new Set();
  for (const r of recipients) {
    expectOneOf(r.kind, RECIPIENT_KINDS, 'recipient kind');
    checkRecipientId(expectString(r.id, 'recipient id'), r.kind);
    if (seen.has(r.id)) throw new ComityCryptoError('format', `recipient ${JSON.stringify(r.id)} listed twice`);
    seen.add(r.id);
  }
  const eph = await generateKeyPair('ecdh');
  /** @type {Recipient[]} */
  const wraps = [];
  for (const r of recipients) {
    const ctx = { thread: fields.thread, epoch: fields.epoch, recipient: r.id };
    const { iv, ct } = await wrapEpochKey(epochKey, ctx, eph.privateKey, r.dh);
    wraps.push({ id: r.id, kind: r.kind, iv, ct });
  }
  /** @type {UnsignedKeyPackage} */
  const unsigned = {
    v: 1, type: 'keys', thread: fields.thread, epoch: fields.epoch, reason: fields.reason, prev: fields.prev,
    history: fields.history, members: fields.members, sender_device: fields.sender_device,
    eph: b64uEncode(await exportPublicKey(eph.publicKey)), recipients: wraps,
  };
  return signObject(unsigned, senderSigPrivateKey);
}

/**
 * Check a received package's shape (fields, types, sizes, unique recipients).
 * @param {unknown} pkg
 * @returns {KeyPackage}
 */
export function checkKeyPackage(pkg) {
  const f = expectFields(pkg, PACKAGE_FIELDS, 'key package');
  expectVersion1(f.v, 'key package');
  if (f.type !== 'keys') throw new ComityCryptoError('format', 'key package type must be "keys"');
  checkPackageFields(f);
  b64uDecodeExact(f.eph, POINT_BYTES, 'package eph');
  expectString(f.sig, 'package sig');
  if (!Array.isArray(f.recipients)) throw new ComityCryptoError('format', 'package recipients must be a list');
  const seen = new Set();
  for (const recipient of f.recipients) {
    const r = expectFields(recipient, ['id', 'kind', 'iv', 'ct'], 'package recipient');
    const kind = expectOneOf(r.kind, RECIPIENT_KINDS, 'recipient kind');
    const id = expectString(r.id, 'recipient id');
    checkRecipientId(id, kind);
    if (seen.has(id)) throw new ComityCryptoError('format', `recipient ${JSON.stringify(id)} listed twice`);
    seen.add(id);
  }
  return /** @type {KeyPackage} */ (pkg);
}

/**
 * Verify a package's shape and its sender-device signature.
 * @param {unknown} pkg
 * @param {PublicKeyInput} senderSigPublicKey the certified ECDSA key of pkg.sender_device
 * @returns {Promise<boolean>}
 */
export async function verifyKeyPackage(pkg, senderSigPublicKey) {
  return verifyObject(checkKeyPackage(pkg), senderSigPublicKey);
}

/**
 * Verify a package and unwrap the epoch key addressed to `recipientId`.
 * Whether the signer may send this package (a member of the previous epoch,
 * recipients matching the replayed membership) is the caller's check.
 * @param {unknown} pkg
 * @param {PublicKeyInput} senderSigPublicKey
 * @param {string} recipientId my device id, "backup:"+U or "records:"+A
 * @param {CryptoKey} dhPrivateKey the matching ECDH private key
 * @returns {Promise<{thread: string, epoch: number, epochKey: Bytes}>}
 * @throws {ComityCryptoError} `signature`, `format` (not a recipient), `auth`
 */
export async function openKeyPackage(pkg, senderSigPublicKey, recipientId, dhPrivateKey) {
  const checked = checkKeyPackage(pkg);
  if (!(await verifyObject(checked, senderSigPublicKey))) {
    throw new ComityCryptoError('signature', 'key package signature does not verify');
  }
  const mine = checked.recipients.find((r) => r.id === recipientId);
  if (!mine) throw new ComityCryptoError('format', 'this key package holds no wrap for this recipient');
  const ctx = { thread: checked.thread, epoch: checked.epoch, recipient: recipientId };
  const epochKey = await unwrapEpochKey(mine, ctx, checked.eph, dhPrivateKey);
  return { thread: checked.thread, epoch: checked.epoch, epochKey };
}

/**
 * The bytes a package's signature covers (for inspection and interop tests).
 * @param {KeyPackage | UnsignedKeyPackage} pkg
 * @returns {Bytes}
 */
export function keyPackageSignedBytes(pkg) {
  return signedBytesOf(pkg);
}
