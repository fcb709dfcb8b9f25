// The client layers that need no DOM: the Markdown subset parser, the string
// catalogue, the socket's resume and offline queue, and the thread state's
// trust rules (chain, replayed membership, packages, decryption).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as C from '../static/comity/crypto/index.js';
import { ApiError } from '../static/comity/transport/api.js';
import { parseMarkdown, parseInline, safeHref } from '../static/comity/ui/markdown.js';
import { CATALOGUE } from '../static/comity/ui/catalogue.js';
import { CLOSE_REVOKED, CLOSE_SIGNED_OUT, ComitySocket, SocketError } from '../static/comity/transport/socket.js';
import { Directory, KeysUnavailable } from '../static/comity/ui/directory.js';
import { describeError } from '../static/comity/ui/errors.js';
import { ThreadState } from '../static/comity/ui/thread-state.js';
import { passphraseStrength } from '../static/comity/ui/session.js';

describe('markdown subset', () => {
  test('bold, italics, code, links, lists, quotes and fences become a tree of text', () => {
    const blocks = parseMarkdown('Hi **there** and *you*, `x < y` [site](https://example.org/a)\n- one\n- two\n> quoted\n```\n<b>raw</b>\n```');
    assert.deepEqual(blocks.map((b) => b.type), ['p', 'ul', 'quote', 'pre']);
    const p = /** @type {any} */ (blocks[0]).children;
    assert.deepEqual(p.map((/** @type {any} */ n) => n.type), ['text', 'strong', 'text', 'em', 'text', 'code', 'text', 'link']);
    assert.equal(p[7].href, 'https://example.org/a');
    assert.equal(/** @type {any} */ (blocks[3]).text, '<b>raw</b>');
  });

  test('only https and mailto links survive; everything else stays text', () => {
    for (const url of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,x', 'vbscript:x', 'http://example.org',
      '//evil.example', ' javascript:alert(1)', 'https:/\\evil']) {
      assert.equal(safeHref(url), url.startsWith('https:/\\') ? safeHref(url) : null, url);
    }
    assert.equal(safeHref('mailto:a@example.org'), 'mailto:a@example.org');
    const inline = parseInline('[x](javascript:alert(1)) <img src=x onerror=alert(1)>');
    assert.ok(inline.every((n) => n.type === 'text'));
    assert.equal(inline.map((n) => /** @type {any} */ (n).text).join(''), '[x](javascript:alert(1)) <img src=x onerror=alert(1)>');
  });

  test('nesting is bounded and long texts parse quickly', () => {
    assert.equal(parseMarkdown('>'.repeat(10000) + ' deep').length, 1);
    const started = Date.now();
    parseMarkdown('**a** *b* `c` [d](https://e) '.repeat(20000));
    assert.ok(Date.now() - started < 2000);
  });

  test('a frame of unclosed link openers parses in linear time, not frozen for seconds', () => {
    // 190,000 characters fit in one frame; tried again at every opener, a scan to the line's end was quadratic.
    for (const hostile of ['['.repeat(190000), '[a]('.repeat(47500), '[a](b'.repeat(38000)]) {
      const started = Date.now();
      const blocks = parseMarkdown(hostile);
      assert.ok(Date.now() - started < 1000, `${hostile.slice(0, 5)}… took ${Date.now() - started} ms`);
      assert.equal(/** @type {any} */ (blocks[0]).children.map((/** @type {any} */ n) => n.text).join(''), hostile);
    }
  });
});

describe('string catalogue', () => {
  test('French and Spanish translate every English key, with the same placeholders', () => {
    for (const lang of /** @type {const} */ (['fr', 'es'])) {
      for (const [key, text] of Object.entries(CATALOGUE[lang])) {
        const english = /** @type {Record<string, string>} */ (CATALOGUE.en)[key];
        assert.ok(english, `${lang} has unknown key ${key}`);
        const names = (/** @type {string} */ s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        assert.deepEqual(names(String(text)), names(english), `${lang}:${key}`);
      }
      const missing = Object.keys(CATALOGUE.en).filter((key) => !(key in CATALOGUE[lang]));
      assert.deepEqual(missing, [], `${lang} lacks translations`);
    }
  });
});

describe('passphrase strength', () => {
  test('short or repetitive passphrases score low, long varied ones high', () => {
    assert.equal(passphraseStrength('short').level, 0);
    assert.equal(passphraseStrength('aaaaaaaaaaaaaaaa').level, 1);
    assert.ok(passphraseStrength('orange kettle migrates quietly 42').level >= 2);
  });
});

// --- the socket -------------------------------------------------------------

class FakeSocket {
  /** @type {FakeSocket[]} */
  static all = [];
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {any[]} */
    this.sent = [];
    /** @type {((e: any) => void) | null} */ this.onmessage = null;
    /** @type {((e: any) => void) | null} */ this.onclose = null;
    /** @type {(() => void) | null} */ this.onopen = null;
    /** @type {(() => void) | null} */ this.onerror = null;
    FakeSocket.all.push(this);
  }

  /** @param {string} text */
  send(text) { this.sent.push(JSON.parse(text)); }

  /** @param {number} [code] */
  close(code = 1006) { this.onclose?.({ code }); }

  /** @param {object} frame */
  deliver(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }

  hello() { this.deliver({ type: 'hello', user: 'u', device: 'd' }); }
}

