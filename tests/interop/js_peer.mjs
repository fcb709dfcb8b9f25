// The JavaScript side of the Python <-> JS interop tests (STYLE rule 21:
// cross-implementation round trips). Test-only: never served, never imported
// by the browser client.
//
// Protocol: one JSON request on stdin, `{"op": "...", ...}`; one JSON result
// on stdout. Every protocol operation goes through the crypto facade
// (frontend/static/comity/crypto/index.js), exactly as the UI would call it.
// Only key import/export for the test harness (private keys crossing the
// process boundary as PKCS#8 base64url) uses WebCrypto directly.
//
// Expected refusals (ComityCryptoError) are reported per item as
// `{"error": {"code", "message"}}` so the Python side can assert on the code;
// anything else is a harness failure: message on stderr, exit status 2.

import * as C from '../../frontend/static/comity/crypto/index.js';

const subtle = globalThis.crypto.subtle;
const CURVE = 'P-256';

// --- harness helpers ---------------------------------------------------------

/**
 * Import a PKCS#8 private key sent by the Python side (test-only).
 * @param {'ecdh' | 'ecdsa'} kind
 * @param {string} pkcs8 base64url DER
 * @returns {Promise<CryptoKey>}
 */
async function importPrivate(kind, pkcs8) {
  const algorithm = { name: kind === 'ecdh' ? 'ECDH' : 'ECDSA', namedCurve: CURVE };
  return subtle.importKey('pkcs8', C.b64uDecode(pkcs8), algorithm, false, kind === 'ecdh' ? ['deriveBits'] : ['sign']);
}

/**
 * Run `action`; turn a ComityCryptoError into `{error}`, rethrow anything else.
 * @param {() => Promise<unknown>} action
 * @returns {Promise<{value: unknown} | {error: {code: string, message: string}}>}
 */
async function outcome(action) {
  try {
    return { value: await action() };
  } catch (err) {
    if (err instanceof C.ComityCryptoError) return { error: { code: err.code, message: err.message } };
    throw err;
  }
}

/**
 * Split the certificate JSON form used by the Python client and the server
 * (`{"v":1, <signed fields...>, "certificate": <signature>}`) into the JS
 * facade's (fields, detached signature) arguments.
 * @param {Record<string, unknown>} json
 * @param {string[]} signedFields
 * @returns {{fields: Record<string, unknown>, certificate: unknown}}
 */
function splitCertificate(json, signedFields) {
  const expected = ['v', 'certificate', ...signedFields].sort();
  const actual = Object.keys(json).sort();
  if (JSON.stringify(actual) !== JSON.stringify(expected) || json.v !== 1) {
    throw new C.ComityCryptoError('format', `certificate must have exactly ${expected.join(', ')} with v 1`);
  }
  /** @type {Record<string, unknown>} */
  const fields = {};
  for (const name of signedFields) fields[name] = json[name];
  return { fields, certificate: json.certificate };
}

const DEVICE_FIELDS = ['user', 'device', 'dh', 'sig'];
const RECORDS_FIELDS = ['authority', 'certified_by', 'dh'];

// --- operations --------------------------------------------------------------

