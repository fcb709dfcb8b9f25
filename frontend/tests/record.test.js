// The browser's record exporter (record/bundle.js): what its signed manifest
// covers, where the record it packs must end, who may have signed each
// envelope, and where the decrypted files go in the ZIP.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as C from '../static/comity/crypto/index.js';
import { RecordError, buildBundle, safeName } from '../static/comity/record/bundle.js';
import { installMiniDom } from './mini-dom.js';

installMiniDom(); // record.html is built as DOM nodes

const THREAD = '5f0c7a3e-9b1d-4c2a-8e6f-0123456789ab';
const CASE = '7d3e2f10-4b5a-4c6d-9e8f-00000000c001';
const AT = '2026-11-22T10:00:00.000Z';

/**
 * A user with an identity key and certified devices, as the server lists them.
 * @param {string} id
 * @param {string} authority
 * @param {number} [devices]
 */
async function person(id, authority, devices = 1) {
  const identity = await C.generateKeyPair('ecdsa');
  const identityKey = await C.publicKeyB64u(identity.publicKey);
  const made = [];
  for (let n = 0; n < devices; n++) {
    const sig = await C.generateKeyPair('ecdsa');
    const dh = await C.generateKeyPair('ecdh');
    const fields = { user: id, device: C.newDeviceId(), dh: await C.publicKeyB64u(dh.publicKey), sig: await C.publicKeyB64u(sig.publicKey) };
    const certificate = await C.certifyDevice(identity.privateKey, fields);
    made.push({ id: fields.device, sig, dh, cert: { v: 1, ...fields, certificate, identity: identityKey } });
  }
  return { id, authority, identity: identityKey, devices: made, device: made[0] };
}

/** Chain items written as the server writes them. */
class Chain {
  /** @param {CryptoKeyPair} server */
  constructor(server) {
    this.server = server;
    /** @type {any[]} */
    this.items = [];
  }

  /**
   * @param {string} kind
   * @param {any} body
   * @param {{user: string | null, device: string | null}} actor
   */
  async append(kind, body, actor) {
    const seq = this.items.length + 1;
    const entry = { thread: THREAD, seq, at: AT, kind, actor, body };
    const previous = seq === 1 ? await C.genesisHash(THREAD) : C.b64uDecode(this.items[seq - 2].hash);
    const hash = await C.nextHash(previous, /** @type {any} */ (entry));
    const serverSig = await C.sign(this.server.privateKey, C.serverSignedBytes(THREAD, seq, hash));
    this.items.push({ seq, entry, hash: C.b64uEncode(hash), server_sig: C.b64uEncode(serverSig) });
  }
}

/**
 * A thread as `POST threads/{id}/record` hands it to a French supervisor: the French officer
 * opens it and sends a document, the German officer answers, the supervisor exports.
 * `forge` may change who the server says sent the German answer; `end` what the record ends with.
 * `hostile` has the German officer seal an answer whose payload the client refuses and the
 * French one attach a file the server does not hold; `forgedAnswer` alters the answer after
 * its sender signed it (a server rewriting the record, chain and all).
 * @param {{actorOfAnswer?: (people: any) => {user: string, device: string},
 *   end?: 'export' | 'nothing' | 'export by another', fileNames?: string[], hostile?: boolean,
 *   forgedAnswer?: boolean}} [options]
 */