/** Let every pending promise callback run (setImmediate is not among the mocked timers). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('socket', () => {
  test('resumes each thread after the last applied seq and resends an interrupted request once', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    FakeSocket.all = [];
    const socket = new ComitySocket({ device: 'D', url: 'ws://test/ws/?device=D', WebSocket: /** @type {any} */ (FakeSocket), random: () => 0.5 });
    socket.subscribe('T', 0);
    socket.start();
    const first = FakeSocket.all[0];
    first.hello();
    assert.deepEqual(first.sent, [{ type: 'sub', thread: 'T', after: 0 }]);
    socket.applied('T', 7);

    const envelope = { header: { client_id: 'c-1' } };
    const acked = socket.request({ type: 'send', thread: 'T', envelope });
    assert.equal(/** @type {any} */ (first.sent.at(-1)).envelope.header.client_id, 'c-1');
    first.close(); // dropped before the ack
    assert.equal(socket.state, 'offline');
    const queued = socket.request({ type: 'send', thread: 'T', envelope: { header: { client_id: 'c-2' } } });
    assert.equal(socket.pending, 2);

    t.mock.timers.tick(1000); // backoff: 250..500 ms for the first retry
    const second = FakeSocket.all[1];
    assert.ok(second, 'reconnected after the backoff');
    second.hello();
    assert.deepEqual(second.sent[0], { type: 'sub', thread: 'T', after: 7 });
    assert.equal(second.sent[1].envelope.header.client_id, 'c-1', 'the same client_id again');
    assert.equal(second.sent.length, 2, 'one request at a time');
    second.deliver({ type: 'ack', client_id: 'c-1', seq: 8, hash: 'h' });
    assert.equal((await acked).seq, 8);
    assert.equal(second.sent[2].envelope.header.client_id, 'c-2');
    second.deliver({ type: 'error', code: 'stale_epoch', detail: 'closed', ref: 'c-2' });
    await assert.rejects(queued, (err) => err instanceof SocketError && err.code === 'stale_epoch');
    socket.stop();
  });

  test('waits out rate_limited and sends the refused frame again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    FakeSocket.all = [];
    const socket = new ComitySocket({ device: 'D', url: 'ws://x', WebSocket: /** @type {any} */ (FakeSocket) });
    socket.start();
    const ws = FakeSocket.all[0];
    ws.hello();
    const done = socket.request({ type: 'keys', thread: 'T', package: {} });
    ws.deliver({ type: 'error', code: 'rate_limited', detail: 'slow down', ref: null, retry_after: 0.5 });
    assert.equal(ws.sent.filter((f) => f.type === 'keys').length, 1);
    t.mock.timers.tick(600);
    assert.equal(ws.sent.filter((f) => f.type === 'keys').length, 2);
    ws.deliver({ type: 'ack', client_id: null, seq: 3, ref: 'keys' });
    assert.equal((await done).seq, 3);
    socket.stop();
  });

  test('backoff doubles up to its cap', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    FakeSocket.all = [];
    const socket = new ComitySocket({ device: 'D', url: 'ws://x', WebSocket: /** @type {any} */ (FakeSocket), random: () => 1 });
    socket.start();
    const delays = [];
    for (let i = 0; i < 10; i++) {
      const before = FakeSocket.all.length;
      FakeSocket.all.at(-1)?.close();
      let waited = 0;
      while (FakeSocket.all.length === before) {
        t.mock.timers.tick(100);
        waited += 100;
      }
      delays.push(waited);
    }
    assert.ok(delays[1] > delays[0] && delays[3] > delays[2]);
    assert.ok(Math.max(...delays) <= 30_000);
    socket.stop();
  });

  test('a revoked membership reconnects; an ended session does not', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    FakeSocket.all = [];
    const socket = new ComitySocket({ device: 'D', url: 'ws://x', WebSocket: /** @type {any} */ (FakeSocket), random: () => 0.5 });
    socket.start();
    FakeSocket.all[0].hello();
    FakeSocket.all[0].close(CLOSE_REVOKED);
    t.mock.timers.tick(1000);
    assert.equal(FakeSocket.all.length, 2, 'back to follow the threads it still belongs to');
    FakeSocket.all[1].hello();
    FakeSocket.all[1].close(CLOSE_SIGNED_OUT);
    assert.equal(socket.state, 'closed');
    t.mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 2, 'a handshake without a session would only be refused');
  });

  test('an ended session fails what was still queued instead of waiting for the network forever', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    FakeSocket.all = [];
    const socket = new ComitySocket({ device: 'D', url: 'ws://x', WebSocket: /** @type {any} */ (FakeSocket) });
    socket.start();
    FakeSocket.all[0].hello();
    const inflight = socket.request({ type: 'send', thread: 'T', envelope: { header: { client_id: 'c-1' } } });
    const queued = socket.request({ type: 'send', thread: 'T', envelope: { header: { client_id: 'c-2' } } });
    FakeSocket.all[0].close(CLOSE_SIGNED_OUT);
    for (const request of [inflight, queued]) {
      await assert.rejects(request, (err) => err instanceof SocketError && err.code === 'unauthenticated');
    }
    await assert.rejects(socket.request({ type: 'keys', thread: 'T', package: {} }), (err) => err instanceof SocketError);
    assert.equal(socket.pending, 0);
    assert.equal(socket.closedReason, 'signed-out');
  });

  for (const [reason, code] of /** @type {const} */ ([['signed-out', 'unauthenticated'], ['revoked', 'device_revoked']])) {
    test(`handshakes refused before hello: the server is asked why, and the socket stops when ${reason}`, async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
      FakeSocket.all = [];
      let asked = 0;
      /** @type {'signed-out' | 'revoked' | null} */
      let answer = null;
      const checkRefusal = async () => {
        asked++;
        return answer;
      };
      const socket = new ComitySocket({ device: 'D', url: 'ws://x', WebSocket: /** @type {any} */ (FakeSocket), random: () => 0.5, checkRefusal });
      socket.start();
      const queued = socket.request({ type: 'send', thread: 'T', envelope: { header: { client_id: 'c-1' } } });
      const outcome = queued.then(() => null, (err) => err);
      FakeSocket.all[0].close(); // 1006 before hello: the server refused the handshake, or the network failed
      assert.equal(asked, 0, 'one failure is a blip');
      t.mock.timers.tick(1000);
      FakeSocket.all[1].close();
      assert.equal(asked, 1);
      await flush();
      assert.equal(socket.state, 'offline', 'nothing wrong that the server knows of: a network fault, so it goes on');
      t.mock.timers.tick(2000);
      assert.equal(FakeSocket.all.length, 3);
      answer = reason;
      FakeSocket.all[2].close();
      await flush();
      assert.deepEqual([socket.state, socket.closedReason], ['closed', reason]);
      const refused = await outcome;
      assert.ok(refused instanceof SocketError && refused.code === code, 'the queued message fails');
      assert.notEqual(describeError(refused), CATALOGUE.en['error.unknown']);
      t.mock.timers.tick(120_000);
      assert.equal(FakeSocket.all.length, 3, 'no more handshakes');
    });
  }

  test('a handshake that succeeds in between starts the count again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    FakeSocket.all = [];
    let asked = 0;
    const socket = new ComitySocket({
      device: 'D', url: 'ws://x', WebSocket: /** @type {any} */ (FakeSocket), random: () => 0.5,
      checkRefusal: async () => { asked++; return null; },
    });
    socket.start();
    FakeSocket.all[0].close();
    t.mock.timers.tick(1000);
    FakeSocket.all[1].hello();
    FakeSocket.all[1].close(); // dropped after hello: no refused handshake
    t.mock.timers.tick(1000);
    FakeSocket.all[2].close();
    assert.equal(asked, 0);
    socket.stop();
  });
});

