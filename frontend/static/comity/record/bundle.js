// Building a `comity-record/v1` bundle in the browser (DESIGN §5, docs/record.md).
//
// The server hands out the record's raw material (`POST threads/{id}/record`):
// entries, members, certificates and the server key, all ciphertext. Here the
// exporting supervisor's browser checks the chain and every certificate,
// opens the key packages addressed to its authority's records key, decrypts
// every message and file, and lays out the files of the ZIP, the manifest
// signed by its own device. Without a records key it keeps the ciphertext
// (the bundle `record open --key` decrypts later). It mirrors the Python
// builder, consult/client/record.py; `record verify` checks either.

import * as C from '../crypto/index.js';
import { renderRecordHtml } from './html.js';

export const FORMAT = 'comity-record/v1';

/**
 * @typedef {import('../../../types.js').ChainItem & {payload?: import('../../../types.js').Payload,
 *   digest?: string, purged_on?: string}} RecordItem
 * @typedef {{v: number, user: string, device: string, dh: string, sig: string, certificate: string,
 *   identity: string}} DeviceCert
 * @typedef {{v: number, authority: string, certified_by: string, dh: string, certificate: string,
 *   retired_at: string | null}} RecordsCert
 * @typedef {{user: string, display_name: string, authority: string | null, role: string, joined_seq: number,
 *   ended_seq: number | null, end_reason: string | null}} Member
 * @typedef {{
 *   thread: {id: string, subject: string, history: string},
 *   case: {[key: string]: string},
 *   server_key: string,
 *   items: RecordItem[],
 *   members: Member[],
 *   identities: {[user: string]: string[]},
 *   devices: {[device: string]: DeviceCert},
 *   records_keys: RecordsCert[],
 *   blobs: {id: string, sha256: string, size: number}[],
 * }} RecordData
 * @typedef {{path: string, sha256: string, blob: string, blob_sha256: string}} ListedFile
 * @typedef {{phase: 'verify' | 'keys' | 'decrypt' | 'sign', done: number, total: number}} Progress
 * @typedef {{seq: number, what: string, file?: string}} Problem what a readable export could not show
 */

export class RecordError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'RecordError';
  }
}

/**
 * A file name safe in any archive reader: the same rule as the Python builder.
 * No separators, and no leading dot, so neither `..` nor `.` (nor a hidden file).
 * @param {string} name
 * @returns {string}
 */
export function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(0, 80) || 'file';
}

/**
 * @param {Uint8Array} data
 * @returns {Promise<string>}
 */
async function sha256B64u(data) {
  return C.b64uEncode(await C.sha256(/** @type {Uint8Array<ArrayBuffer>} */ (data)));
}

/**
 * The chain, every server signature, and the creation's pinned server key.
 * @param {RecordData} data
 */
async function verifyChain(data) {
  const result = await C.verifyChain(data.items, data.server_key, { thread: data.thread.id });
  if (!result.ok) throw new RecordError(`The record breaks at entry ${result.seq}: ${result.detail}.`);
}

/**
 * The record ends with this exporter's own `export` entry (DESIGN §5), as
 * `record verify` requires: a bundle may not stop short of it.
 * @param {RecordData} data
 * @param {string} exporter user id
 */
function checkEnd(data, exporter) {
  const last = data.items[data.items.length - 1]?.entry;
  const body = /** @type {{[key: string]: unknown}} */ (last?.body ?? {});
  if (last?.kind !== 'export' || last.actor.user !== exporter || body.by !== exporter || body.format !== FORMAT ||
      Object.keys(body).length !== 2) {
    throw new RecordError(`The record does not end with your export (entry ${last?.seq} is ${last?.kind}).`);
  }
}

/**
 * Each device's certificate against one of its user's identity keys; the
 * user and signing key of every device that does verify.
 * @param {RecordData} data
 * @returns {Promise<Map<string, {user: string, key: string}>>}
 */
async function certifiedDevices(data) {
  const keys = new Map();
  for (const [id, cert] of Object.entries(data.devices)) {
    const identities = data.identities[cert.user] ?? [];
    if (cert.device === id && identities.includes(cert.identity) &&
        (await C.verifyDeviceCertificate(cert.identity, { user: cert.user, device: cert.device, dh: cert.dh, sig: cert.sig },
          cert.certificate))) {
      keys.set(id, { user: cert.user, key: cert.sig });
    }
  }
  return keys;
}