async function scene(options = {}) {
  const server = await C.generateKeyPair('ecdsa');
  const serverKey = await C.publicKeyB64u(server.publicKey);
  const fr = await person('0a000000-0000-4000-8000-00000000000a', 'FR-MJ');
  const de = await person('0b000000-0000-4000-8000-00000000000b', 'DE-BFJ', 2);
  const sup = await person('0c000000-0000-4000-8000-00000000000c', 'FR-MJ');
  const other = await person('0d000000-0000-4000-8000-00000000000d', 'DE-BFJ');
  const records = await C.generateKeyPair('ecdh');
  const chain = new Chain(server);
  const as = (/** @type {any} */ who) => ({ user: who.id, device: who.device.id });

  const creation = await C.signObject({ v: 1, thread: THREAD, case: CASE, subject: 'Dual criminality', history: 'shared',
    server_key: serverKey, sender_device: fr.device.id }, fr.device.sig.privateKey);
  await chain.append('create', creation, as(fr));
  const epochKey = C.newEpochKey();
  const recipients = [
    ...[fr, de].flatMap((p) => p.devices.map((d) => ({ id: d.id, kind: /** @type {const} */ ('device'), dh: d.cert.dh }))),
    { id: 'records:FR-MJ', kind: /** @type {const} */ ('records'), dh: await C.publicKeyB64u(records.publicKey) },
  ];
  const pkg = await C.buildKeyPackage({ thread: THREAD, epoch: 1, reason: 'create', prev: null, history: 'shared',
    members: [fr, de].map((p) => ({ user: p.id, devices: p.devices.map((d) => d.id) })), sender_device: fr.device.id },
  epochKey, recipients, fr.device.sig.privateKey);
  await chain.append('keys', pkg, as(fr));

  /** @type {Map<string, Uint8Array>} */
  const blobs = new Map();
  const files = [];
  for (const [n, name] of (options.fileNames ?? ['warrant.pdf']).entries()) {
    const sealed = await C.encryptFile(new TextEncoder().encode(`document ${n}`));
    const blob = `0f0f0f0f-0000-4000-8000-${String(n).padStart(12, '0')}`;
    blobs.set(blob, sealed.blob);
    files.push({ blob, name, mime: 'application/pdf', size: sealed.size, key: sealed.key, sha256: sealed.sha256 });
  }
  /**
   * @param {any} who
   * @param {string} text
   * @param {any[]} [attached]
   */
  const say = async (who, text, attached = []) => {
    /** @type {import('../types.js').Header} */
    const header = { v: 1, thread: THREAD, epoch: 1, sender_device: who.device.id, client_id: C.newClientId(), kind: 'text', meta: {} };
    return C.sealEnvelope(header, { text, reply_to: null, edits: null, files: attached }, epochKey, who.device.sig.privateKey);
  };
  if (options.hostile) {
    files.push({ ...files[0], blob: '0f0f0f0f-0000-4000-8000-999999999999', name: 'missing.pdf' });
  }
  await chain.append('message', await say(fr, 'Does the offence carry **at least one year**?', files), as(fr));
  const answer = options.hostile
    ? await sealUnchecked(de, { text: 'Yes.', reply_to: 'seven', edits: null, files: [] }, epochKey)
    : await say(de, 'Yes: article 7, up to *three years*.');
  if (options.forgedAnswer) answer.ct = C.b64uEncode(C.b64uDecode(answer.ct).map((b, n) => (n === 0 ? b ^ 1 : b)));
  await chain.append('message', answer, options.actorOfAnswer?.({ fr, de }) ?? as(de));
  const end = options.end ?? 'export';
  if (end !== 'nothing') {
    const by = end === 'export' ? sup : other;
    await chain.append('export', { by: by.id, format: 'comity-record/v1' }, { user: by.id, device: null });
  }

  const people = [fr, de, sup, other];
  const data = {
    thread: { id: THREAD, subject: 'Dual criminality', history: 'shared' },
    case: { id: CASE, requesting_authority: 'FR-MJ', requested_authority: 'DE-BFJ', requesting_reference: 'FR-42',
      requested_reference: 'DE-7', kind: 'extradition' },
    server_key: serverKey,
    items: chain.items,
    members: [fr, de].map((p, n) => ({ user: p.id, display_name: `Officer ${n}`, authority: p.authority, role: 'officer',
      joined_seq: 1, ended_seq: null, end_reason: null })),
    identities: Object.fromEntries(people.map((p) => [p.id, [p.identity]])),
    devices: Object.fromEntries(people.flatMap((p) => p.devices.map((d) => [d.id, d.cert]))),
    records_keys: [],
    blobs: [...blobs].map(([id, blob]) => ({ id, sha256: '', size: blob.length })),
  };
  /** @type {import('../static/comity/record/bundle.js').BuildOptions} */
  const build = {
    exporter: { user: sup.id, device: sup.device.id, authority: 'FR-MJ', sigPrivate: sup.device.sig.privateKey },
    recordsKeys: [records.privateKey],
    blob: async (id) => /** @type {Uint8Array} */ (blobs.get(id)),
  };
  return { data, build, sup };
}

/**
 * An envelope sealed as a member's own client could, past the checks the shipped client makes.
 * @param {any} who
 * @param {any} payload
 * @param {Uint8Array} epochKey
 */
