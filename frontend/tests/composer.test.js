// The composer and the pending messages on the mini DOM: nothing typed is
// lost when sending fails, a submit under way is not repeated, a message
// that was not sent can be put back, and errors of other actions survive
// the end of a block.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { installFormDom } from './mini-dom.js';
import { ApiError } from '../static/comity/transport/api.js';
import { SocketError } from '../static/comity/transport/socket.js';
import { CATALOGUE } from '../static/comity/ui/catalogue.js';

const body = installFormDom();
const { h } = await import('../static/comity/ui/dom.js');
const { Composer } = await import('../static/comity/ui/composer.js');
const { renderPending } = await import('../static/comity/ui/thread-view.js');
const { ThreadActions } = await import('../static/comity/ui/thread-actions.js');

const en = CATALOGUE.en;

/** The composer's part of the thread template (frontend/templates/comity/threads/thread.html). */
function mount() {
  body.replaceChildren(h('form', { id: 'composer' },
    h('div', { id: 'composer-context', hidden: true },
      h('span', { id: 'composer-context-text' }), h('button', { type: 'button', id: 'composer-cancel' }, 'Cancel')),
    h('select', { id: 'compose-kind' }),
    h('div', { 'data-for-kind': 'clarification', hidden: true }, h('input', { id: 'compose-due', type: 'date' })),
    h('div', { 'data-for-kind': 'assurance', hidden: true },
      h('select', { id: 'compose-assurance-type' }), h('select', { id: 'compose-assurance-status' })),
    h('div', { 'data-for-kind': 'document', hidden: true },
      h('select', { id: 'compose-doc-type' }), h('input', { id: 'compose-file', type: 'file' })),
    h('textarea', { id: 'compose-text' }),
    h('progress', { id: 'upload-progress', hidden: true }),
    h('p', { id: 'composer-status', role: 'status' }),
    h('button', { type: 'submit', id: 'send-button' }, 'Send')));
  const el = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
  el('compose-kind').value = 'text';
  el('compose-assurance-type').value = 'death_penalty';
  el('compose-assurance-status').value = 'requested';
  el('compose-doc-type').value = 'request';
  return el;
}

/** A message of the record, to reply to. */
const ITEM = /** @type {any} */ ({ seq: 7, actor: { user: 'u-b', device: 'd-b' }, kind: 'message', payload: { text: 'Question?' } });

/**
 * A thread page as far as the composer sees it. `queue` decides what
 * queueing does; `send` is the one-call form (queue, then delivery).
 * @param {(call: any) => Promise<{clientId: string, delivered: Promise<void>}>} queue
 */
function fakePage(queue) {
  /** @type {any[]} */
  const calls = [];
  const actions = {
    /** @param {string} kind @param {any} meta @param {any} payload @param {any} [draft] */
    queue: (kind, meta, payload, draft) => {
      const call = { kind, meta, payload, draft };
      calls.push(call);
      return queue(call);
    },
    /** @param {string} kind @param {any} meta @param {any} payload */
    send: async (kind, meta, payload) => {
      await (await actions.queue(kind, meta, payload)).delivered;
    },
  };
  const page = {
    thread: 'T', socket: { raw: () => true }, people: new Map([['u-b', { name: 'Jonas' }]]), derived: undefined,
    state: { bySeq: new Map([[ITEM.seq, ITEM]]) }, actions,
  };
  return { page: /** @type {any} */ (page), calls };
}

/** Let pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** @param {any} el */
const statusOf = (el) => [el('composer-status').textContent, el('composer-status').getAttribute('data-tone')];