// --- thread state -----------------------------------------------------------

const THREAD = '3f1c7d9e-0000-4000-8000-0000000000aa';

async function makeUser(/** @type {string} */ id, /** @type {string} */ authority) {
  const identity = await C.generateKeyPair('ecdsa', true);
  const backup = await C.generateKeyPair('ecdh');
  const dh = await C.generateKeyPair('ecdh');
  const sig = await C.generateKeyPair('ecdsa');
  const device = C.newDeviceId();
  const fields = { user: id, device, dh: await C.publicKeyB64u(dh.publicKey), sig: await C.publicKeyB64u(sig.publicKey) };
  const certificate = await C.certifyDevice(identity.privateKey, fields);
  return {
    id, authority, device, dh, sig, backup,
    keys: {
      display_name: id, authority, identity: await C.publicKeyB64u(identity.publicKey),
      backup: await C.publicKeyB64u(backup.publicKey), devices: [{ v: 1, ...fields, certificate }],
    },
    me: {
      user: id, device, dhPrivate: dh.privateKey, sigPrivate: sig.privateKey, backupPrivate: backup.privateKey,
      backupPublic: await C.publicKeyB64u(backup.publicKey),
    },
  };
}

/** A record built the way the server builds it. */
class FakeRecord {
  constructor(/** @type {CryptoKeyPair} */ serverKey) {
    this.serverKey = serverKey;
    /** @type {any[]} */
    this.items = [];
    /** @type {Uint8Array | null} */
    this.hash = null;
  }

  async append(/** @type {string} */ kind, /** @type {any} */ body, /** @type {any} */ actor) {
    const seq = this.items.length + 1;
    const entry = { thread: THREAD, seq, at: '2026-11-22T10:00:00.000Z', kind, actor: actor ? { user: actor.id, device: actor.device } : { user: null, device: null }, body };
    this.hash = await C.nextHash(this.hash ?? (await C.genesisHash(THREAD)), /** @type {any} */ (entry));
    const serverSig = await C.sign(this.serverKey.privateKey, C.serverSignedBytes(THREAD, seq, this.hash));
    const item = { seq, entry, hash: C.b64uEncode(this.hash), server_sig: C.b64uEncode(serverSig) };
    this.items.push(item);
    return item;
  }
}

async function scene(/** @type {'shared' | 'from_join'} */ history) {
  const server = await C.generateKeyPair('ecdsa');
  const serverKey = await C.publicKeyB64u(server.publicKey);
  const a = await makeUser('0a000000-0000-4000-8000-00000000000a', 'FR-MJ');
  const b = await makeUser('0b000000-0000-4000-8000-00000000000b', 'DE-BFJ');
  const x = await makeUser('0e000000-0000-4000-8000-00000000000e', 'IT-MG'); // never a member
  const records = { 'FR-MJ': await C.generateKeyPair('ecdh'), 'DE-BFJ': await C.generateKeyPair('ecdh') };
  const users = new Map([[a.id, a.keys], [b.id, b.keys], [x.id, x.keys]]);
  /** @type {(id: string) => Promise<any>} */
  const served = async (id) => users.get(id) ?? null;
  const stateOf = async (/** @type {any} */ user, fetchUser = served) => new ThreadState({
    thread: THREAD, parties: ['FR-MJ', 'DE-BFJ'], me: user.me, serverKey,
    directory: new Directory({ me: user.id, fetchUser, loadVerified: async () => undefined, saveVerified: async () => {} }),
    recordsKey: async (code) => ({ id: `records:${code}`, dh: await C.publicKeyB64u(records[/** @type {'FR-MJ'} */ (code)].publicKey) }),
  }).init();
  const record = new FakeRecord(server);
  const creation = await C.signObject({ v: 1, thread: THREAD, case: 'c', subject: 'S', history, server_key: serverKey, sender_device: a.device }, a.sig.privateKey);
  await record.append('create', creation, a);
  const alice = await stateOf(a);
  await alice.ingest(record.items);
  await record.append('keys', (await alice.rotation()).pkg, a);
  await alice.ingest(record.items);
  const early = await alice.seal('text', {}, { text: 'before B joined', reply_to: null, edits: null, files: [] });
  await record.append('message', early, a);
  await alice.ingest(record.items);
  await record.append('member', await alice.change('add', b.id), a);
  await alice.ingest(record.items);
  await record.append('keys', (await alice.rotation()).pkg, a);
  await alice.ingest(record.items);
  for (const pkg of await alice.historyFor(b.id)) await record.append('keys', pkg, a);
  const late = await alice.seal('text', {}, { text: 'after B joined', reply_to: null, edits: null, files: [] });
  await record.append('message', late, a);
  return { a, b, x, alice, record, stateOf, records, users };
}

