// Round trips through the public facade with fresh random keys: what a
// sender builds, every intended receiver opens, and nobody else does
// (DESIGN §4–§5).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as C from '../static/comity/crypto/index.js';
import { flipBit, patternBytes, rejectsWithCode } from './support.js';

const THREAD = '0b6a3c4e-1f2d-4e5a-9b8c-7d6e5f4a3b2c';
const USER_A = '0a1b2c3d-0000-4000-8000-00000000000a';
const USER_B = '0a1b2c3d-0000-4000-8000-00000000000b';

/** A device: id plus non-extractable ECDH and ECDSA key pairs (DESIGN §4 "Device keys"). */
async function newDevice() {
  return { id: C.newDeviceId(), dh: await C.generateKeyPair('ecdh'), sig: await C.generateKeyPair('ecdsa') };
}

describe('key packages', () => {
  test('a package for three devices, two records keys and a backup key opens for each', async () => {
    const devices = [await newDevice(), await newDevice(), await newDevice()];
    const records = { 'records:FR-MJ': await C.generateKeyPair('ecdh'), 'records:DE-BMJ': await C.generateKeyPair('ecdh') };
    const backup = await C.generateKeyPair('ecdh');
    const epochKey = C.newEpochKey();
    /** @type {import('../types.js').RecipientKey[]} */
    const recipients = [
      ...devices.map((d) => ({ id: d.id, kind: /** @type {const} */ ('device'), dh: d.dh.publicKey })),
      ...Object.entries(records).map(([id, pair]) => ({ id, kind: /** @type {const} */ ('records'), dh: pair.publicKey })),
      { id: `backup:${USER_A}`, kind: 'backup', dh: await C.exportPublicKey(backup.publicKey) },
    ];
    const sender = devices[0];
    const fields = {
      thread: THREAD, epoch: 2, reason: /** @type {const} */ ('rotate'), prev: C.b64uEncode(C.randomBytes(32)),
      history: /** @type {const} */ ('shared'), sender_device: sender.id,
      members: [{ user: USER_A, devices: [devices[0].id, devices[1].id] }, { user: USER_B, devices: [devices[2].id] }],
    };
    const pkg = await C.buildKeyPackage(fields, epochKey, recipients, sender.sig.privateKey);

    assert.equal(pkg.recipients.length, 6);
    assert.equal(new Set(pkg.recipients.map((r) => r.iv)).size, 6, 'a fresh IV per wrap');
    assert.equal(await C.verifyKeyPackage(pkg, sender.sig.publicKey), true);
    const { sig: _sig, ...unsigned } = pkg;
    assert.deepEqual(C.keyPackageSignedBytes(pkg), C.canonicalBytes(unsigned));
    // The package survives the wire: strict JSON parse, then open.
    const received = C.parseStrictJson(JSON.stringify(pkg));
    for (const device of devices) {
      const opened = await C.openKeyPackage(received, sender.sig.publicKey, device.id, device.dh.privateKey);
      assert.deepEqual(opened, { thread: THREAD, epoch: 2, epochKey });
    }
    for (const [id, pair] of Object.entries(records)) {
      assert.deepEqual((await C.openKeyPackage(received, sender.sig.publicKey, id, pair.privateKey)).epochKey, epochKey);
    }
    assert.deepEqual((await C.openKeyPackage(received, sender.sig.publicKey, `backup:${USER_A}`, backup.privateKey)).epochKey, epochKey);

    // Device 1 cannot use device 2's wrap; an outsider is no recipient at all.
    await rejectsWithCode(C.openKeyPackage(pkg, sender.sig.publicKey, devices[1].id, devices[2].dh.privateKey), 'auth');
    const outsider = await newDevice();
    await rejectsWithCode(C.openKeyPackage(pkg, sender.sig.publicKey, outsider.id, outsider.dh.privateKey), 'format', /no wrap/);
  });

  test('a package is refused if altered, signed by another device, or malformed', async () => {
    const [sender, receiver] = [await newDevice(), await newDevice()];
    const fields = {
      thread: THREAD, epoch: 1, reason: /** @type {const} */ ('create'), prev: null, history: /** @type {const} */ ('from_join'),
      members: [{ user: USER_A, devices: [sender.id, receiver.id] }], sender_device: sender.id,
    };
    const recipients = [sender, receiver].map((d) => ({ id: d.id, kind: /** @type {const} */ ('device'), dh: d.dh.publicKey }));
    const pkg = await C.buildKeyPackage(fields, C.newEpochKey(), recipients, sender.sig.privateKey);
    const open = (/** @type {unknown} */ p, /** @type {CryptoKey} */ signer = sender.sig.publicKey) =>
      C.openKeyPackage(p, signer, receiver.id, receiver.dh.privateKey);

    await rejectsWithCode(open({ ...pkg, epoch: 2 }), 'signature');
    await rejectsWithCode(open({ ...pkg, members: [] }), 'signature');
    await rejectsWithCode(open({ ...pkg, recipients: pkg.recipients.slice(1) }), 'signature');
    await rejectsWithCode(open(pkg, receiver.sig.publicKey), 'signature');
    await rejectsWithCode(open({ ...pkg, type: 'message' }), 'format');
    await rejectsWithCode(open({ ...pkg, extra: true }), 'format');
    await rejectsWithCode(open({ ...pkg, recipients: [...pkg.recipients, pkg.recipients[0]] }), 'format', /twice/);
    // Bad input at build time: duplicate recipients, ids that contradict their kind.
    await rejectsWithCode(C.buildKeyPackage(fields, C.newEpochKey(), [recipients[0], recipients[0]], sender.sig.privateKey), 'format');
    await rejectsWithCode(C.buildKeyPackage(fields, C.newEpochKey(), [{ ...recipients[0], kind: 'records' }], sender.sig.privateKey), 'format');
    await rejectsWithCode(C.buildKeyPackage(fields, C.randomBytes(16), recipients, sender.sig.privateKey), 'format');
  });
});

