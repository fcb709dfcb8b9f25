// Case page: its threads, and opening a new one (DESIGN §4 "thread
// creation"): the thread id is chosen here, the signed creation pins the
// server key, and the thread page then makes epoch 1's key package.

import * as C from '../crypto/index.js';
import { get, post } from '../transport/api.js';
import { byId, say } from './dom.js';
import { describeError } from './errors.js';
import { t } from './i18n.js';
import { requireDevice } from './session.js';
import { renderThreadRows } from './thread-rows.js';

const section = byId('case-threads');
const caseId = section.dataset.case ?? '';
const status = byId('threads-status');

async function load() {
  try {
    renderThreadRows(byId('thread-rows'), status, await get(`threads?case=${encodeURIComponent(caseId)}`));
  } catch (err) {
    say(status, describeError(err), 'error');
  }
}

const form = /** @type {HTMLFormElement | null} */ (document.getElementById('new-thread'));
form?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = byId('new-thread-error');
  const subject = byId('thread-subject', HTMLInputElement).value.trim();
  const history = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="history"]:checked'))?.value;
  if (!subject) return say(error, t('threads.subjectNeeded'), 'error');
  const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
  button.disabled = true;
  try {
    const { me } = await requireDevice();
    const serverKey = (await get('server-key')).key;
    const thread = crypto.randomUUID();
    const creation = await C.signObject({
      v: 1, thread, case: caseId, subject, history, server_key: serverKey, sender_device: me.device,
    }, me.sigPrivate);
    await post(`cases/${encodeURIComponent(caseId)}/threads`, creation);
    location.assign(`/threads/${thread}/`);
  } catch (err) {
    say(error, describeError(err), 'error');
    button.disabled = false;
  }
});
load();