/** @param {ThreadState} state */
async function texts(state) {
  const out = [];
  for (const item of state.items.filter((i) => i.kind === 'message')) {
    await state.decrypt(item);
    out.push(item.payload?.text ?? `(${item.decryptError})`);
  }
  return out;
}

describe('thread state', () => {
  test('a newcomer with shared history reads everything; the record and packages verify', async () => {
    const { b, record, stateOf } = await scene('shared');
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.equal(bob.broken, null);
    assert.deepEqual(bob.items.map((i) => i.problem), bob.items.map(() => null));
    assert.deepEqual([...bob.members.keys()].sort(), [b.id, '0a000000-0000-4000-8000-00000000000a'].sort());
    assert.equal(bob.epoch, 2);
    assert.deepEqual(await texts(bob), ['before B joined', 'after B joined']);
    const keys = bob.items.find((i) => i.kind === 'keys' && i.reason === 'rotate');
    assert.deepEqual(keys?.recipients?.filter((r) => r.kind === 'records').map((r) => r.id).sort(), ['records:DE-BFJ', 'records:FR-MJ']);
    const wraps = await bob.backupWraps();
    assert.deepEqual(wraps.map((w) => w.epoch).sort(), [1, 2]);
  });

  test('with history from_join the newcomer reads only from the epoch that added them', async () => {
    const { b, record, stateOf } = await scene('from_join');
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.deepEqual(await texts(bob), ['(nokey)', 'after B joined']);
  });

  test('a second device of the same user opens the packages with the backup key', async () => {
    const { b, record, stateOf } = await scene('from_join');
    const other = { ...b, me: { ...b.me, device: C.newDeviceId(), dhPrivate: (await C.generateKeyPair('ecdh')).privateKey } };
    const second = await stateOf(other);
    await second.ingest(record.items);
    assert.equal(second.keySource.get(2), 'backup');
    assert.deepEqual(await texts(second), ['(nokey)', 'after B joined']);
  });

  test('an altered entry breaks the chain there, loudly, and nothing after it is applied', async () => {
    const { b, record, stateOf } = await scene('shared');
    const items = structuredClone(record.items);
    items[2].entry.at = '2026-11-22T10:00:01.000Z';
    const bob = await stateOf(b);
    await bob.ingest(items);
    assert.deepEqual(bob.broken && [bob.broken.seq, bob.broken.reason], [3, 'hash']);
    assert.equal(bob.items.length, 2);
  });

  test('a batch is checked by links and its last signature; the others are checked afterwards', async () => {
    const { b, record, stateOf } = await scene('shared');
    const items = structuredClone(record.items);
    const sig = C.b64uDecode(items[2].server_sig);
    sig[10] ^= 1;
    items[2].server_sig = C.b64uEncode(sig);
    const bob = await stateOf(b);
    await bob.ingest(items);
    assert.equal(bob.broken, null, 'the head signature covers the run');
    assert.equal(await bob.verifyAllSignatures(), false);
    const after = /** @type {{seq: number, reason: string} | null} */ (bob.broken);
    assert.deepEqual(after && [after.seq, after.reason], [3, 'server_sig']);
    const last = structuredClone(record.items);
    last.at(-1).server_sig = items[2].server_sig;
    const carol = await stateOf(b);
    await carol.ingest(last);
    const broken = /** @type {{seq: number, reason: string} | null} */ (carol.broken);
    assert.deepEqual(broken && [broken.seq, broken.reason], [last.length, 'server_sig']);
  });

  test('the synchronous SHA-256 agrees with WebCrypto', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 1000, 65_536]) {
      const data = C.randomBytes(n);
      assert.deepEqual(C.sha256Sync(data), await C.sha256(data), `${n} bytes`);
    }
  });

  test('a package that leaves out a member is not trusted and its key is not used', async () => {
    const { a, b, alice, record, stateOf } = await scene('shared');
    await alice.ingest(record.items);
    const fields = {
      thread: THREAD, epoch: 3, reason: /** @type {const} */ ('rotate'), prev: alice.lastKeysHash, history: /** @type {const} */ ('shared'),
      members: [{ user: a.id, devices: [a.device] }], sender_device: a.device,
    };
    const sneaky = await C.buildKeyPackage(fields, C.newEpochKey(), [
      { id: a.device, kind: 'device', dh: a.keys.devices[0].dh },
      { id: b.device, kind: 'device', dh: b.keys.devices[0].dh },
    ], a.sig.privateKey);
    await record.append('keys', sneaky, a);
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    const item = bob.items.at(-1);
    assert.match(String(item?.problem), /members differ/);
    assert.equal(bob.epochKeys.has(3), false);
  });

  test('a newcomer whose admitting rotation never came waits for it; the next member to look makes it', async () => {
    const { a, b, x, alice, record, stateOf, users } = await scene('shared');
    await alice.ingest(record.items);
    users.set(x.id, x.keys);
    await record.append('member', await alice.change('add', x.id), a); // and the inviter's browser closed
    await alice.ingest(record.items);
    const xavier = await stateOf(x);
    await xavier.ingest(record.items);
    assert.ok(xavier.isMember && xavier.awaitingAdmission, 'joined after the current package: no writing, no rotating');
    assert.ok(!xavier.rotationDue);
    assert.deepEqual(await texts(xavier), ['(nokey)', '(nokey)']);
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.ok(!bob.awaitingAdmission && bob.rotationDue, 'a member keyed before the newcomer rotates');
    await record.append('keys', (await bob.rotation()).pkg, b);
    await bob.ingest(record.items);
    for (const pkg of await bob.historyFor(x.id)) await record.append('keys', pkg, b);
    for (const state of [xavier, bob]) await state.ingest(record.items);
    assert.ok(!xavier.awaitingAdmission && !xavier.needsRotation && !bob.rotationDue);
    const shown = xavier.openable();
    // Bob shares the epoch he was keyed into; epoch 1 was made before him, so it is not his to share.
    assert.equal(shown.length, 1, 'the history came after the message was shown without a key');
    for (const item of shown) await xavier.decrypt(item);
    assert.deepEqual(await texts(xavier), ['(nokey)', 'after B joined']);
    await record.append('member', await bob.change('remove', x.id), b);
    await bob.ingest(record.items);
    assert.ok(bob.rotationDue, 'a removal closed the epoch');
  });

  test('a message signed by another device than its header names is not shown', async () => {
    const { a, b, alice, record, stateOf } = await scene('shared');
    await alice.ingest(record.items);
    const forged = await alice.seal('text', {}, { text: 'forged', reply_to: null, edits: null, files: [] });
    forged.sig = C.b64uEncode(await C.sign(b.sig.privateKey, C.envelopeSignedBytes(forged)));
    await record.append('message', forged, a);
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.equal((await texts(bob)).at(-1), '(signature)');
  });
});

