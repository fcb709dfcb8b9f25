// /keys/: set up this browser's keys (first sign-in or restore from the
// recovery passphrase), list my devices and revoke them (DESIGN §4, §8).

import { byId, h, replace, say } from './dom.js';
import { formatTime, t } from './i18n.js';
import { get } from '../transport/api.js';
import { strengthMeter } from './passphrase-field.js';
import {
  MIN_PASSPHRASE_LEVEL, activeDevice, createKeys, currentUser, hasIdentity, restoreKeys, revokeDevice,
} from './session.js';
import { describeError } from './errors.js';

const user = currentUser();
const status = byId('keys-status');

/** @param {string} id */
const input = (id) => byId(id, HTMLInputElement);

/** @param {HTMLFormElement} form @param {boolean} busy */
function setBusy(form, busy) {
  for (const el of form.querySelectorAll('button, input')) /** @type {HTMLInputElement} */ (el).disabled = busy;
}

async function showDevices() {
  const section = byId('devices');
  section.hidden = false;
  const record = await activeDevice(user.id);
  const rows = /** @type {{device: string, created_at: string, revoked_at: string | null}[]} */ (await get('devices'));
  replace(byId('device-rows'), rows.map((d) => {
    const mine = record?.device === d.device;
    const button = !d.revoked_at && !mine
      ? h('button', { type: 'button', class: 'danger', 'data-device': d.device }, t('devices.revoke'))
      : null;
    button?.addEventListener('click', async () => {
      if (!confirm(t('devices.confirmRevoke'))) return;
      try {
        await revokeDevice(d.device);
        say(byId('devices-status'), t('devices.revoked'), 'ok');
        await showDevices();
      } catch (err) {
        say(byId('devices-status'), describeError(err), 'error');
      }
    });
    return h('tr', {},
      h('td', {}, h('code', {}, d.device.slice(0, 8)), mine ? h('span', { class: 'badge' }, t('devices.thisBrowser')) : null),
      h('td', {}, h('time', { datetime: d.created_at }, formatTime(d.created_at))),
      h('td', {}, d.revoked_at ? t('devices.stateRevoked') : t('devices.stateActive')),
      h('td', {}, button));
  }));
}

async function done() {
  byId('create-keys').hidden = true;
  byId('restore-keys').hidden = true;
  say(status, t('keys.ready'), 'ok');
  await showDevices();
  byId('continue-link').focus();
}

function wireCreate() {
  const form = byId('create-form', HTMLFormElement);
  const level = strengthMeter(input('create-passphrase'), byId('create-strength', HTMLMeterElement), byId('create-strength-text'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = byId('create-error');
    const passphrase = input('create-passphrase').value;
    if (level() < MIN_PASSPHRASE_LEVEL) return say(error, t('keys.tooWeak'), 'error');
    if (passphrase !== input('create-confirm').value) return say(error, t('keys.mismatch'), 'error');
    setBusy(form, true);
    say(error, '');
    say(status, t('keys.working'));
    try {
      await createKeys(user.id, passphrase);
      await done();
    } catch (err) {
      say(error, describeError(err), 'error');
      say(status, '');
    } finally {
      setBusy(form, false);
    }
  });
}

function wireRestore() {
  const form = byId('restore-form', HTMLFormElement);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = byId('restore-error');
    setBusy(form, true);
    say(status, t('keys.working'));
    try {
      await restoreKeys(user.id, input('restore-passphrase').value);
      await done();
    } catch (err) {
      say(error, describeError(err), 'error');
      say(status, '');
    } finally {
      setBusy(form, false);
    }
  });
  byId('start-over').addEventListener('click', () => {
    if (!confirm(t('keys.confirmStartOver'))) return;
    byId('restore-keys').hidden = true;
    byId('create-keys').hidden = false;
    input('create-passphrase').focus();
  });
}

async function main() {
  wireCreate();
  wireRestore();
  try {
    if (await activeDevice(user.id)) {
      await done();
      return;
    }
    const restore = await hasIdentity();
    say(status, restore ? t('keys.needRestore') : t('keys.needCreate'));
    byId(restore ? 'restore-keys' : 'create-keys').hidden = false;
    input(restore ? 'restore-passphrase' : 'create-passphrase').focus();
  } catch (err) {
    say(status, describeError(err), 'error');
  }
}

main();