/** @type {Record<string, (request: any) => Promise<unknown>>} */
const OPS = {
  // 1. device certificates
  async make_device_certificate({ user }) {
    const identity = await C.generateKeyPair('ecdsa');
    const dh = await C.generateKeyPair('ecdh');
    const sig = await C.generateKeyPair('ecdsa');
    const fields = {
      user, device: C.newDeviceId(), dh: await C.publicKeyB64u(dh.publicKey), sig: await C.publicKeyB64u(sig.publicKey),
    };
    const certificate = await C.certifyDevice(identity.privateKey, fields);
    return { identity: await C.publicKeyB64u(identity.publicKey), certificate: { v: 1, ...fields, certificate } };
  },

  async verify_device_certificates({ identity, certificates }) {
    return Promise.all(certificates.map((json) => outcome(async () => {
      const { fields, certificate } = splitCertificate(json, DEVICE_FIELDS);
      return C.verifyDeviceCertificate(identity, /** @type {any} */ (fields), /** @type {string} */ (certificate));
    })));
  },

  // 2. records-key certificates
  async make_records_certificate({ authority, certified_by }) {
    const identity = await C.generateKeyPair('ecdsa');
    const records = await C.generateKeyPair('ecdh');
    const fields = { authority, certified_by, dh: await C.publicKeyB64u(records.publicKey) };
    const certificate = await C.certifyRecordsKey(identity.privateKey, fields);
    return { identity: await C.publicKeyB64u(identity.publicKey), certificate: { v: 1, ...fields, certificate } };
  },

  async verify_records_certificates({ identity, certificates }) {
    return Promise.all(certificates.map((json) => outcome(async () => {
      const { fields, certificate } = splitCertificate(json, RECORDS_FIELDS);
      return C.verifyRecordsCertificate(identity, /** @type {any} */ (fields), /** @type {string} */ (certificate));
    })));
  },

  // 3. key packages
  async build_key_package({ fields, recipients }) {
    const sender = await C.generateKeyPair('ecdsa');
    const epochKey = C.newEpochKey();
    const pkg = await C.buildKeyPackage(fields, epochKey, recipients, sender.privateKey);
    return { package: pkg, epoch_key: C.b64uEncode(epochKey), sender_sig: await C.publicKeyB64u(sender.publicKey) };
  },

  async open_key_package({ package: pkg, sender_sig, holders }) {
    const verified = await outcome(() => C.verifyKeyPackage(pkg, sender_sig));
    const opened = [];
    for (const holder of holders) {
      opened.push(await outcome(async () => {
        const dh = await importPrivate('ecdh', holder.dh_pkcs8);
        const result = await C.openKeyPackage(pkg, sender_sig, holder.id, dh);
        return { thread: result.thread, epoch: result.epoch, epoch_key: C.b64uEncode(result.epochKey) };
      }));
    }
    return { verified, opened };
  },

  // 4. message envelopes
  async seal_envelope({ header, payload, epoch_key, sig_pkcs8 }) {
    const sigKey = await importPrivate('ecdsa', sig_pkcs8);
    return C.sealEnvelope(header, payload, C.b64uDecode(epoch_key), sigKey);
  },

  async open_envelopes({ envelopes, epoch_key, sender_sig }) {
    const results = [];
    for (const envelope of envelopes) {
      results.push({
        verified: await outcome(() => C.verifyEnvelope(envelope, sender_sig)),
        opened: await outcome(() => C.openEnvelope(envelope, C.b64uDecode(epoch_key), sender_sig)),
      });
    }
    return results;
  },

  // 5. files
  async encrypt_file({ plaintext }) {
    const file = await C.encryptFile(C.b64uDecode(plaintext));
    return { blob: C.b64uEncode(file.blob), key: file.key, sha256: file.sha256, size: file.size };
  },

  async decrypt_files({ files }) {
    const results = [];
    for (const { blob, key, sha256 } of files) {
      results.push(await outcome(async () => {
        const plain = await C.decryptFile(C.b64uDecode(blob), key, sha256 === undefined ? {} : { sha256 });
        return { size: plain.length, plaintext_sha256: C.b64uEncode(await C.sha256(plain)) };
      }));
    }
    return results;
  },

  // 6. passphrase-wrapped private keys
  async wrap_private_key({ passphrase, owner, purpose, message, peer }) {
    // The browser's own path (DESIGN §4 "Identity key"): generated extractable,
    // wrapped at once, re-imported non-extractable from the wrap.
    const pair = await C.createWrappedKeyPair(passphrase, owner, purpose);
    const proof = await proveKey(pair.privateKey, purpose, message, peer);
    return { wrapped: pair.wrapped, public: C.b64uEncode(pair.publicKey), ...proof };
  },

  async unwrap_private_keys({ attempts, message, peer }) {
    const results = [];
    for (const { wrapped, passphrase, owner, purpose } of attempts) {
      results.push(await outcome(async () => {
        const key = await C.unwrapPrivateKey(wrapped, passphrase, owner, purpose);
        return proveKey(key, purpose, message, peer);
      }));
    }
    return results;
  },

  // 7. the record's hash chain
  async verify_chain({ thread, server_key, items, after }) {
    return C.verifyChain(items, server_key, after ? { thread, after } : { thread });
  },

  async build_chain({ thread, server_pkcs8, entries }) {
    // The JS module has no chain writer (only the server writes entries); the
    // facade's chain functions and ECDSA signing make the same items.
    const serverKey = await importPrivate('ecdsa', server_pkcs8);
    let hash = await C.genesisHash(thread);
    const items = [];
    for (const entry of entries) {
      hash = await C.nextHash(hash, entry);
      const signature = await C.sign(serverKey, C.serverSignedBytes(thread, entry.seq, hash));
      items.push({ seq: entry.seq, entry, hash: C.b64uEncode(hash), server_sig: C.b64uEncode(signature) });
    }
    return items;
  },

  // 8. signed objects
  async sign_objects({ objects }) {
    const device = await C.generateKeyPair('ecdsa');
    const signed = [];
    for (const obj of objects) signed.push(await C.signObject(obj, device.privateKey));
    return { signer: await C.publicKeyB64u(device.publicKey), objects: signed };
  },

  async verify_objects({ signer, objects }) {
    const results = [];
    for (const obj of objects) {
      results.push({
        verified: await outcome(() => C.verifyObject(obj, signer)),
        signed_bytes: C.b64uEncode(C.signedBytesOf(obj)),
      });
    }
    return results;
  },

  // 9. safety numbers
  async safety_numbers({ pairs }) {
    const results = [];
    for (const [a, b] of pairs) {
      results.push({
        number: await C.safetyNumber(a, b),
        fingerprints: [await C.fingerprintDigits(a), await C.fingerprintDigits(b)],
      });
    }
    return results;
  },
};

/**
 * Show that `key` is the wrapped key: an identity key signs `message`, an
 * ECDH key derives the shared secret with `peer`.
 * @param {CryptoKey} key
 * @param {string} purpose
 * @param {string} message base64url
 * @param {string} peer base64url ECDH public point
 * @returns {Promise<{signature: string} | {z: string}>}
 */
async function proveKey(key, purpose, message, peer) {
  if (C.purposeKeyKind(/** @type {any} */ (purpose)) === 'ecdsa') {
    return { signature: C.b64uEncode(await C.sign(key, C.b64uDecode(message))) };
  }
  return { z: C.b64uEncode(await C.ecdh(key, await C.importPublicKey('ecdh', C.b64uDecode(peer)))) };
}

// --- main ----------------------------------------------------------------------

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const op = OPS[request.op];
  if (!op) throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  process.stdout.write(JSON.stringify({ result: await op(request) }));
}

main().catch((err) => {
  process.stderr.write(`js_peer: ${err?.stack ?? err}\n`);
  process.exitCode = 2;
});
