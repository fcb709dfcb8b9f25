// Every section of shared/testdata/comity-v1/vectors.json reproduced byte for
// byte by the browser crypto module (DESIGN §4–§5), plus the refusals that
// make those bytes unique (tampering, truncation, reordering, bad encodings).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as C from '../static/comity/crypto/index.js';
import { importPrivateKeyScalar } from '../static/comity/crypto/primitives.js';
import { flipBit, loadJson, patternBytes, rejectsWithCode } from './support.js';

const V = loadJson('comity-v1/vectors.json');
const { b64uDecode, b64uEncode, hexDecode, hexEncode, utf8Encode } = C;

/** @param {Uint8Array} bytes */
const text = (bytes) => new TextDecoder().decode(bytes);

describe('canonical_json', () => {
  test('every valid input gives the canonical text and parses back to it', () => {
    assert.equal(V.canonical_json.valid.length, 4);
    for (const { input, canonical } of V.canonical_json.valid) {
      assert.equal(C.canonicalize(input), canonical);
      assert.equal(text(C.canonicalBytes(input)), canonical);
      assert.equal(C.canonicalize(C.parseStrictJson(canonical)), canonical);
    }
  });

  test('every invalid_json_text is refused by the strict parser', () => {
    // Each refused for its own reason, named in the message.
    const reasons = [/floats/, /floats/, /2\^53/, /unexpected character/, /duplicate key "a"/];
    assert.equal(V.canonical_json.invalid_json_texts.length, reasons.length);
    V.canonical_json.invalid_json_texts.forEach((/** @type {string} */ bad, /** @type {number} */ i) => {
      assert.throws(() => C.parseStrictJson(bad), (err) => {
        assert.ok(err instanceof C.ComityCryptoError && err.code === 'json', bad);
        assert.match(err.message, reasons[i]);
        return true;
      });
    });
    // JSON.parse alone accepts the float and the duplicate: the strict parser is what refuses them.
    assert.deepEqual(JSON.parse('{"a":1,"a":2}'), { a: 2 });
  });

  test('more texts the strict parser refuses', () => {
    const refused = [
      '{"a":-01}', '{"a":1E3}', '{"a":0.0}', '[1,]', '{"a":1,}', '{"a":1} x', '\uFEFF{}', '{"a":Infinity}',
      '{"a":-9007199254740992}', '{"a":1,"\\u0061":2}', '"\\ud800"', "{'a':1}", '{"a":"tab\there"}', '',
      '['.repeat(C.MAX_JSON_DEPTH + 1) + ']'.repeat(C.MAX_JSON_DEPTH + 1),
    ];
    for (const bad of refused) assert.throws(() => C.parseStrictJson(bad), C.ComityCryptoError, JSON.stringify(bad));
  });

  test('the strict parser accepts white space, escapes, -0 and __proto__ keys like JSON.parse', () => {
    const parsed = C.parseStrictJson(' { "b" : [ 1 , -0 , "\\u00e9\\n" ] , "__proto__" : { "x" : true } } ');
    assert.equal(C.canonicalize(parsed), '{"__proto__":{"x":true},"b":[1,0,"é\\n"]}');
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.equal(C.parseStrictJson('9007199254740991'), Number.MAX_SAFE_INTEGER);
  });

  test('canonicalize refuses values outside the subset', () => {
    const refused = [1.5, NaN, Infinity, 2 ** 53, { a: undefined }, ['\ud800'], new Date(0), new Uint8Array(1), () => 1, 1n];
    for (const bad of refused) assert.throws(() => C.canonicalize(bad), C.ComityCryptoError, String(bad));
  });
});

describe('encodings', () => {
  test('base64url round-trips every length and refuses non-canonical forms', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = C.randomBytes(n);
      const encoded = b64uEncode(bytes);
      assert.doesNotMatch(encoded, /[=+/]/);
      assert.deepEqual(b64uDecode(encoded), bytes);
    }
    assert.equal(b64uEncode(Uint8Array.of(0xfb, 0xff)), '-_8');
    for (const bad of ['AA==', 'AAA=', 'A', '+/8', 'AB', 'AAB', 'AA AA', 'AAé', 'AAAAA']) {
      assert.throws(() => b64uDecode(bad), (err) => err instanceof C.ComityCryptoError && err.code === 'encoding', bad);
    }
  });

  test('UTF-8 is strict both ways', () => {
    assert.deepEqual(utf8Encode('é€😀'), hexDecode('c3a9e282acf09f9880'));
    assert.throws(() => utf8Encode('a\udc00'), C.ComityCryptoError);
    assert.throws(() => C.utf8Decode(Uint8Array.of(0xc3)), C.ComityCryptoError);
    assert.throws(() => C.utf8Decode(Uint8Array.of(0xed, 0xa0, 0x80)), C.ComityCryptoError);
  });
});

