// The crypto facade (STYLE §15): the UI and transport layers import from
// here only, never from the modules behind it. Protocol comity/v1, DESIGN §4–§5.

export { ComityCryptoError } from './errors.js';

export {
  AES_KEY_BYTES, IV_BYTES, TAG_BYTES, POINT_BYTES, SIGNATURE_BYTES, SHA256_BYTES, PBKDF2_ITERATIONS,
  PBKDF2_SALT_BYTES, MAX_JSON_DEPTH,
  getSubtle, randomBytes,
  b64uEncode, b64uDecode, b64uDecodeExact, hexEncode, hexDecode, utf8Encode, utf8Decode, concatBytes, bytesEqual,
  canonicalize, canonicalBytes, parseStrictJson, parseStrictJsonBytes,
  sha256, hkdf, pbkdf2, importAesKey, aesGcmEncrypt, aesGcmDecrypt,
  generateKeyPair, importPublicKey, asPublicKey, exportPublicKey, publicKeyB64u, sign, verify, ecdh,
} from './primitives.js';

export {
  DEVICE_ID_BYTES, newDeviceId, signedBytesOf, signObject, verifyObject,
  deviceCertificateBytes, certifyDevice, verifyDeviceCertificate,
  recordsCertificateBytes, certifyRecordsKey, verifyRecordsCertificate,
  successionBytes, signSuccession, verifySuccession,
} from './signed.js';

export {
  EPOCH_KEY_BYTES, newEpochKey, wrapSalt, wrapInfo, wrapAad, wrapEpochKey, unwrapEpochKey,
  buildKeyPackage, checkKeyPackage, verifyKeyPackage, openKeyPackage, keyPackageSignedBytes,
} from './packages.js';

export {
  MESSAGE_KINDS, newClientId, checkHeader, checkPayload, checkEnvelope, envelopeAad, envelopeSignedBytes,
  sealEnvelope, verifyEnvelope, openEnvelope,
} from './envelope.js';

export {
  purposeKeyKind, wrappedKeyAad, wrapPrivateKey, unwrapPrivateKey, createWrappedKeyPair, changePassphrase,
} from './passphrase.js';

export { FILE_CHUNK_BYTES, encryptFile, decryptFile } from './files.js';

export { genesisHash, entryDigest, nextHash, serverSignedBytes, verifyChain, verifyServerSignatures } from './chain.js';
export { sha256Sync } from './sha256.js';

export { fingerprintDigits, safetyNumber } from './safety.js';

export {
  persistStorage, loadDevice, saveDevice, forgetDevice, loadVerified, saveVerified, loadHead, saveHead,
} from './keystore.js';