/**
 * The key of the device that signed an entry's body: the entry's own actor
 * device, certified for its actor. The server records who sent what; any
 * other signer would show one member's words under another's name.
 * @param {Map<string, {user: string, key: string}>} devices
 * @param {string} device
 * @param {import('../../../types.js').Entry} entry
 * @returns {string}
 */
function signer(devices, device, entry) {
  const certified = devices.get(device);
  if (certified === undefined) {
    throw new RecordError(`Entry ${entry.seq} is signed by device ${device}, which has no valid certificate.`);
  }
  if (device !== entry.actor.device || certified.user !== entry.actor.user) {
    throw new RecordError(`Entry ${entry.seq} is signed by device ${device}, not by the device of its sender ${entry.actor.user}.`);
  }
  return certified.key;
}

/**
 * Every epoch key of the thread, from the packages addressed to `records:<authority>`,
 * trying each of the authority's records keys (current and retired).
 * @param {RecordData} data
 * @param {Map<string, {user: string, key: string}>} devices
 * @param {string} authority
 * @param {CryptoKey[]} recordsKeys ECDH private keys
 * @returns {Promise<Map<number, Uint8Array>>}
 */
async function epochKeys(data, devices, authority, recordsKeys) {
  const recipient = `records:${authority}`;
  const keys = new Map();
  for (const item of data.items) {
    const { entry } = item;
    const pkg = /** @type {any} */ (entry.body);
    if (entry.kind !== 'keys' || !pkg.recipients.some((/** @type {{id: string}} */ r) => r.id === recipient)) continue;
    const sender = signer(devices, pkg.sender_device, entry);
    let opened = null;
    for (const key of recordsKeys) {
      try {
        opened = await C.openKeyPackage(pkg, sender, recipient, key);
        break;
      } catch (err) {
        if (!(err instanceof C.ComityCryptoError) || err.code !== 'auth') throw err;
      }
    }
    if (opened === null) throw new RecordError(`None of your authority's records keys opens the keys of epoch ${pkg.epoch}.`);
    keys.set(opened.epoch, opened.epochKey);
  }
  return keys;
}

/**
 * @typedef {{
 *   exporter: {user: string, device: string, authority: string, sigPrivate: CryptoKey},
 *   recordsKeys: CryptoKey[] | null,
 *   blob: (id: string) => Promise<Uint8Array>,
 *   onProgress?: (progress: Progress) => void,
 *   now?: Date,
 * }} BuildOptions
 */

/**
 * Decrypt every message (and its files) with the thread's epoch keys.
 *
 * A signature that does not verify means the record was altered after its
 * sender sealed it: no bundle. What a member sealed that cannot be shown (a
 * payload the client refuses, a file the server no longer holds or that does
 * not decrypt) is theirs to answer for: it is named in `problems` and in
 * record.html, left encrypted or out, and the export goes on, so a member
 * cannot keep the record from being exported readable.
 * @param {RecordData} data
 * @param {Map<string, {user: string, key: string}>} devices
 * @param {Map<number, Uint8Array>} keys
 * @param {BuildOptions} options
 */
async function decryptItems(data, devices, keys, options) {
  /** @type {RecordItem[]} */
  const items = [];
  /** @type {Map<string, Uint8Array>} */
  const files = new Map();
  /** @type {ListedFile[]} */
  const listed = [];
  /** @type {Problem[]} */
  const problems = [];
  for (const [index, original] of data.items.entries()) {
    const item = { ...original };
    const envelope = /** @type {any} */ (item.entry.body);
    const seq = item.entry.seq;
    if (item.entry.kind === 'message' && typeof envelope.ct === 'string') {
      const key = keys.get(envelope.header.epoch);
      if (key === undefined) throw new RecordError(`No key for epoch ${envelope.header.epoch} (entry ${seq}).`);
      const sender = signer(devices, envelope.header.sender_device, item.entry);
      try {
        item.payload = await C.openEnvelope(envelope, key, sender);
      } catch (err) {
        const forged = err instanceof C.ComityCryptoError && err.code === 'signature';
        if (forged) throw new RecordError(`The envelope of entry ${seq} does not verify.`);
        problems.push({ seq, what: `its content could not be opened (${reason(err)})` });
      }
      for (const file of item.payload?.files ?? []) {
        try {
          const content = await C.decryptFile(/** @type {Uint8Array<ArrayBuffer>} */ (await options.blob(file.blob)),
            C.b64uDecode(file.key), { sha256: file.sha256 });
          const path = `files/${safeName(file.blob)}/${safeName(file.name)}`;
          files.set(path, content);
          listed.push({ path, sha256: await sha256B64u(content), blob: file.blob, blob_sha256: file.sha256 });
        } catch (err) {
          problems.push({ seq, what: `file ${safeName(file.name)} (${reason(err)})`, file: file.blob });
        }
      }
    }
    items.push(item);
    options.onProgress?.({ phase: 'decrypt', done: index + 1, total: data.items.length });
  }
  return { items, files, listed, problems };
}

