// The members panel's trust panel on the mini DOM: comparing a safety
// number and marking it verified, and what the panel says when that fails.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { installFormDom } from './mini-dom.js';
import * as C from '../static/comity/crypto/index.js';
import { ApiError } from '../static/comity/transport/api.js';
import { CATALOGUE } from '../static/comity/ui/catalogue.js';
import { Directory } from '../static/comity/ui/directory.js';

const body = installFormDom();
const { h } = await import('../static/comity/ui/dom.js');
const { Members } = await import('../static/comity/ui/members.js');

const en = CATALOGUE.en;
const ME = 'u-a';
const JONAS = 'u-b';

/** The trust panel and the members list of the thread template (frontend/templates/comity/threads/thread.html). */
function mount() {
  body.replaceChildren(
    h('ul', { id: 'members' }),
    h('section', { id: 'trust-panel', hidden: true },
      h('h3', { id: 'trust-title' }), h('p', { id: 'trust-state' }), h('ol', { id: 'safety-digits' }),
      h('img', { id: 'safety-qr', hidden: true }), h('p', { id: 'trust-status', role: 'status' }),
      h('button', { type: 'button', id: 'trust-verify' }, 'The numbers match: mark as verified'),
      h('button', { type: 'button', id: 'trust-close' }, 'Close')));
  return (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
}

/** Keys as the server serves them: an identity key, no devices needed here. */
async function served(/** @type {string} */ name) {
  const identity = await C.generateKeyPair('ecdsa');
  return { display_name: name, authority: 'FR-MJ', identity: await C.publicKeyB64u(identity.publicKey), devices: [] };
}

/**
 * A thread page as far as the members panel sees it, with a real directory
 * over a link to the server that can go down, and what this browser verified.
 */
async function scene() {
  /** @type {Map<string, any>} */
  const users = new Map([[ME, await served('Anne')], [JONAS, await served('Jonas')]]);
  const link = { down: false };
  /** @type {Map<string, {identity: string}>} */
  const verified = new Map();
  const directory = new Directory({
    me: ME,
    fetchUser: async (id) => {
      if (link.down) throw new ApiError(0, 'offline', 'The server cannot be reached.');
      return users.get(id) ?? null;
    },
    loadVerified: async (_me, other) => verified.get(other),
    saveVerified: async (_me, other, identity) => verified.set(other, { identity }),
  });
  const page = /** @type {any} */ ({
    thread: 'T', me: { user: ME }, user: { role: 'officer' }, directory, people: new Map(), online: new Set(),
    state: { isMember: false, members: new Map() }, showAlerts: async () => {},
  });
  return { members: new Members(page), users, link, verified };
}

/** Let pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** @param {any} el */
const statusOf = (el) => [el('trust-status').textContent, el('trust-status').getAttribute('data-tone')];

/**
 * Run `work`, collecting the promise rejections nobody handled meanwhile.
 * @param {() => Promise<void>} work
 */
async function unhandledDuring(work) {
  /** @type {unknown[]} */
  const seen = [];
  const listener = (/** @type {unknown} */ reason) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await work();
    await settle();
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

describe('trust panel', () => {
  test('marking a safety number verified while the server cannot be reached says so in the panel', async () => {
    const el = mount();
    const { members, link, verified } = await scene();
    await members.openTrust(JONAS);
    assert.equal(el('trust-panel').hidden, false);
    assert.equal(el('trust-state').textContent, en['trust.state.unverified']);

    link.down = true;
    const unhandled = await unhandledDuring(async () => {
      el('trust-verify').click();
      await settle();
    });
    assert.deepEqual(unhandled, [], 'the failure is handled, not dropped');
    assert.deepEqual(statusOf(el), [en['error.offline'], 'error']);
    assert.equal(verified.size, 0);
    assert.equal(el('trust-state').textContent, en['trust.state.unverified']);

    link.down = false;
    el('trust-verify').click();
    for (let i = 0; i < 5; i++) await settle(); // verify, reopen the panel, render the list
    assert.ok(verified.has(JONAS));
    assert.equal(el('trust-state').textContent, en['trust.state.verified']);
    assert.deepEqual(statusOf(el), ['', 'info'], 'the earlier failure no longer shows');
  });

  test('an identity key that is gone when the numbers are marked as matching is said in the page\'s language', async () => {
    const el = mount();
    const { members, users, verified } = await scene();
    await members.openTrust(JONAS);
    users.set(JONAS, { ...users.get(JONAS), identity: null }); // served without an identity key since
    const doc = /** @type {any} */ (document).documentElement;
    doc.lang = 'fr';
    try {
      el('trust-verify').click();
      await settle();
      assert.deepEqual(statusOf(el), [CATALOGUE.fr['trust.noIdentity'], 'error']);
    } finally {
      doc.lang = 'en';
    }
    assert.equal(verified.size, 0);
    await assert.rejects(members.page.directory.verify(JONAS), new Error(en['trust.noIdentity']));
  });
});