async function sealUnchecked(who, payload, epochKey) {
  const header = { v: 1, thread: THREAD, epoch: 1, sender_device: who.device.id, client_id: C.newClientId(), kind: 'text', meta: {} };
  const iv = C.randomBytes(12);
  const plaintext = C.canonicalBytes(payload);
  const ct = C.b64uEncode(await C.aesGcmEncrypt(epochKey, iv, plaintext, C.envelopeAad(/** @type {any} */ (header))));
  const unsigned = { header, iv: C.b64uEncode(iv), ct };
  const sig = await C.sign(who.device.sig.privateKey, C.envelopeSignedBytes(/** @type {any} */ (unsigned)));
  return { ...unsigned, sig: C.b64uEncode(sig) };
}

/** @param {Uint8Array} data */
const digest = async (data) => C.b64uEncode(await C.sha256(/** @type {Uint8Array<ArrayBuffer>} */ (data)));

describe('record export', () => {
  test('the signed manifest carries the SHA-256 of entries.jsonl and record.html as packed', async () => {
    const { data, build, sup } = await scene();
    const bundle = await buildBundle(/** @type {any} */ (data), build);
    const packed = new Map(bundle.files.map((f) => [f.name, f.data]));
    assert.deepEqual(bundle.manifest.digests, {
      'entries.jsonl': await digest(/** @type {Uint8Array} */ (packed.get('entries.jsonl'))),
      'record.html': await digest(/** @type {Uint8Array} */ (packed.get('record.html'))),
    });
    assert.ok(new TextDecoder().decode(packed.get('record.html')).includes('<strong>at least one year</strong>'));
    assert.ok(await C.verifyObject(bundle.manifest, sup.device.cert.sig));
  });

  test('an envelope signed by a device other than its entry\'s actor stops the export, naming the entry', async () => {
    const forgeries = {
      'another member': (/** @type {any} */ p) => ({ user: p.fr.id, device: p.fr.device.id }),
      'another device of the sender': (/** @type {any} */ p) => ({ user: p.de.id, device: p.de.devices[1].id }),
    };
    for (const [what, actorOfAnswer] of Object.entries(forgeries)) {
      const { data, build } = await scene({ actorOfAnswer });
      await assert.rejects(buildBundle(/** @type {any} */ (data), build),
        (err) => err instanceof RecordError && /^Entry 4 /.test(err.message), what);
    }
  });

  test('a record that does not end with this exporter\'s export entry is not packed', async () => {
    for (const end of /** @type {const} */ (['nothing', 'export by another'])) {
      const { data, build } = await scene({ end });
      await assert.rejects(buildBundle(/** @type {any} */ (data), build),
        (err) => err instanceof RecordError && /does not end with your export/.test(err.message), end);
    }
  });

  test('file names a member chose cannot climb out of their folder in the ZIP', async () => {
    const hostile = ['..', '.', '../../etc/passwd', '.hidden', '…', 'a/../../b.pdf'];
    assert.deepEqual(hostile.map(safeName), ['file', 'file', '_.._etc_passwd', 'hidden', '_', 'a_.._.._b.pdf']);
    const { data, build } = await scene({ fileNames: hostile });
    const bundle = await buildBundle(/** @type {any} */ (data), build);
    const paths = bundle.files.map((f) => f.name).filter((name) => name.startsWith('files/'));
    assert.equal(paths.length, hostile.length);
    for (const path of paths) {
      assert.ok(path.split('/').every((part) => part !== '' && !part.startsWith('.')), path);
    }
  });

  test('what a member sealed that cannot be shown is named, and the rest of the record is exported', async () => {
    const { data, build } = await scene({ hostile: true });
    const bundle = await buildBundle(/** @type {any} */ (data), build);
    const [question, answer] = bundle.items.filter((i) => i.entry.kind === 'message');
    assert.equal(answer.payload, undefined);
    assert.equal(question.payload?.text, 'Does the offence carry **at least one year**?');
    const paths = bundle.files.map((f) => f.name);
    assert.ok(paths.includes('files/0f0f0f0f-0000-4000-8000-000000000000/warrant.pdf'));
    assert.ok(!paths.some((p) => p.includes('missing')));
    assert.deepEqual(bundle.problems.map((p) => p.seq), [question.entry.seq, answer.entry.seq]);
    const html = new TextDecoder().decode(bundle.files.find((f) => f.name === 'record.html')?.data);
    assert.match(html, /Not shown: its content could not be opened/);
    assert.match(html, /Left out: file missing\.pdf/);
  });

  test('an envelope altered after its sender signed it still stops the export', async () => {
    const { data, build } = await scene({ forgedAnswer: true });
    await assert.rejects(buildBundle(/** @type {any} */ (data), build), (err) => err instanceof RecordError && /entry 4 does not verify/.test(err.message));
  });
});