describe('key_wrap', () => {
  const W = V.key_wrap;
  const ctx = { thread: W.thread, epoch: W.epoch, recipient: W.recipient };
  const keys = async () => ({
    ephPrivate: await importPrivateKeyScalar('ecdh', hexDecode(W.eph_private_scalar_hex), b64uDecode(W.eph_public)),
    recipientPrivate: await importPrivateKeyScalar('ecdh', hexDecode(W.recipient_private_scalar_hex), b64uDecode(W.recipient_public)),
    ephPublic: await C.importPublicKey('ecdh', b64uDecode(W.eph_public)),
    recipientPublic: await C.importPublicKey('ecdh', b64uDecode(W.recipient_public)),
  });

  test('z, salt, info, k and AAD match', async () => {
    const k = await keys();
    const z = await C.ecdh(k.ephPrivate, k.recipientPublic);
    assert.equal(hexEncode(z), W.z_hex);
    assert.equal(hexEncode(await C.ecdh(k.recipientPrivate, k.ephPublic)), W.z_hex, 'ECDH is symmetric');
    const salt = await C.wrapSalt(W.thread, W.epoch);
    assert.equal(hexEncode(salt), W.salt_hex);
    const info = C.wrapInfo(W.recipient);
    assert.equal(text(info), W.info_utf8);
    assert.equal(hexEncode(await C.hkdf(z, salt, info, 32)), W.k_hex);
    assert.equal(text(C.wrapAad(ctx)), W.aad_utf8);
  });

  test('wrapping the epoch key with the vector IV gives ct, and the recipient unwraps it', async () => {
    const k = await keys();
    const wrapped = await C.wrapEpochKey(hexDecode(W.epoch_key_hex), ctx, k.ephPrivate, W.recipient_public, { iv: b64uDecode(W.iv) });
    assert.deepEqual(wrapped, { iv: W.iv, ct: W.ct });
    const epochKey = await C.unwrapEpochKey({ iv: W.iv, ct: W.ct }, ctx, W.eph_public, k.recipientPrivate);
    assert.equal(hexEncode(epochKey), W.epoch_key_hex);
  });

  test('a wrap opens only for its recipient, thread, epoch and bytes', async () => {
    const k = await keys();
    const wrap = { iv: W.iv, ct: W.ct };
    await rejectsWithCode(C.unwrapEpochKey(wrap, { ...ctx, recipient: 'records:DE-BMJ' }, W.eph_public, k.recipientPrivate), 'auth');
    await rejectsWithCode(C.unwrapEpochKey(wrap, { ...ctx, epoch: W.epoch + 1 }, W.eph_public, k.recipientPrivate), 'auth');
    await rejectsWithCode(C.unwrapEpochKey(wrap, { ...ctx, thread: '5f0c7a3e-9b1d-4c2a-8e6f-0123456789ac' }, W.eph_public, k.recipientPrivate), 'auth');
    await rejectsWithCode(C.unwrapEpochKey({ ...wrap, ct: b64uEncode(flipBit(b64uDecode(W.ct), 3)) }, ctx, W.eph_public, k.recipientPrivate), 'auth');
    await rejectsWithCode(C.unwrapEpochKey({ ...wrap, iv: b64uEncode(flipBit(b64uDecode(W.iv), 0)) }, ctx, W.eph_public, k.recipientPrivate), 'auth');
    const stranger = await C.generateKeyPair('ecdh');
    await rejectsWithCode(C.unwrapEpochKey(wrap, ctx, W.eph_public, stranger.privateKey), 'auth');
  });

  test('points that are compressed or off the curve are refused', async () => {
    const point = b64uDecode(W.recipient_public);
    const compressed = new Uint8Array(33);
    compressed[0] = 0x02 | (point[64] & 1);
    compressed.set(point.subarray(1, 33), 1);
    await rejectsWithCode(C.importPublicKey('ecdh', compressed), 'key');
    await rejectsWithCode(C.importPublicKey('ecdh', flipBit(point, 64)), 'key');
    await rejectsWithCode(C.importPublicKey('ecdh', new Uint8Array(65).fill(0).fill(4, 0, 1)), 'key');
  });
});