describe('what a compromised server might append', () => {
  const FORGED_ADDS = {
    'an add whose signature does not verify': async (/** @type {any} */ a, /** @type {any} */ x) => [
      { v: 1, thread: THREAD, action: 'add', user: x.id, expires: null, sender_device: a.device, sig: C.b64uEncode(new Uint8Array(64)) }, a],
    'an add signed by someone who is no member': async (/** @type {any} */ _a, /** @type {any} */ x) => [
      await C.signObject({ v: 1, thread: THREAD, action: 'add', user: x.id, expires: null, sender_device: x.device }, x.sig.privateKey), x],
  };
  for (const [name, forge] of Object.entries(FORGED_ADDS)) {
    test(`${name} breaks the record, and no key ever goes to the person it names`, async () => {
      const { a, x, alice, record } = await scene('shared');
      await alice.ingest(record.items);
      const [change, actor] = await forge(a, x);
      await record.append('member', change, actor);
      await record.append('message', await alice.seal('text', {}, { text: 'after', reply_to: null, edits: null, files: [] }), a);
      await alice.ingest(record.items);
      assert.equal(alice.broken?.reason, 'member');
      assert.equal(alice.broken?.seq, record.items.length - 1);
      assert.ok(!alice.members.has(x.id));
      assert.equal(alice.items.at(-1)?.kind, 'member'); // nothing after the forgery is applied
    });
  }

  test('a message from someone removed, or under an epoch a removal closed, is refused whoever served it', async () => {
    const { a, b, alice, record, stateOf } = await scene('shared');
    await alice.ingest(record.items);
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    await record.append('member', await alice.change('remove', b.id), a);
    await alice.ingest(record.items);
    const text = (/** @type {string} */ s) => ({ text: s, reply_to: null, edits: null, files: [] });
    await record.append('message', await bob.seal('text', {}, text('removed, still writing')), b);
    await record.append('message', await alice.seal('text', {}, text('under the closed epoch')), a);
    await record.append('keys', (await alice.rotation()).pkg, a);
    await alice.ingest(record.items);
    await record.append('message', await alice.seal('text', {}, text('after the rotation')), a);
    const reader = await stateOf(a);
    await reader.ingest(record.items);
    assert.equal(reader.broken, null);
    assert.deepEqual((await texts(reader)).slice(-3), ['(member)', '(stale)', 'after the rotation']);
    for (const refusal of ['member', 'stale']) assert.ok(`decrypt.${refusal}` in CATALOGUE.en, `the page can say why (${refusal})`);
  });

  test('a message under an epoch its sender never held (history shared with them later) is refused', async () => {
    const { a, b, record, stateOf } = await scene('shared');
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.ok(bob.epochKeys.has(1), 'epoch 1 reached the newcomer as history');
    const header = { v: /** @type {1} */ (1), thread: THREAD, epoch: 1, sender_device: b.device, client_id: C.newClientId(), kind: /** @type {const} */ ('text'), meta: {} };
    const old = await C.sealEnvelope(header, { text: 'as if before I joined', reply_to: null, edits: null, files: [] }, /** @type {Uint8Array} */ (bob.epochKeys.get(1)), b.sig.privateKey);
    await record.append('message', old, b);
    const reader = await stateOf(a);
    await reader.ingest(record.items);
    assert.deepEqual((await texts(reader)).at(-1), '(member)');
  });

  test('a second, different version of an entry already applied is a fork; the same entry again is not', async () => {
    const { b, record, stateOf } = await scene('shared');
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    await bob.ingest([structuredClone(record.items[2])]); // a resume may repeat what was applied
    assert.equal(bob.broken, null);
    const other = new FakeRecord(record.serverKey); // the server signs another history from seq 3 on
    for (const item of record.items.slice(0, 2)) await other.append(item.entry.kind, item.entry.body, { id: item.entry.actor.user, device: item.entry.actor.device });
    await other.append('status', { case: 'c', from: 'open', to: 'closed' }, null);
    await record.append('status', { case: 'c', from: 'open', to: 'suspended' }, null);
    await bob.ingest([other.items[2], record.items.at(-1)]);
    const broken = /** @type {{seq: number, reason: string} | null} */ (bob.broken);
    assert.deepEqual(broken && [broken.seq, broken.reason], [3, 'fork']);
    assert.equal(bob.items.at(-1)?.seq, record.items.length - 1, 'nothing after the fork is applied');
  });

  test('a record shorter than the head this browser verified before is a rollback, a different one a fork', async () => {
    const { b, record, stateOf } = await scene('shared');
    const before = await stateOf(b);
    await before.ingest(record.items);
    const remembered = { ...before.head };
    const same = await stateOf(b);
    await same.ingest(record.items);
    same.compareWithRemembered(remembered);
    assert.equal(same.broken, null);
    const shorter = await stateOf(b);
    await shorter.ingest(record.items.slice(0, -2));
    shorter.compareWithRemembered(remembered);
    assert.deepEqual(shorter.broken && [shorter.broken.seq, shorter.broken.reason], [record.items.length - 1, 'rollback']);
    assert.ok('break.rollback' in CATALOGUE.en);
    const altered = await stateOf(b);
    await altered.ingest(record.items);
    altered.compareWithRemembered({ seq: remembered.seq, hash: record.items[0].hash });
    assert.deepEqual(altered.broken && [altered.broken.seq, altered.broken.reason], [remembered.seq, 'fork']);
  });

  /**
   * The directory stops listing a user's device among the usable ones: under `revoked` with that
   * time, or (null) not at all.
   * @param {any} user
   * @param {string | null} revokedAt
   * @param {(device: any) => Promise<any>} [alter] what the server shows of it
   */
  async function revokeInDirectory(user, revokedAt, alter = async (d) => d) {
    const [device] = user.keys.devices.splice(0);
    user.keys.revoked = revokedAt ? [{ ...(await alter(device)), revoked_at: revokedAt }] : [];
  }

  test('what a device revoked since signed before its revocation is checked against its certificate and followed', async () => {
    const { a, b, record, stateOf } = await scene('shared');
    await revokeInDirectory(a, '2026-11-22T10:00:00.001Z'); // every entry of the scene is at 10:00:00.000
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.equal(bob.broken, null);
    assert.deepEqual(bob.items.filter((i) => i.kind !== 'message').map((i) => i.problem), bob.items.filter((i) => i.kind !== 'message').map(() => null));
    assert.ok(bob.members.has(b.id) && bob.members.has(a.id));
    assert.deepEqual([bob.epoch, [...bob.epochKeys.keys()].sort()], [2, [1, 2]], 'its packages still hold the epochs');
  });

  test('a message a device sent before its revocation is still shown; one recorded after it is not', async () => {
    const { a, b, record, stateOf } = await scene('shared');
    await revokeInDirectory(a, '2026-11-22T10:00:00.001Z');
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.deepEqual(await texts(bob), ['before B joined', 'after B joined']);
    /** @type {any} */ (a.keys).revoked[0].revoked_at = '2026-11-22T09:59:59.999Z'; // the server now says: revoked before it was sent
    bob.directory.cache.clear();
    const late = /** @type {any} */ (bob.items.filter((i) => i.kind === 'message').at(-1));
    Object.assign(late, { payload: undefined, decryptError: null });
    await bob.decrypt(late);
    assert.equal(late.decryptError, 'device');
  });

  const UNCHECKABLE = {
    'revoked before the change was recorded': (/** @type {any} */ a) => revokeInDirectory(a, '2026-11-22T09:59:59.999Z'),
    'not listed at all': (/** @type {any} */ a) => revokeInDirectory(a, null),
    'revoked since, under a certificate its identity did not sign': async (/** @type {any} */ a) => {
      const other = await C.generateKeyPair('ecdsa', true);
      await revokeInDirectory(a, '2026-11-22T10:00:00.001Z', async (d) => ({
        ...d, certificate: await C.certifyDevice(other.privateKey, { user: d.user, device: d.device, dh: d.dh, sig: d.sig }),
      }));
    },
  };
  for (const [name, hide] of Object.entries(UNCHECKABLE)) {
    test(`a change signed by a device ${name} breaks the record`, async () => {
      const { a, b, record, stateOf } = await scene('shared');
      await hide(a);
      const bob = await stateOf(b);
      await bob.ingest(record.items);
      const add = record.items.find((i) => i.entry.kind === 'member');
      assert.deepEqual(bob.broken && [bob.broken.seq, bob.broken.reason], [add.seq, 'member']);
      assert.ok(!bob.members.has(b.id));
    });
  }

  /**
   * The user starts over: a new identity key, every old device revoked at `revokedAt`, and the
   * `replaced` list the server serves (by default, the new key vouching for the old one).
   * @param {any} user
   * @param {(old: string, fresh: CryptoKeyPair, freshPublic: string) => Promise<any[]>} [replaced]
   */
  async function startOver(user, replaced) {
    const old = user.keys.identity;
    const fresh = await C.generateKeyPair('ecdsa', true);
    const freshPublic = await C.publicKeyB64u(fresh.publicKey);
    await revokeInDirectory(user, '2026-11-22T10:00:00.001Z');
    user.keys.identity = freshPublic;
    user.keys.replaced = replaced
      ? await replaced(old, fresh, freshPublic)
      : [{ identity: old, by: freshPublic, replaced_at: '2026-11-22T10:00:00.001Z',
        sig: await C.signSuccession(fresh.privateKey, { user: user.id, previous: old, identity: freshPublic }) }];
    return { old, fresh, freshPublic };
  }

  test('after its user starts over, what an old device signed verifies through the new key vouching for the old', async () => {
    const { a, b, record, stateOf } = await scene('shared');
    await startOver(a);
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.equal(bob.broken, null);
    assert.ok(bob.members.has(b.id) && bob.members.has(a.id));
    assert.deepEqual(await texts(bob), ['before B joined', 'after B joined']);
  });

  test('a chain of start-overs is followed back to the first key', async () => {
    const { a, b, record, stateOf } = await scene('shared');
    const first = await startOver(a);
    const second = await C.generateKeyPair('ecdsa', true);
    const secondPublic = await C.publicKeyB64u(second.publicKey);
    a.keys.identity = secondPublic;
    /** @type {any} */ (a.keys).replaced.unshift({ identity: first.freshPublic, by: secondPublic, replaced_at: '2026-11-22T11:00:00.000Z',
      sig: await C.signSuccession(second.privateKey, { user: a.id, previous: first.freshPublic, identity: secondPublic }) });
    const bob = await stateOf(b);
    await bob.ingest(record.items);
    assert.equal(bob.broken, null);
  });

  const UNVOUCHED = {
    'with no succession served': async () => [],
    'vouched for by a key other than the new one': async (/** @type {string} */ old, /** @type {CryptoKeyPair} */ _fresh, /** @type {string} */ freshPublic) => {
      const other = await C.generateKeyPair('ecdsa', true);
      return [{ identity: old, by: freshPublic, sig: await C.signSuccession(other.privateKey, { user: a0, previous: old, identity: freshPublic }) }];
    },
    'vouched for by a key the server names but the user does not hold': async (/** @type {string} */ old) => {
      const other = await C.generateKeyPair('ecdsa', true);
      const otherPublic = await C.publicKeyB64u(other.publicKey);
      return [{ identity: old, by: otherPublic, sig: await C.signSuccession(other.privateKey, { user: a0, previous: old, identity: otherPublic }) }];
    },
    'signed for another user': async (/** @type {string} */ old, /** @type {CryptoKeyPair} */ fresh, /** @type {string} */ freshPublic) => [
      { identity: old, by: freshPublic, sig: await C.signSuccession(fresh.privateKey, { user: '0b000000-0000-4000-8000-00000000000b', previous: old, identity: freshPublic }) },
    ],
  };
  const a0 = '0a000000-0000-4000-8000-00000000000a';
  for (const [name, replaced] of Object.entries(UNVOUCHED)) {
    test(`after a start-over ${name}, a change an old device signed breaks the record`, async () => {
      const { a, b, record, stateOf } = await scene('shared');
      await startOver(a, replaced);
      const bob = await stateOf(b);
      await bob.ingest(record.items);
      const add = record.items.find((i) => i.entry.kind === 'member');
      assert.deepEqual(bob.broken && [bob.broken.seq, bob.broken.reason], [add.seq, 'member']);
    });
  }

  test('a second thread creation changes neither the subject nor the history policy', async () => {
    const { a, alice, record } = await scene('from_join');
    await alice.ingest(record.items);
    const pinned = record.items[0].entry.body.server_key; // the chain's own pin check lets it through
    const again = await C.signObject({ v: 1, thread: THREAD, case: 'c', subject: 'Other', history: 'shared', server_key: pinned, sender_device: a.device }, a.sig.privateKey);
    await record.append('create', again, a);
    await alice.ingest(record.items);
    assert.deepEqual([alice.history, alice.subject], ['from_join', 'S']);
    assert.match(String(alice.items.at(-1)?.problem), /first entry/);
  });
});