describe('message envelopes', () => {
  /** @type {import('../types.js').Header} */
  const header = {
    v: 1, thread: THREAD, epoch: 1, sender_device: 'AAECAwQFBgcICQoLDA0ODw', client_id: C.newClientId(),
    kind: 'clarification', meta: { due: '2026-12-01' },
  };
  /** @type {import('../types.js').Payload} */
  const payload = {
    text: 'Does **dual criminality** hold for count 2? « é »', reply_to: null, edits: null,
    files: [{ blob: 'b1', name: 'Warrant.pdf', mime: 'application/pdf', size: 7, key: C.b64uEncode(C.randomBytes(32)), sha256: C.b64uEncode(C.randomBytes(32)) }],
  };

  test('seal then open returns the payload; fresh IVs; other keys fail', async () => {
    const device = await newDevice();
    const epochKey = C.newEpochKey();
    const a = await C.sealEnvelope(header, payload, epochKey, device.sig.privateKey);
    const b = await C.sealEnvelope(header, payload, await C.importAesKey(epochKey), device.sig.privateKey);
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.ct, b.ct);
    const wire = C.parseStrictJson(JSON.stringify(a));
    assert.deepEqual(await C.openEnvelope(wire, epochKey, device.sig.publicKey), payload);
    assert.deepEqual(await C.openEnvelope(b, epochKey, await C.exportPublicKey(device.sig.publicKey)), payload);
    await rejectsWithCode(C.openEnvelope(a, C.newEpochKey(), device.sig.publicKey), 'auth');
    const aes128 = await C.getSubtle().importKey('raw', C.randomBytes(16), 'AES-GCM', false, ['encrypt', 'decrypt']);
    await rejectsWithCode(C.sealEnvelope(header, payload, aes128, device.sig.privateKey), 'key');
    await rejectsWithCode(C.openEnvelope(a, epochKey, (await newDevice()).sig.publicKey), 'signature');
  });

  test('bad headers and payloads are refused when sealing', async () => {
    const device = await newDevice();
    const key = C.newEpochKey();
    const seal = (/** @type {any} */ h, /** @type {any} */ p) => C.sealEnvelope(h, p, key, device.sig.privateKey);
    await rejectsWithCode(seal({ ...header, epoch: 0 }, payload), 'format');
    await rejectsWithCode(seal({ ...header, meta: null }, payload), 'format');
    await rejectsWithCode(seal({ ...header, secret: 'x' }, payload), 'format');
    await rejectsWithCode(seal(header, { ...payload, reply_to: 1.5 }), 'format');
    await rejectsWithCode(seal(header, { ...payload, files: [{ ...payload.files[0], key: 'AAAA' }] }), 'format', /32 bytes/);
    await rejectsWithCode(seal(header, { ...payload, files: [{ ...payload.files[0], key: 'short' }] }), 'encoding');
    await rejectsWithCode(seal(header, { ...payload, text: 'lone \ud800' }), 'json');
  });
});