describe('envelope', () => {
  const E = V.envelope;
  const envelope = { header: E.header, iv: E.iv, ct: E.ct, sig: E.sig };
  const epochKey = hexDecode(E.epoch_key_hex);

  test('AAD, plaintext, ct and signed bytes match; the vector signature verifies', async () => {
    assert.equal(text(C.envelopeAad(E.header)), E.aad_utf8);
    assert.equal(text(C.canonicalBytes(E.payload)), E.plaintext_utf8);
    const device = await C.generateKeyPair('ecdsa');
    const sealed = await C.sealEnvelope(E.header, E.payload, epochKey, device.privateKey, { iv: b64uDecode(E.iv) });
    assert.equal(sealed.ct, E.ct);
    assert.equal(sealed.iv, E.iv);
    assert.equal(text(C.envelopeSignedBytes(sealed)), E.signed_bytes_utf8);
    assert.equal(await C.verifyEnvelope(sealed, device.publicKey), true, 'our own (randomised) signature verifies');
    assert.equal(await C.verifyEnvelope(envelope, E.device_sig_public), true);
    const signedBytes = utf8Encode(E.signed_bytes_utf8);
    const devicePublic = await C.importPublicKey('ecdsa', b64uDecode(E.device_sig_public));
    assert.equal(await C.verify(devicePublic, b64uDecode(E.sig), signedBytes), true);
  });

  test('openEnvelope verifies and returns the payload', async () => {
    assert.deepEqual(await C.openEnvelope(envelope, epochKey, E.device_sig_public), E.payload);
    assert.deepEqual(await C.openEnvelope(envelope, await C.importAesKey(epochKey), E.device_sig_public), E.payload);
  });

  test('tampered ct, iv, header or sig fail the signature', async () => {
    const ct = b64uEncode(flipBit(b64uDecode(E.ct), 10));
    const iv = b64uEncode(flipBit(b64uDecode(E.iv), 0));
    const sig = b64uEncode(flipBit(b64uDecode(E.sig), 5));
    const header = { ...E.header, meta: { ...E.header.meta, status: 'accepted' } };
    for (const bad of [{ ...envelope, ct }, { ...envelope, iv }, { ...envelope, sig }, { ...envelope, header }]) {
      assert.equal(await C.verifyEnvelope(bad, E.device_sig_public), false);
      await rejectsWithCode(C.openEnvelope(bad, epochKey, E.device_sig_public), 'signature');
    }
    const stranger = await C.generateKeyPair('ecdsa');
    assert.equal(await C.verifyEnvelope(envelope, stranger.publicKey), false);
  });

  test('a re-signed envelope with an altered header (AAD) or ct fails decryption', async () => {
    const device = await C.generateKeyPair('ecdsa');
    const resign = async (/** @type {any} */ env) => ({
      ...env, sig: b64uEncode(await C.sign(device.privateKey, C.envelopeSignedBytes(env))),
    });
    const movedHeader = await resign({ ...envelope, header: { ...E.header, epoch: 4 } });
    await rejectsWithCode(C.openEnvelope(movedHeader, epochKey, device.publicKey), 'auth');
    const alteredCt = await resign({ ...envelope, ct: b64uEncode(flipBit(b64uDecode(E.ct), 0)) });
    await rejectsWithCode(C.openEnvelope(alteredCt, epochKey, device.publicKey), 'auth');
    await rejectsWithCode(C.openEnvelope(await resign(envelope), C.randomBytes(32), device.publicKey), 'auth');
  });

  test('malformed envelopes are refused before any crypto', async () => {
    await rejectsWithCode(C.openEnvelope({ ...envelope, extra: 1 }, epochKey, E.device_sig_public), 'format');
    await rejectsWithCode(C.openEnvelope({ ...envelope, iv: E.iv + 'AA' }, epochKey, E.device_sig_public), 'format');
    await rejectsWithCode(C.openEnvelope({ ...envelope, header: { ...E.header, v: 2 } }, epochKey, E.device_sig_public), 'format');
    await rejectsWithCode(C.openEnvelope({ ...envelope, header: { ...E.header, kind: 'gossip' } }, epochKey, E.device_sig_public), 'format');
  });
});