describe('keys the server could not serve', () => {
  /**
   * A fetch of users' keys that fails, as offline, while `down` holds.
   * @param {Map<string, any>} users
   */
  function flaky(users) {
    const link = {
      down: true,
      fetches: 0,
      fetchUser: async (/** @type {string} */ id) => {
        link.fetches++;
        if (link.down) throw new ApiError(0, 'offline', 'The server cannot be reached.');
        return users.get(id) ?? null;
      },
    };
    return link;
  }

  const text = (/** @type {string} */ s) => ({ text: s, reply_to: null, edits: null, files: [] });

  test('a failed fetch is not kept as "no keys": it rejects, and the next need asks again', async () => {
    const user = await makeUser('0a000000-0000-4000-8000-00000000000a', 'FR-MJ');
    const link = flaky(new Map([[user.id, user.keys]]));
    const directory = new Directory({ me: 'me', fetchUser: link.fetchUser, loadVerified: async () => undefined, saveVerified: async () => {} });
    await assert.rejects(directory.user(user.id), (err) => err instanceof KeysUnavailable && err.user === user.id);
    assert.equal(describeError(await directory.user(user.id).catch((err) => err)), CATALOGUE.en['error.offline']);
    link.down = false;
    assert.equal((await directory.user(user.id))?.devices.size, 1);
    link.down = true;
    await assert.rejects(directory.user(user.id, { fresh: true }));
    assert.equal((await directory.user(user.id))?.devices.size, 1, 'the keys known before stay');
    link.down = false;
    const before = link.fetches;
    assert.equal(await directory.user('0f000000-0000-4000-8000-00000000000f'), null); // what the server says is kept
    assert.equal(await directory.user('0f000000-0000-4000-8000-00000000000f'), null);
    assert.equal(link.fetches, before + 1);
  });

  test('entries wait, verified but not applied, and nothing is called broken; they are applied once the keys come', async () => {
    const { a, b, alice, record, stateOf, users } = await scene('shared');
    const link = flaky(users);
    const bob = await stateOf(b, link.fetchUser);
    const applied = await bob.ingest(record.items);
    assert.equal(bob.broken, null, 'no tampering alarm for a failed fetch');
    assert.deepEqual([applied.length, bob.head.seq, bob.stalled?.seq], [0, 0, 1]); // the creation needs its creator's keys
    assert.equal(bob.deferred.length, record.items.length);

    await alice.ingest(record.items);
    await record.append('message', await alice.seal('text', {}, text('while B could not fetch keys')), a);
    await bob.ingest([record.items.at(-1)]); // a live entry meanwhile waits behind the others
    assert.equal(bob.broken, null);
    assert.equal(bob.deferred.length, record.items.length);

    link.down = false;
    await bob.ingest([]);
    assert.deepEqual([bob.broken, bob.stalled, bob.head.seq], [null, null, record.items.length]);
    assert.deepEqual(bob.items.map((i) => i.problem), bob.items.map(() => null));
    assert.deepEqual(await texts(bob), ['before B joined', 'after B joined', 'while B could not fetch keys']);
  });

  test('a user the server does not show still breaks the record, as before', async () => {
    const { a, b, record, stateOf, users } = await scene('shared');
    const bob = await stateOf(b, async (id) => (id === a.id ? null : users.get(id)));
    await bob.ingest(record.items);
    const add = record.items.find((i) => i.entry.kind === 'member');
    assert.deepEqual(bob.broken && [bob.broken.seq, bob.broken.reason], [add.seq, 'member']);
    assert.equal(bob.stalled, null);
  });

  test('another version of an entry that waits is a fork', async () => {
    const { b, record, stateOf, users } = await scene('shared');
    const bob = await stateOf(b, flaky(users).fetchUser);
    await bob.ingest(record.items);
    const other = structuredClone(record.items[2]);
    other.hash = record.items[3].hash;
    await bob.ingest([other]);
    assert.deepEqual(bob.broken && [bob.broken.seq, bob.broken.reason], [3, 'fork']);
  });

  test('while entries wait, the head remembered from an earlier visit is compared with the whole served record', async () => {
    const { b, record, stateOf, users } = await scene('shared');
    const before = await stateOf(b);
    await before.ingest(record.items);
    const remembered = { ...before.head };
    const waiting = await stateOf(b, flaky(users).fetchUser);
    await waiting.ingest(record.items);
    waiting.compareWithRemembered(remembered);
    assert.equal(waiting.broken, null, 'not a rollback: the entries are there, waiting');
    const shorter = await stateOf(b, flaky(users).fetchUser);
    await shorter.ingest(record.items.slice(0, -2));
    shorter.compareWithRemembered(remembered);
    assert.deepEqual(shorter.broken && [shorter.broken.seq, shorter.broken.reason], [record.items.length - 1, 'rollback']);
  });

  test('a message whose sender\'s keys cannot be fetched says so, and is decrypted on the next try', async () => {
    const { b, record, stateOf, users } = await scene('shared');
    const link = flaky(users);
    link.down = false;
    const bob = await stateOf(b, link.fetchUser);
    await bob.ingest(record.items);
    bob.directory.cache.clear();
    link.down = true;
    const late = /** @type {any} */ (bob.items.filter((i) => i.kind === 'message').at(-1));
    await bob.decrypt(late);
    assert.deepEqual([late.decryptError, late.payload], ['unavailable', undefined]);
    assert.ok('decrypt.unavailable' in CATALOGUE.en);
    assert.deepEqual(bob.undecided(), [late]);
    link.down = false;
    await bob.decrypt(late);
    assert.deepEqual([late.decryptError, late.payload?.text], [null, 'after B joined']);
    assert.deepEqual(bob.undecided(), []);
  });

  test('a rotation that cannot list a member says so in the page\'s language', async () => {
    const { a, alice, record, users } = await scene('shared');
    await alice.ingest(record.items);
    alice.directory.fetchUser = async (id) => (id === a.id ? users.get(id) : null);
    alice.directory.cache.clear();
    await assert.rejects(alice.rotation(), (err) => err instanceof Error && err.message === CATALOGUE.en['thread.memberNoKeys']);
    const link = flaky(users);
    alice.directory.fetchUser = link.fetchUser;
    alice.directory.cache.clear();
    await assert.rejects(alice.rotation(), (err) => describeError(err) === CATALOGUE.en['error.offline']);
  });
});