describe('signed objects and certificates', () => {
  test('a membership change verifies only untouched and under its signer', async () => {
    const device = await newDevice();
    const change = { v: 1, thread: THREAD, action: 'add', user: USER_B, expires: null, sender_device: device.id };
    const signed = await C.signObject(change, device.sig.privateKey);
    assert.equal(await C.verifyObject(signed, device.sig.publicKey), true);
    assert.deepEqual(C.signedBytesOf(signed), C.canonicalBytes(change));
    assert.equal(await C.verifyObject({ ...signed, action: 'remove' }, device.sig.publicKey), false);
    assert.equal(await C.verifyObject({ ...signed, expires: '2026-12-01T00:00:00.000Z' }, device.sig.publicKey), false);
    assert.equal(await C.verifyObject({ ...signed, sig: 'not base64!' }, device.sig.publicKey), false);
    assert.equal(await C.verifyObject(change, device.sig.publicKey), false);
    assert.equal(await C.verifyObject(signed, (await newDevice()).sig.publicKey), false);
  });

  test('device and records-key certificates', async () => {
    const identity = await C.generateKeyPair('ecdsa');
    const device = await newDevice();
    const fields = {
      user: USER_A, device: device.id,
      dh: await C.publicKeyB64u(device.dh.publicKey), sig: await C.publicKeyB64u(device.sig.publicKey),
    };
    assert.equal(new TextDecoder().decode(C.deviceCertificateBytes(fields)),
      `{"device":"${fields.device}","dh":"${fields.dh}","sig":"${fields.sig}","user":"${USER_A}","v":1}`);
    const cert = await C.certifyDevice(identity.privateKey, fields);
    assert.equal(await C.verifyDeviceCertificate(identity.publicKey, fields, cert), true);
    assert.equal(await C.verifyDeviceCertificate(identity.publicKey, { ...fields, user: USER_B }, cert), false);
    assert.equal(await C.verifyDeviceCertificate(identity.publicKey, { ...fields, dh: fields.sig }, cert), false);
    assert.equal(await C.verifyDeviceCertificate((await C.generateKeyPair('ecdsa')).publicKey, fields, cert), false);

    const records = await C.generateKeyPair('ecdh');
    const rfields = { authority: 'FR-MJ', certified_by: USER_A, dh: await C.publicKeyB64u(records.publicKey) };
    assert.equal(new TextDecoder().decode(C.recordsCertificateBytes(rfields)),
      `{"authority":"FR-MJ","certified_by":"${USER_A}","dh":"${rfields.dh}","v":1}`);
    const rcert = await C.certifyRecordsKey(identity.privateKey, rfields);
    assert.equal(await C.verifyRecordsCertificate(identity.publicKey, rfields, rcert), true);
    assert.equal(await C.verifyRecordsCertificate(identity.publicKey, { ...rfields, authority: 'DE-BMJ' }, rcert), false);
    assert.equal(await C.verifyRecordsCertificate(identity.publicKey, rfields, cert), false);
  });
});

describe('wrapped key pairs', () => {
  test('identity: generated, wrapped, re-imported non-extractable; unwraps again; passphrase change', async () => {
    const pair = await C.createWrappedKeyPair('a long recovery passphrase', USER_A, 'identity');
    assert.equal(pair.privateKey.extractable, false);
    assert.equal(pair.publicKey.length, C.POINT_BYTES);
    assert.deepEqual(Object.keys(pair.wrapped).sort(), ['ct', 'iter', 'iv', 'kdf', 'salt']);
    assert.equal(pair.wrapped.iter, C.PBKDF2_ITERATIONS);
    const message = C.utf8Encode('certify');
    const publicKey = await C.importPublicKey('ecdsa', pair.publicKey);
    assert.equal(await C.verify(publicKey, await C.sign(pair.privateKey, message), message), true);
    const again = await C.unwrapPrivateKey(pair.wrapped, 'a long recovery passphrase', USER_A, 'identity');
    assert.equal(await C.verify(publicKey, await C.sign(again, message), message), true);
    const rewrapped = await C.changePassphrase(pair.wrapped, 'a long recovery passphrase', 'another one', USER_A, 'identity');
    assert.notEqual(rewrapped.salt, pair.wrapped.salt);
    const moved = await C.unwrapPrivateKey(rewrapped, 'another one', USER_A, 'identity');
    assert.equal(await C.verify(publicKey, await C.sign(moved, message), message), true);
    await rejectsWithCode(C.unwrapPrivateKey(rewrapped, 'a long recovery passphrase', USER_A, 'identity'), 'auth');
  });

  test('records key (ECDH) owned by an authority unwraps a package wrap', async () => {
    const records = await C.createWrappedKeyPair('records passphrase', 'FR-MJ', 'records');
    assert.equal(records.privateKey.algorithm.name, 'ECDH');
    const sender = await newDevice();
    const epochKey = C.newEpochKey();
    const pkg = await C.buildKeyPackage(
      { thread: THREAD, epoch: 1, reason: 'create', prev: null, history: 'shared', members: [{ user: USER_A, devices: [sender.id] }], sender_device: sender.id },
      epochKey, [{ id: 'records:FR-MJ', kind: 'records', dh: records.publicKey }], sender.sig.privateKey);
    const key = await C.unwrapPrivateKey(records.wrapped, 'records passphrase', 'FR-MJ', 'records');
    assert.deepEqual((await C.openKeyPackage(pkg, sender.sig.publicKey, 'records:FR-MJ', key)).epochKey, epochKey);
    await rejectsWithCode(C.unwrapPrivateKey(records.wrapped, 'records passphrase', 'DE-BMJ', 'records'), 'auth');
  });
});