describe('composer', () => {
  test('a message that cannot be queued stays, with its kind, context and fields, and the error is shown', async () => {
    const el = mount();
    let offline = true;
    const { page, calls } = fakePage(async () => {
      if (offline) throw new ApiError(0, 'offline', 'The server cannot be reached.');
      return { clientId: 'c', delivered: Promise.resolve() };
    });
    const composer = new Composer(page);
    composer.setContext('reply', ITEM);
    el('compose-text').value = 'Our answer, typed on the train.';
    await composer.submit();
    assert.equal(calls.length, 1);
    assert.equal(el('compose-text').value, 'Our answer, typed on the train.');
    assert.equal(composer.context?.mode, 'reply');
    assert.equal(el('composer-context').hidden, false);
    assert.deepEqual(statusOf(el), [en['error.offline'], 'error']);
    assert.equal(el('send-button').disabled, false, 'ready to try again');

    offline = false;
    await composer.submit();
    assert.equal(calls[1].payload.reply_to, 7);
    assert.equal(el('compose-text').value, '', 'emptied once queued');
    assert.equal(composer.context, null);
    assert.deepEqual(statusOf(el), [en['composer.sent'], 'ok']);
  });

  test('a clarification that cannot be queued keeps its kind and due date', async () => {
    const el = mount();
    const { page } = fakePage(async () => { throw new Error('boom'); });
    const composer = new Composer(page);
    el('compose-kind').value = 'clarification';
    el('compose-due').value = '2026-12-01';
    el('compose-text').value = 'Is the offence punishable under your law?';
    await composer.submit();
    assert.deepEqual([el('compose-kind').value, el('compose-due').value, el('compose-text').value],
      ['clarification', '2026-12-01', 'Is the offence punishable under your law?']);
    assert.deepEqual(statusOf(el), ['boom', 'error']);
  });

  test('Ctrl+Enter again while a submit is under way sends nothing more', async () => {
    const el = mount();
    /** @type {(value: any) => void} */
    let release = () => {};
    const { page, calls } = fakePage(() => new Promise((resolve) => { release = resolve; }));
    const composer = new Composer(page);
    el('compose-text').value = 'Once only.';
    const press = () => el('compose-text').dispatchEvent({ type: 'keydown', key: 'Enter', ctrlKey: true });
    press();
    await settle();
    press();
    press();
    await settle();
    assert.equal(calls.length, 1, 'the second and third presses wait for the first');
    assert.equal(el('send-button').disabled, true);
    assert.equal(el('compose-text').value, 'Once only.', 'not emptied before it is queued');
    release({ clientId: 'c', delivered: Promise.resolve() });
    await settle();
    assert.equal(el('compose-text').value, '');
    assert.equal(el('send-button').disabled, false);
    press(); // nothing left to send
    await settle();
    assert.equal(calls.length, 1);
  });

  test('text typed while a message is being queued is kept', async () => {
    const el = mount();
    /** @type {(value: any) => void} */
    let release = () => {};
    const { page } = fakePage(() => new Promise((resolve) => { release = resolve; }));
    const composer = new Composer(page);
    el('compose-text').value = 'First.';
    const done = composer.submit();
    await settle();
    el('compose-text').value = 'First. And a second thought.';
    release({ clientId: 'c', delivered: Promise.resolve() });
    await done;
    assert.equal(el('compose-text').value, 'First. And a second thought.');
  });

  test('a message that was queued but not sent can be put back, but never over other text', async () => {
    const el = mount();
    const refused = new SocketError('unauthenticated', '');
    const { page, calls } = fakePage(async () => ({ clientId: 'c', delivered: Promise.reject(refused) }));
    const composer = new Composer(page);
    composer.setContext('reply', ITEM);
    el('compose-text').value = 'Lost in transit?';
    await composer.submit();
    assert.equal(el('compose-text').value, '');
    assert.deepEqual(statusOf(el), [en['error.unauthenticated'], 'error']);
    const draft = calls[0].draft;
    assert.equal(draft.text, 'Lost in transit?');

    el('compose-text').value = 'Something new';
    assert.equal(composer.restore(draft), false);
    assert.equal(el('compose-text').value, 'Something new');
    assert.deepEqual(statusOf(el), [en['composer.finishFirst'], 'error']);

    el('compose-text').value = '';
    assert.equal(composer.restore(draft), true);
    assert.equal(el('compose-text').value, 'Lost in transit?');
    assert.equal(composer.context?.mode, 'reply');
    assert.equal(composer.context?.item.seq, 7);
  });

  test('the end of a block clears only the message the block showed', () => {
    const el = mount();
    const { page } = fakePage(async () => ({ clientId: 'c', delivered: Promise.resolve() }));
    const composer = new Composer(page);
    composer.status('The upload failed.', 'error');
    composer.setBlocked(null); // someone posted: the alerts are shown again, nothing blocks
    assert.deepEqual(statusOf(el), ['The upload failed.', 'error']);
    composer.setBlocked(en['trust.blocked']);
    assert.equal(el('send-button').disabled, true);
    composer.setBlocked(null);
    assert.deepEqual(statusOf(el), ['', 'info']);
    assert.equal(el('send-button').disabled, false);
  });

  test('a closed composer keeps its text readable and copyable', async () => {
    const el = mount();
    const { page, calls } = fakePage(async () => ({ clientId: 'c', delivered: Promise.resolve() }));
    const composer = new Composer(page);
    el('compose-text').value = 'A draft worth keeping.';
    composer.disable('Signed out.');
    assert.equal(el('compose-text').disabled, false);
    assert.equal(el('compose-text').readOnly, true);
    assert.equal(el('send-button').disabled, true);
    assert.equal(el('compose-kind').disabled, true);
    composer.setBlocked(null);
    assert.equal(el('send-button').disabled, true, 'unblocking does not reopen it');
    await composer.submit();
    assert.equal(calls.length, 0);
    assert.equal(el('compose-text').value, 'A draft worth keeping.');
  });
});