describe('records keys', () => {
  /**
   * What a thread page makes of the records key the server serves, with the directory it has.
   * @param {object} served
   * @param {object | null} certifier
   */
  async function recordsKeyOf(served, certifier) {
    const { ThreadPage } = await import('../static/comity/ui/thread-page.js');
    const saved = globalThis.fetch;
    globalThis.fetch = async () => new Response(JSON.stringify(served), { status: 200 });
    try {
      const page = { records: new Map(), directory: { user: async () => certifier } };
      return await ThreadPage.prototype.recordsKey.call(page, 'FR-MJ');
    } finally {
      globalThis.fetch = saved;
    }
  }

  test('is used only when a certifier of that authority is known and signed it', async () => {
    const supervisor = await C.generateKeyPair('ecdsa');
    const identity = await C.publicKeyB64u(supervisor.publicKey);
    const dh = await C.publicKeyB64u((await C.generateKeyPair('ecdh')).publicKey);
    const fields = { authority: 'FR-MJ', certified_by: 'sup', dh };
    const served = { id: 'records:FR-MJ', ...fields, certificate: await C.certifyRecordsKey(supervisor.privateKey, fields) };
    const ofFrance = { identity, authority: 'FR-MJ' };
    assert.deepEqual(await recordsKeyOf(served, ofFrance), { id: 'records:FR-MJ', dh });
    await assert.rejects(recordsKeyOf(served, null)); // a certifier the server does not show: no pass
    await assert.rejects(recordsKeyOf(served, { identity: null, authority: 'FR-MJ' }));
    await assert.rejects(recordsKeyOf(served, { identity, authority: 'DE-BFJ' })); // someone of another authority
    await assert.rejects(recordsKeyOf({ ...served, certificate: 'AAAA' }, ofFrance));
  });
});

describe('names others chose', () => {
  test('direction controls are shown, not obeyed, and a malformed time does not stop the page', async () => {
    const { t, plainName, formatTime } = await import('../static/comity/ui/i18n.js');
    const name = 'report_\u202Efdp.exe';
    assert.equal(plainName(name), 'report_\uFFFDfdp.exe');
    assert.ok(!/[\u202A-\u202E\u2066-\u2069]/.test(t('thread.download', { name, size: '1 KB' })));
    assert.equal(formatTime('not a time'), 'not a time');
  });
});