describe('files', () => {
  const SIZE = 3 * 1024 * 1024 + 7; // three full chunks and a 7-byte last one

  test('3 MiB + 7 bytes round trip, from bytes and from a Blob, with progress', async () => {
    const plaintext = patternBytes(SIZE);
    /** @type {number[][]} */
    const progress = [];
    const out = await C.encryptFile(plaintext, { onProgress: (done, total) => progress.push([done, total]) });
    assert.equal(out.blob.length, SIZE + 4 * 28);
    assert.equal(C.b64uDecode(out.key).length, 32);
    assert.deepEqual(progress, [[1048576, SIZE], [2097152, SIZE], [3145728, SIZE], [SIZE, SIZE]]);
    /** @type {number[][]} */
    const back = [];
    const decrypted = await C.decryptFile(out.blob, out.key, { sha256: out.sha256, onProgress: (d, t) => back.push([d, t]) });
    assert.deepEqual(decrypted, plaintext);
    assert.deepEqual(back.at(-1), [SIZE, SIZE]);

    const fromBlob = await C.encryptFile(new Blob([plaintext]));
    assert.notEqual(fromBlob.key, out.key, 'a fresh key per file');
    assert.deepEqual(await C.decryptFile(fromBlob.blob, C.b64uDecode(fromBlob.key), { sha256: fromBlob.sha256 }), plaintext);
  });

  test('reordered, truncated, extended or altered blobs are refused', async () => {
    const { blob, key } = await C.encryptFile(patternBytes(SIZE));
    const stored = 1048576 + 28;
    const chunk = (/** @type {number} */ i) => blob.subarray(i * stored, Math.min(blob.length, (i + 1) * stored));
    const swapped = C.concatBytes(chunk(1), chunk(0), chunk(2), chunk(3));
    await rejectsWithCode(C.decryptFile(swapped, key), 'auth', /chunk 0 is out of place/);
    await rejectsWithCode(C.decryptFile(C.concatBytes(chunk(0), chunk(1), chunk(2)), key), 'auth', /chunk 2 of 3/);
    await rejectsWithCode(C.decryptFile(C.concatBytes(blob, chunk(3)), key), 'auth');
    await rejectsWithCode(C.decryptFile(flipBit(blob, 2 * stored + 100), key), 'auth', /chunk 2 of 4/);
    await rejectsWithCode(C.decryptFile(flipBit(blob, 3 * stored + 2), key), 'auth', /chunk 3 is out of place/);
  });

  test('an empty file is one empty chunk', async () => {
    const out = await C.encryptFile(new Uint8Array(0));
    assert.equal(out.blob.length, 28);
    assert.deepEqual(await C.decryptFile(out.blob, out.key), new Uint8Array(0));
    await rejectsWithCode(C.decryptFile(new Uint8Array(0), out.key), 'format');
  });
});