/**
 * What went wrong, in a few words, for a problem's description.
 * @param {unknown} err
 */
function reason(err) {
  return (err instanceof Error ? err.message : String(err)).slice(0, 120);
}

/**
 * The ciphertext as it is: every blob of the thread under `files/<id>.blob`.
 * @param {RecordData} data
 * @param {BuildOptions} options
 */
async function keepCiphertext(data, options) {
  const files = new Map();
  /** @type {ListedFile[]} */
  const listed = [];
  for (const [index, blob] of data.blobs.entries()) {
    const content = await options.blob(blob.id);
    const digest = await sha256B64u(content);
    if (digest !== blob.sha256) throw new RecordError(`File ${blob.id} does not match its SHA-256.`);
    const path = `files/${blob.id}.blob`;
    files.set(path, content);
    listed.push({ path, sha256: digest, blob: blob.id, blob_sha256: digest });
    options.onProgress?.({ phase: 'decrypt', done: index + 1, total: data.blobs.length });
  }
  return { items: data.items.map((i) => ({ ...i })), files, listed, problems: /** @type {Problem[]} */ ([]) };
}

/**
 * Verify, decrypt (with records keys) and assemble the bundle's files.
 * @param {RecordData} data
 * @param {BuildOptions} options
 * @returns {Promise<{manifest: {[key: string]: unknown}, items: RecordItem[], files: {name: string, data: Uint8Array}[],
 *   problems: Problem[]}>}
 */
export async function buildBundle(data, options) {
  options.onProgress?.({ phase: 'verify', done: 0, total: data.items.length });
  await verifyChain(data);
  checkEnd(data, options.exporter.user);
  const devices = await certifiedDevices(data);
  const plain = options.recordsKeys !== null;
  options.onProgress?.({ phase: 'keys', done: 0, total: 1 });
  const { items, files, listed, problems } = plain
    ? await decryptItems(data, devices, await epochKeys(data, devices, options.exporter.authority, options.recordsKeys ?? []), options)
    : await keepCiphertext(data, options);
  options.onProgress?.({ phase: 'sign', done: 0, total: 1 });
  const last = items[items.length - 1];
  const { exporter } = options;
  const unsigned = {
    format: FORMAT, thread: data.thread, case: data.case, server_key: data.server_key,
    head: { seq: last.entry.seq, hash: last.hash }, members: data.members, identities: data.identities,
    devices: data.devices, records_keys: data.records_keys,
    acknowledgements: items.filter((i) => i.entry.kind === 'receipt').map((i) => {
      const body = /** @type {{seq: number, hash: string}} */ (i.entry.body);
      return { seq: i.entry.seq, by: i.entry.actor.user, up_to: body.seq, hash: body.hash };
    }),
    files: listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    contents: plain ? 'plaintext' : 'ciphertext',
    exporter: { user: exporter.user, device: exporter.device, authority: exporter.authority },
    exported_at: (options.now ?? new Date()).toISOString(),
  };
  const entries = new TextEncoder().encode(items.map((i) => new TextDecoder().decode(C.canonicalBytes(i))).join('\n') + '\n');
  const html = new TextEncoder().encode(renderRecordHtml(unsigned, items, problems));
  // The chain covers the ciphertext only: the digests put the shown text under the exporter's signature too.
  const digests = { 'entries.jsonl': await sha256B64u(entries), 'record.html': await sha256B64u(html) };
  const manifest = await C.signObject({ ...unsigned, digests }, exporter.sigPrivate);
  return {
    manifest,
    items,
    problems,
    files: [
      { name: 'manifest.json', data: C.canonicalBytes(manifest) },
      { name: 'entries.jsonl', data: entries },
      ...[...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, content]) => ({ name, data: content })),
      { name: 'record.html', data: html },
    ],
  };
}