describe('files', () => {
  const F = V.files;
  const key = hexDecode(F.key_hex);
  const prefix = hexDecode(F.prefix_hex);

  test('chunk size is 1 MiB', () => assert.equal(C.FILE_CHUNK_BYTES, F.chunk));

  for (const c of F.cases) {
    test(`${c.length} bytes: blob length, SHA-256, head and tail; decrypts back`, async () => {
      const plaintext = patternBytes(c.length);
      const progress = /** @type {number[][]} */ ([]);
      const out = await C.encryptFile(plaintext, { key, prefix, onProgress: (done, total) => progress.push([done, total]) });
      assert.equal(out.blob.length, c.blob_length);
      assert.equal(out.sha256, c.blob_sha256);
      assert.equal(out.key, b64uEncode(key));
      assert.equal(out.size, c.length);
      const edge = Math.min(48, out.blob.length);
      assert.equal(hexEncode(out.blob.subarray(0, edge)), c.blob_head_hex);
      assert.equal(hexEncode(out.blob.subarray(out.blob.length - edge)), c.blob_tail_hex);
      assert.deepEqual(progress.at(-1), [c.length, c.length]);
      const back = await C.decryptFile(out.blob, out.key, { sha256: c.blob_sha256 });
      assert.deepEqual(back, plaintext);
    });
  }

  test('1 MiB + 5: truncation, extension, a flipped byte and a wrong hash are refused', async () => {
    const { blob, key: fileKey, sha256 } = await C.encryptFile(patternBytes(1048581), { key, prefix });
    const firstChunk = blob.subarray(0, 1048604);
    await rejectsWithCode(C.decryptFile(firstChunk, fileKey), 'auth', /chunk 0 of 1/);
    await rejectsWithCode(C.decryptFile(blob.subarray(0, blob.length - 1), fileKey), 'auth', /chunk 1 of 2/);
    await rejectsWithCode(C.decryptFile(blob.subarray(0, 1048604 + 27), fileKey), 'format');
    const extended = C.concatBytes(blob, blob.subarray(1048604));
    await rejectsWithCode(C.decryptFile(extended, fileKey), 'auth');
    await rejectsWithCode(C.decryptFile(flipBit(blob, 500000), fileKey), 'auth', /chunk 0/);
    await rejectsWithCode(C.decryptFile(blob, fileKey, { sha256: b64uEncode(new Uint8Array(32)) }), 'integrity');
    await rejectsWithCode(C.decryptFile(blob, C.randomBytes(32), { sha256 }), 'auth');
  });
});

describe('chain', () => {
  const H = V.chain;
  const items = H.steps.slice(1).map((/** @type {any} */ s) => ({ entry: s.entry, hash: s.hash, server_sig: s.server_sig }));

  test('genesis, each entry digest, hash, signed bytes and server signature', async () => {
    assert.equal(b64uEncode(await C.genesisHash(H.thread)), H.steps[0].genesis);
    let previous = b64uDecode(H.steps[0].genesis);
    const serverKey = await C.importPublicKey('ecdsa', b64uDecode(H.server_public));
    for (const step of H.steps.slice(1)) {
      assert.equal(b64uEncode(await C.entryDigest(step.entry)), step.entry_canonical_sha256);
      const hash = await C.nextHash(previous, step.entry);
      assert.equal(b64uEncode(hash), step.hash);
      const signed = C.serverSignedBytes(H.thread, step.entry.seq, hash);
      assert.equal(text(signed), step.server_signed_utf8);
      assert.equal(await C.verify(serverKey, b64uDecode(step.server_sig), signed), true);
      previous = hash;
    }
  });

  test('verifyChain accepts the vector chain, from genesis and from a remembered head', async () => {
    assert.deepEqual(await C.verifyChain(items, H.server_public, { thread: H.thread }), {
      ok: true, head: { seq: 2, hash: H.steps[2].hash },
    });
    const resumed = await C.verifyChain(items.slice(1), H.server_public, { thread: H.thread, after: { seq: 1, hash: H.steps[1].hash } });
    assert.deepEqual(resumed, { ok: true, head: { seq: 2, hash: H.steps[2].hash } });
  });

  test('verifyChain names the first break', async () => {
    const opts = { thread: H.thread };
    const altered = [items[0], { ...items[1], entry: { ...items[1].entry, body: { ...items[1].entry.body, reason: 'revoked' } } }];
    const r1 = await C.verifyChain(altered, H.server_public, opts);
    assert.equal(r1.ok, false);
    assert.deepEqual(r1.ok ? null : [r1.seq, r1.reason, r1.head], [2, 'hash', { seq: 1, hash: H.steps[1].hash }]);
    const r2 = await C.verifyChain([{ ...items[0], server_sig: items[1].server_sig }, items[1]], H.server_public, opts);
    assert.deepEqual(r2.ok ? null : [r2.seq, r2.reason], [1, 'server_sig']);
    const r3 = await C.verifyChain([items[1]], H.server_public, opts);
    assert.deepEqual(r3.ok ? null : [r3.seq, r3.reason], [1, 'seq']);
    const r4 = await C.verifyChain(items, H.server_public, { thread: '5f0c7a3e-9b1d-4c2a-8e6f-0123456789ac' });
    assert.deepEqual(r4.ok ? null : [r4.seq, r4.reason], [1, 'thread']);
    const other = await C.generateKeyPair('ecdsa');
    const r5 = await C.verifyChain(items, other.publicKey, opts);
    assert.deepEqual(r5.ok ? null : [r5.seq, r5.reason], [1, 'server_sig']);
  });
});