describe('pending messages', () => {
  test('one that failed offers a button to put it back; others do not', () => {
    let restored = 0;
    const failed = /** @type {any} */ (renderPending('c-1', 'Text', 'failed', 'Your session ended', () => { restored++; }));
    const button = failed.querySelector('[data-action="restore"]');
    assert.ok(button, 'a real button');
    assert.equal(button.tag, 'button');
    assert.equal(button.getAttribute('type'), 'button');
    assert.equal(button.textContent, en['pending.restore']);
    button.click();
    assert.equal(restored, 1);
    const waiting = /** @type {any} */ (renderPending('c-2', 'Text', 'waiting', undefined, () => {}));
    assert.equal(waiting.querySelector('[data-action="restore"]'), null);
  });
});

describe('queueing a message', () => {
  /** A page whose socket refuses every send with `refusal`. @param {Error} refusal */
  function pageFor(refusal) {
    const page = {
      thread: 'T', pending: new Map(), render: () => {}, waitFor: async () => {},
      state: { seal: async () => ({ header: { client_id: 'c-1' } }), byClientId: new Map() },
      socket: { state: 'open', request: async () => { throw refusal; } },
    };
    return { page: /** @type {any} */ (page) };
  }

  const payload = { text: 'Draft', reply_to: null, edits: null, files: [] };

  test('nothing is registered as pending when the checks before sealing fail', async () => {
    const { page } = pageFor(new Error('unused'));
    const actions = new ThreadActions(page);
    actions.ready = async () => { throw new ApiError(0, 'offline', ''); };
    await assert.rejects(actions.queue('text', {}, payload), (err) => err instanceof ApiError);
    assert.equal(page.pending.size, 0);
  });

  test('a queued message the server refuses is marked not sent, with what the composer held', async () => {
    const { page } = pageFor(new SocketError('unauthenticated', ''));
    const actions = new ThreadActions(page);
    actions.ready = async () => {};
    actions.defaultHandling = async () => null;
    const draft = /** @type {any} */ ({ text: 'Draft', kind: 'text', context: null });
    const { clientId, delivered } = await actions.queue('text', {}, payload, draft);
    assert.equal(clientId, 'c-1');
    await assert.rejects(delivered, (err) => err instanceof SocketError);
    const pending = page.pending.get('c-1');
    assert.deepEqual([pending.state, pending.why, pending.draft], ['failed', en['error.unauthenticated'], draft]);
  });
});

