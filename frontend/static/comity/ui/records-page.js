// /records-key/: a supervisor makes the authority's records key in the
// browser (DESIGN §4 "Records key"): ECDH key wrapped under the records
// passphrase (owner = authority code, purpose "records"), certified with the
// supervisor's identity, published with PUT authorities/{code}/records-key.

import * as C from '../crypto/index.js';
import { ApiError, get, put } from '../transport/api.js';
import { byId, pageData, say } from './dom.js';
import { formatTime, t } from './i18n.js';
import { strengthMeter } from './passphrase-field.js';
import { MIN_PASSPHRASE_LEVEL, currentUser, unlockIdentity } from './session.js';
import { describeError } from './errors.js';

const code = pageData('recordsAuthority');
const user = currentUser();
const status = byId('records-status');
/** @param {string} id */
const input = (id) => byId(id, HTMLInputElement);

async function showCurrent() {
  try {
    const key = await get(`authorities/${encodeURIComponent(code)}/records-key`);
    say(status, t('records.current', { date: formatTime(key.created_at) }), 'ok');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) say(status, t('records.none'), 'error');
    else say(status, describeError(err), 'error');
  }
}

const form = byId('records-form', HTMLFormElement);
const level = strengthMeter(input('records-passphrase'), byId('records-strength', HTMLMeterElement), byId('records-strength-text'));
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = byId('records-error');
  const passphrase = input('records-passphrase').value;
  if (level() < MIN_PASSPHRASE_LEVEL) return say(error, t('keys.tooWeak'), 'error');
  if (passphrase !== input('records-confirm').value) return say(error, t('keys.mismatch'), 'error');
  say(error, '');
  say(status, t('keys.working'));
  try {
    const identity = await unlockIdentity(user.id, input('records-recovery').value);
    const records = await C.createWrappedKeyPair(passphrase, code, 'records');
    const dh = C.b64uEncode(records.publicKey);
    const certificate = await C.certifyRecordsKey(identity, { authority: code, certified_by: user.id, dh });
    await put(`authorities/${encodeURIComponent(code)}/records-key`, {
      v: 1, authority: code, certified_by: user.id, dh, certificate, wrapped: records.wrapped,
    });
    form.reset();
    await showCurrent();
  } catch (err) {
    say(error, describeError(err), 'error');
    await showCurrent();
  }
});
showCurrent();