describe('safety_number', () => {
  const S = V.safety_number;
  test('both halves and the 60 digits, in either order', async () => {
    assert.equal(await C.fingerprintDigits(S.identity_a), S.digits_a);
    assert.equal(await C.fingerprintDigits(b64uDecode(S.identity_b)), S.digits_b);
    assert.equal(await C.safetyNumber(S.identity_a, S.identity_b), S.safety_number);
    assert.equal(await C.safetyNumber(S.identity_b, S.identity_a), S.safety_number);
  });
});

describe('wrapped_private_key', () => {
  const K = V.wrapped_private_key;

  // The scalar is checked by unwrapping once as extractable (a test-only
  // option; the default is non-extractable) and reading "d" from its JWK.
  // The default, non-extractable key is then shown to be the same key: its
  // signature verifies under the public point (x, y) of that JWK.
  test('unwraps with the passphrase to the private scalar 0x7777', async () => {
    assert.equal(text(C.wrappedKeyAad(K.owner, K.purpose)), K.aad_utf8);
    const extractable = await C.unwrapPrivateKey(K.wrapped, K.passphrase, K.owner, K.purpose, { extractable: true });
    const jwk = await C.getSubtle().exportKey('jwk', extractable);
    assert.equal(hexEncode(b64uDecode(/** @type {string} */ (jwk.d))), K.expect_private_scalar_hex.padStart(64, '0'));
    const key = await C.unwrapPrivateKey(K.wrapped, K.passphrase, K.owner, K.purpose);
    assert.equal(key.extractable, false);
    assert.equal(key.algorithm.name, 'ECDSA');
    const point = C.concatBytes(Uint8Array.of(4), b64uDecode(/** @type {string} */ (jwk.x)), b64uDecode(/** @type {string} */ (jwk.y)));
    const message = utf8Encode('proof of possession');
    const signature = await C.sign(key, message);
    assert.equal(await C.verify(await C.importPublicKey('ecdsa', point), signature, message), true);
  });

  test('wrong passphrase, owner or purpose, and weakened parameters, are refused', async () => {
    await rejectsWithCode(C.unwrapPrivateKey(K.wrapped, 'Correct horse battery staple', K.owner, K.purpose), 'auth', /passphrase/);
    await rejectsWithCode(C.unwrapPrivateKey(K.wrapped, K.passphrase, '0a1b2c3d-0000-4000-8000-00000000000b', K.purpose), 'auth');
    await rejectsWithCode(C.unwrapPrivateKey(K.wrapped, K.passphrase, K.owner, 'backup'), 'auth');
    await rejectsWithCode(C.unwrapPrivateKey({ ...K.wrapped, iter: 1000 }, K.passphrase, K.owner, K.purpose), 'format');
    await rejectsWithCode(C.unwrapPrivateKey({ ...K.wrapped, kdf: 'scrypt' }, K.passphrase, K.owner, K.purpose), 'format');
    await rejectsWithCode(C.unwrapPrivateKey({ ...K.wrapped, salt: 'AAEC' }, K.passphrase, K.owner, K.purpose), 'format');
  });
});