describe('record chain', () => {
  /**
   * A server: signs heads like DESIGN §5. Builds `count` entries, the first a
   * thread creation pinning its key.
   * @param {number} count
   * @param {CryptoKeyPair} server
   */
  async function buildChain(count, server) {
    const serverKey = await C.publicKeyB64u(server.publicKey);
    /** @type {import('../types.js').ChainItem[]} */
    const items = [];
    let hash = await C.genesisHash(THREAD);
    for (let seq = 1; seq <= count; seq++) {
      /** @type {import('../types.js').Entry} */
      const entry = seq === 1
        ? { thread: THREAD, seq, at: '2026-11-22T10:00:00.000Z', kind: 'create', actor: { user: USER_A, device: 'dev' },
          body: { v: 1, thread: THREAD, case: 'c1', subject: 'Extradition X', history: 'shared', server_key: serverKey, sender_device: 'dev', sig: 'x' } }
        : { thread: THREAD, seq, at: `2026-11-22T10:00:${String(seq).padStart(2, '0')}.000Z`, kind: 'status',
          actor: { user: USER_B, device: null }, body: { case: 'c1', from: `s${seq - 1}`, to: `s${seq}` } };
      hash = await C.nextHash(hash, entry);
      const serverSig = await C.sign(server.privateKey, C.serverSignedBytes(THREAD, seq, hash));
      items.push({ entry, hash: C.b64uEncode(hash), server_sig: C.b64uEncode(serverSig) });
    }
    return items;
  }

  test('a chain of 10 verifies; a flipped byte in entry 6 is named', async () => {
    const server = await C.generateKeyPair('ecdsa');
    const items = await buildChain(10, server);
    const result = await C.verifyChain(items, server.publicKey, { thread: THREAD });
    assert.deepEqual(result, { ok: true, head: { seq: 10, hash: items[9].hash } });

    // Flip one byte of entry 6's canonical form and parse it back (what a
    // tampered database row or bundle looks like to the client).
    const bytes = C.canonicalBytes(items[5].entry);
    const at = new TextDecoder().decode(bytes).indexOf('s6');
    const tampered = C.parseStrictJsonBytes(flipBit(bytes, at + 1)); // "s6" → "s7"
    const broken = items.map((item, i) => (i === 5 ? { ...item, entry: /** @type {any} */ (tampered) } : item));
    const r = await C.verifyChain(broken, server.publicKey, { thread: THREAD });
    assert.deepEqual(r.ok ? null : [r.seq, r.reason, r.head.seq, r.head.hash], [6, 'hash', 5, items[4].hash]);
  });

  test('gaps, repeats, a swapped signature and a re-signed history are named', async () => {
    const server = await C.generateKeyPair('ecdsa');
    const items = await buildChain(10, server);
    const opts = { thread: THREAD };
    const check = async (/** @type {any[]} */ list, /** @type {CryptoKey} */ key = server.publicKey) => {
      const r = await C.verifyChain(list, key, opts);
      return r.ok ? 'ok' : `${r.seq}:${r.reason}`;
    };
    assert.equal(await check([...items.slice(0, 3), ...items.slice(4)]), '4:seq');
    assert.equal(await check([...items.slice(0, 3), items[2], ...items.slice(3)]), '4:seq');
    assert.equal(await check(items.map((it, i) => (i === 7 ? { ...it, server_sig: items[8].server_sig } : it))), '8:server_sig');
    assert.equal(await check(items.map((it, i) => (i === 2 ? { ...it, hash: 'AAAA' } : it))), '3:malformed');
    // Another server key re-signs the same entries: every signature checks
    // out under that key, but the creation entry pins the original one.
    const rogue = await C.generateKeyPair('ecdsa');
    const resigned = await Promise.all(items.map(async (it) => ({
      ...it, server_sig: C.b64uEncode(await C.sign(rogue.privateKey, C.serverSignedBytes(THREAD, it.entry.seq, it.hash))),
    })));
    assert.equal(await check(resigned, rogue.publicKey), '1:server_key');
    // Resuming from a remembered head verifies only what follows it.
    const resumed = await C.verifyChain(items.slice(6), server.publicKey, { thread: THREAD, after: { seq: 6, hash: items[5].hash } });
    assert.deepEqual(resumed, { ok: true, head: { seq: 10, hash: items[9].hash } });
    const forked = await C.verifyChain(items.slice(6), server.publicKey, { thread: THREAD, after: { seq: 6, hash: items[4].hash } });
    assert.deepEqual(forked.ok ? null : [forked.seq, forked.reason], [7, 'hash']);
  });

  describe('purged content', () => {
    /**
     * A chain of 5 whose entry 3 is a message; returns it and entry 3 purged
     * as the server sends it: ct dropped, `digest` of the entry as written.
     * @param {CryptoKeyPair} server
     */
    async function withMessage(server) {
      const items = await buildChain(5, server);
      /** @type {import('../types.js').Entry} */
      const message = {
        thread: THREAD, seq: 3, at: '2026-11-22T10:00:03.000Z', kind: 'message', actor: { user: USER_A, device: 'dev' },
        body: { v: 1, header: { thread: THREAD, epoch: 1, kind: 'text' }, iv: 'aXY', ct: 'Y2lwaGVydGV4dA', sig: 'x' },
      };
      let hash = C.b64uDecode(items[1].hash);
      for (let i = 2; i < 5; i++) {
        const entry = i === 2 ? message : items[i].entry;
        hash = await C.nextHash(hash, entry);
        const serverSig = await C.sign(server.privateKey, C.serverSignedBytes(THREAD, i + 1, hash));
        items[i] = { entry, hash: C.b64uEncode(hash), server_sig: C.b64uEncode(serverSig) };
      }
      const { ct: _dropped, ...kept } = /** @type {Record<string, import('../types.js').JsonValue>} */ (message.body);
      const digest = C.b64uEncode(await C.entryDigest(message));
      const purged = { ...items[2], entry: { ...message, body: kept }, digest, purged_on: '2026-12-01' };
      return { items, purged, digest };
    }

    /**
     * @param {import('../types.js').ChainItem[]} items
     * @param {CryptoKey} key
     * @param {'all' | 'last'} signatures
     */
    const outcome = async (items, key, signatures = 'all') => {
      const r = await C.verifyChain(items, key, { thread: THREAD, signatures });
      return r.ok ? `ok:${r.head.seq}` : `${r.seq}:${r.reason}`;
    };

    test('a purged message links through its digest, with every signature or the last', async () => {
      const server = await C.generateKeyPair('ecdsa');
      const { items, purged } = await withMessage(server);
      assert.equal(await outcome(items, server.publicKey), 'ok:5');
      const record = items.map((it, i) => (i === 2 ? purged : it));
      assert.equal(await outcome(record, server.publicKey), 'ok:5');
      assert.equal(await outcome(record, server.publicKey, 'last'), 'ok:5');
      // Without its digest the shortened entry no longer matches its hash.
      const { digest: _d, ...bare } = purged;
      assert.equal(await outcome(items.map((it, i) => (i === 2 ? bare : it)), server.publicKey), '3:hash');
    });

    test('a digest on an entry that still has its ct, or is not a message, is malformed', async () => {
      const server = await C.generateKeyPair('ecdsa');
      const { items, digest } = await withMessage(server);
      const withCt = items.map((it, i) => (i === 2 ? { ...it, digest } : it));
      assert.equal(await outcome(withCt, server.publicKey), '3:malformed');
      const status = C.b64uEncode(await C.entryDigest(items[3].entry));
      const notMessage = items.map((it, i) => (i === 3 ? { ...it, digest: status } : it));
      assert.equal(await outcome(notMessage, server.publicKey), '4:malformed');
    });

    test('a wrong or malformed digest breaks the chain at that entry', async () => {
      const server = await C.generateKeyPair('ecdsa');
      const { items, purged, digest } = await withMessage(server);
      const wrong = C.b64uEncode(flipBit(C.b64uDecode(digest), 0));
      const check = async (/** @type {string} */ value) =>
        outcome(items.map((it, i) => (i === 2 ? { ...purged, digest: value } : it)), server.publicKey);
      assert.equal(await check(wrong), '3:hash');
      assert.equal(await check('AAAA'), '3:malformed');
      const r = await C.verifyChain(items.map((it, i) => (i === 2 ? { ...purged, digest: wrong } : it)), server.publicKey, { thread: THREAD });
      assert.deepEqual(r.ok ? null : r.head, { seq: 2, hash: items[1].hash });
    });
  });
});

describe('facade', () => {
  test('a clear error where WebCrypto is missing', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    assert.ok(saved);
    Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true, writable: true });
    try {
      assert.throws(() => C.getSubtle(), (err) => err instanceof C.ComityCryptoError && err.code === 'unavailable' && /secure context/.test(err.message));
      assert.throws(() => C.randomBytes(12), C.ComityCryptoError);
    } finally {
      Object.defineProperty(globalThis, 'crypto', saved);
    }
    assert.equal(C.randomBytes(12).length, 12);
  });
});