describe('rotating the key', () => {
  /** A page whose rotation the server refuses with ``code``; the record reaches ``epochAfter``. */
  function refusedWith(/** @type {string} */ code, /** @type {number} */ epochAfter) {
    const state = { stalled: false, epoch: 1, needsRotation: false, rotation: async () => ({ pkg: { epoch: 2 } }) };
    const page = {
      thread: 'T', state,
      socket: { request: async () => { state.epoch = epochAfter; throw new SocketError(code, 'refused'); } },
      waitFor: async (/** @type {() => boolean} */ done) => { if (!done()) throw new Error('timed out'); },
    };
    return new ThreadActions(/** @type {any} */ (page));
  }

  test('a newcomer not yet keyed in is told to wait, and tries no rotation the server would refuse', async () => {
    /** @type {any[]} */
    const requests = [];
    const state = { stalled: false, awaitingAdmission: true, needsRotation: true, members: new Map() };
    const page = {
      thread: 'T', state, blocked: false, showAlerts: async () => {}, directory: { user: async () => ({}) },
      socket: { request: async (/** @type {any} */ frame) => { requests.push(frame); } },
    };
    await assert.rejects(new ThreadActions(/** @type {any} */ (page)).ready(), { message: en['thread.awaitingKey'] });
    assert.deepEqual(requests, []);
  });

  test('the rotation that keys newcomers in gives them the history; one that lost the race leaves that to the winner', async () => {
    for (const code of [null, 'conflict']) {
      /** @type {any[]} */
      const sent = [];
      const state = {
        stalled: false, epoch: 1, needsRotation: false, newcomers: ['U'],
        rotation: async () => ({ pkg: { epoch: 2, reason: 'rotate' } }),
        historyFor: async (/** @type {string} */ user) => [{ epoch: 1, reason: 'history', user }],
      };
      const request = async (/** @type {any} */ frame) => {
        sent.push(frame.package);
        if (frame.package.reason === 'rotate') {
          state.epoch = 2;
          if (code) throw new SocketError(code, 'refused');
        }
      };
      const page = { thread: 'T', state, socket: { request }, waitFor: async () => {} };
      await new ThreadActions(/** @type {any} */ (page)).rotate();
      assert.deepEqual(sent.map((p) => p.reason), code ? ['rotate'] : ['rotate', 'history'], String(code));
    }
  });

  test('wraps no key to an identity changed since it was verified, whoever asked for the rotation', async () => {
    const { rotation, historyFor } = await import('../static/comity/ui/thread-keys.js');
    const changed = { trust: 'changed', devices: new Map([['d', { dh: 'x' }]]), backup: null };
    const state = {
      members: new Map([['U', {}]]), parties: [], history: 'shared', epochKeys: new Map(),
      directory: { user: async () => changed }, recordsKey: async () => null,
    };
    await assert.rejects(rotation(/** @type {any} */ (state)), { message: en['trust.blocked'] });
    await assert.rejects(historyFor(/** @type {any} */ (state), 'U'), { message: en['trust.blocked'] });
  });

  test('a message retracted while it waited for its key stays gone when the key comes', async () => {
    const { keyCameSince } = await import('../static/comity/ui/thread-decrypt.js');
    const state = { epochKeys: new Map([[1, new Uint8Array(32)]]) };
    const item = { decryptError: 'nokey', envelope: { header: { epoch: 1 } }, removed: null };
    assert.ok(keyCameSince(/** @type {any} */ (state), /** @type {any} */ (item)));
    item.removed = /** @type {any} */ ({ reason: 'retracted', on: '' });
    assert.ok(!keyCameSince(/** @type {any} */ (state), /** @type {any} */ (item)));
  });

  test('a conflict means another member rotated first, and their package brings the epoch on', async () => {
    await refusedWith('conflict', 2).rotate();
  });

  test('a package refused as malformed is that error, not a wait for someone else\'s rotation', async () => {
    await assert.rejects(refusedWith('bad_frame', 1).rotate(), (err) => err instanceof SocketError && err.code === 'bad_frame');
  });
});
