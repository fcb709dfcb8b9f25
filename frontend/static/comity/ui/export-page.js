// /threads/{id}/record/: a supervisor exports the thread's record (DESIGN §5
// "Export", docs/record.md). The records key is unlocked first, so a wrong
// passphrase costs nothing; then a fresh second-factor code makes the server
// record the export and hand out the ciphertext, which this page verifies,
// decrypts and packs into the signed ZIP, showing progress all the way.

import * as C from '../crypto/index.js';
import { buildBundle } from '../record/bundle.js';
import { zipFiles } from '../record/zip.js';
import { ApiError, downloadBlob, get, post } from '../transport/api.js';
import { byId, pageData, say } from './dom.js';
import { describeError } from './errors.js';
import { formatSize, t } from './i18n.js';
import { currentUser, requireDevice } from './session.js';

const thread = pageData('thread');
const user = currentUser();
const form = byId('export-form', HTMLFormElement);
const button = byId('export-button', HTMLButtonElement);
const passphrase = byId('export-passphrase', HTMLInputElement);
const code = byId('export-code', HTMLInputElement);
const error = byId('export-error');
const status = byId('export-status');
const progress = byId('export-progress', HTMLProgressElement);
const link = byId('export-link', HTMLAnchorElement);

/** @returns {'plaintext' | 'ciphertext'} */
function contents() {
  const chosen = form.querySelector('input[name=contents]:checked');
  return chosen instanceof HTMLInputElement && chosen.value === 'ciphertext' ? 'ciphertext' : 'plaintext';
}

function showPassphraseField() {
  byId('export-passphrase-field').hidden = contents() === 'ciphertext';
}

/**
 * @param {string} text
 * @param {number} [done]
 * @param {number} [total]
 */
function step(text, done, total) {
  say(status, text);
  progress.hidden = false;
  if (total) {
    progress.max = total;
    progress.value = done ?? 0;
  } else {
    progress.removeAttribute('value'); // indeterminate
  }
}

/**
 * The authority's current records key, unlocked: before the export is recorded,
 * so that a mistyped passphrase leaves no trace in the record.
 * @returns {Promise<CryptoKey>}
 */
async function unlockCurrentKey() {
  let key;
  try {
    key = await get(`authorities/${encodeURIComponent(user.authority)}/records-key`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw new Error(t('export.noRecordsKey'));
    throw err;
  }
  try {
    return await C.unwrapPrivateKey(key.wrapped, passphrase.value, user.authority, 'records');
  } catch (err) {
    if (err instanceof C.ComityCryptoError && err.code === 'auth') throw new Error(t('export.badPassphrase'));
    throw err;
  }
}

/**
 * Retired records keys open the packages made before a rotation; those a
 * different passphrase protects are skipped (their epochs then fail loudly).
 * @param {{dh: string, wrapped: unknown}[]} wraps
 * @param {CryptoKey} current
 * @returns {Promise<CryptoKey[]>}
 */
async function unlockAll(wraps, current) {
  const keys = [current];
  for (const wrap of wraps.slice(1)) {
    try {
      keys.push(await C.unwrapPrivateKey(wrap.wrapped, passphrase.value, user.authority, 'records'));
    } catch (err) {
      if (!(err instanceof C.ComityCryptoError && err.code === 'auth')) throw err;
    }
  }
  return keys;
}

/** @param {string} text */
const slug = (text) => text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'thread';

/**
 * @param {{record: unknown, me: import('./thread-state.js').Me}} device
 */
async function exportRecord({ me }) {
  const plain = contents() === 'plaintext';
  step(t(plain ? 'export.unlocking' : 'export.recording'));
  const current = plain ? await unlockCurrentKey() : null;
  step(t('export.recording'));
  const data = await post(`threads/${encodeURIComponent(thread)}/record`, { code: code.value.trim() });
  code.value = '';
  const recordsKeys = current ? await unlockAll(data.wrapped_records_keys ?? [], current) : null;
  const fetched = new Map();
  let files = 0;
  const blob = async (/** @type {string} */ id) => {
    if (!fetched.has(id)) {
      step(t('export.fetching', { n: ++files }));
      fetched.set(id, await downloadBlob(id));
    }
    return fetched.get(id);
  };
  const bundle = await buildBundle(data, {
    exporter: { user: user.id, device: me.device, authority: user.authority, sigPrivate: me.sigPrivate },
    recordsKeys,
    blob,
    onProgress: ({ phase, done, total }) => step(t(/** @type {import('./i18n.js').MessageKey} */ (`export.${phase}`), { done, total }), done, total),
  });
  const zip = await zipFiles(bundle.files, {
    onFile: (done, total) => step(t('export.zipping', { done, total }), done, total),
  });
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(zip);
  const date = String(bundle.manifest.exported_at).slice(0, 10);
  link.download = `record-${slug(pageData('reference'))}-${slug(data.thread.subject)}-${date}${plain ? '' : '-encrypted'}.zip`;
  byId('export-result').hidden = false;
  link.click();
  progress.hidden = true;
  const done = { entries: bundle.items.length, size: formatSize(zip.size) };
  const gaps = [...new Set(bundle.problems.map((p) => p.seq))];
  if (gaps.length === 0) say(status, t('export.done', done), 'ok');
  else say(status, t('export.doneWithGaps', { ...done, seqs: gaps.join(', ') }), 'error');
}

async function main() {
  const device = await requireDevice();
  for (const radio of form.querySelectorAll('input[name=contents]')) radio.addEventListener('change', showPassphraseField);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(error, '');
    if (contents() === 'plaintext' && !passphrase.value) return say(error, t('export.needPassphrase'), 'error');
    if (!/^\d{6,8}$/.test(code.value.trim())) return say(error, t('export.needCode'), 'error');
    button.disabled = true;
    try {
      await exportRecord(device);
    } catch (err) {
      progress.hidden = true;
      say(status, '');
      say(error, err instanceof ApiError && err.status === 401 ? t('export.badCode') : describeError(err), 'error');
    } finally {
      button.disabled = false;
    }
  });
}

main();
