// Replaying a thread's record (DESIGN §4–§5): each verified entry applied in
// turn to the membership, the epochs and the messages, by the trust rules at
// the head of thread-state.js. A membership change that does not verify
// breaks the record; a package that does not fit the replay is marked
// untrusted and its key is never used; keys the server could not serve stop
// the replay at that entry (KeysUnavailable), to be applied once they come.

import * as C from '../crypto/index.js';
import { KeysUnavailable } from './directory.js';
import { fullPackageProblem, historyProblem } from './package-rules.js';
import * as Keys from './thread-keys.js';

/**
 * @typedef {import('../../../types.js').ChainItem} ChainItem
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {import('./thread-state.js').ThreadState} ThreadState
 */

/**
 * Apply one verified entry to the replay. What it does not allow is noted on
 * the item as its problem (or breaks the record); keys the server could not
 * serve throw, and the entry is not applied.
 * @param {ThreadState} state
 * @param {ChainItem} chainItem
 * @returns {Promise<Item>}
 */
export async function applyEntry(state, chainItem) {
  const entry = chainItem.entry;
  /** @type {Item} */
  const item = {
    seq: entry.seq, hash: chainItem.hash, serverSig: chainItem.server_sig, at: entry.at, kind: entry.kind,
    actor: entry.actor, entry, problem: null, note: null,
  };
  const body = /** @type {any} */ (entry.body);
  try {
    switch (entry.kind) {
      case 'create': await applyCreate(state, item, body); break;
      case 'member': await applyMember(state, item, body); break;
      case 'expiry': applyExpiry(state, item, body); break;
      case 'keys': await applyKeys(state, item, body); break;
      case 'message': applyMessage(state, item, body, chainItem); break;
      case 'purge': applyPurge(state, item, body); break;
      default: break; // receipt, status, export: shown as they are
    }
  } catch (err) {
    if (err instanceof KeysUnavailable) throw err; // not applied: tried again with the keys
    item.problem = err instanceof Error ? err.message : String(err);
  }
  state.items.push(item);
  state.bySeq.set(item.seq, item);
  return item;
}

/**
 * @param {ThreadState} state
 * @param {Item} item
 * @param {any} creation
 */
async function applyCreate(state, item, creation) {
  // Only the first entry sets the subject and the history policy: a later "create" would
  // otherwise turn a from_join thread into one that re-wraps past keys for every newcomer.
  if (item.seq !== 1 || creation.thread !== state.thread) throw new Error('the thread creation is not this thread\'s first entry');
  state.subject = String(creation.subject ?? '');
  state.history = creation.history === 'from_join' ? 'from_join' : 'shared';
  state.creator = String(item.actor.user);
  const keys = await state.directory.deviceAt(item.actor.user, creation.sender_device, item.at);
  if (!keys) throw new Error('the creating device was not certified when the thread was created');
  if (!(await C.verifyObject(creation, keys.sig))) throw new Error('the thread creation signature does not verify');
  state.members.set(state.creator, { joinedSeq: item.seq, expires: null });
}

/**
 * @param {ThreadState} state
 * @param {Item} item
 * @param {any} change
 */
async function applyMember(state, item, change) {
  item.change = change;
  const actor = String(item.actor.user);
  // A device revoked since still counts for a change recorded before its revocation.
  const keys = await state.directory.deviceAt(actor, change.sender_device, item.at);
  let problem = null;
  if (change.thread !== state.thread) problem = 'the change names another thread';
  else if (!keys) problem = 'the acting device was not certified when the change was recorded';
  else if (!(await C.verifyObject(change, keys.sig))) problem = 'the change signature does not verify';
  else if (!state.members.has(actor)) problem = 'the actor is not a member';
  else if (change.action === 'leave' && change.user !== actor) problem = 'only members leave for themselves';
  // A change no certified device of its actor signed, or made by someone who is not a member,
  // is a forgery: keys must never follow it to the person it adds, so the record is broken here.
  if (problem) {
    state.broken = { seq: item.seq, reason: 'member', detail: problem };
    throw new Error(problem);
  }
  if (change.action === 'add') {
    state.members.set(change.user, { joinedSeq: item.seq, expires: change.expires ?? null });
  } else {
    state.members.delete(change.user);
    state.minEpoch = state.epoch + 1;
  }
}

/**
 * @param {ThreadState} state
 * @param {Item} item
 * @param {any} body
 */
function applyExpiry(state, item, body) {
  state.members.delete(body.user);
  state.minEpoch = state.epoch + 1;
  item.note = body.reason;
}

/**
 * @param {ThreadState} state
 * @param {Item} item
 * @param {any} body
 * @param {ChainItem} chainItem
 */
function applyMessage(state, item, body, chainItem) {
  if (/** @type {any} */ (chainItem).digest !== undefined) {
    // Content dropped (retention or retraction); the chain bound it by its digest.
    item.removed = { reason: 'retention', on: String(/** @type {any} */ (chainItem).purged_on ?? '') };
    item.payload = null;
  }
  item.envelope = body;
  item.epoch = body?.header?.epoch;
  const clientId = body?.header?.client_id;
  if (typeof clientId === 'string') state.byClientId.set(clientId, item);
  const refusal = senderRefusal(state, item);
  if (refusal && !item.removed) {
    item.payload = null;
    item.decryptError = refusal;
  }
}

/**
 * Whether the replay so far allows this message, or why not: its sender must
 * be a member now and have been one when its epoch's package was made, and
 * the epoch must still be open (none closed by a removal, a leave or an
 * expiry). The server refuses the others (`stale_epoch`); a client that
 * believed it would read a removed member's words as if they still belonged.
 * @param {ThreadState} state
 * @param {Item} item a message, at its place in the replay
 * @returns {'member' | 'stale' | null}
 */
function senderRefusal(state, item) {
  const sender = String(item.actor.user);
  const epoch = Number(item.epoch);
  if (!state.members.has(sender) || !state.epochMembers.get(epoch)?.has(sender)) return 'member';
  if (epoch < state.minEpoch) return 'stale';
  return null;
}

/**
 * A retraction or retention purge: the earlier message's content is gone
 * from the record, so it is gone from the page too.
 * @param {ThreadState} state
 * @param {Item} item
 * @param {any} body
 */
function applyPurge(state, item, body) {
  const target = state.bySeq.get(body?.seq);
  if (target?.kind !== 'message') return;
  target.removed = { reason: String(body.reason), on: item.at };
  target.payload = null;
}

/**
 * @param {ThreadState} state
 * @param {Item} item
 * @param {any} pkg
 */
async function applyKeys(state, item, pkg) {
  const checked = C.checkKeyPackage(pkg);
  item.recipients = checked.recipients.map((r) => ({ id: r.id, kind: r.kind }));
  item.reason = checked.reason;
  item.epoch = checked.epoch;
  const signer = String(item.actor.user);
  // A device revoked since still counts for a package recorded before its revocation: the
  // epochs it made stay readable, and the ones after them follow.
  const keys = await state.directory.deviceAt(signer, checked.sender_device, item.at);
  if (!keys) throw new Error('the package was sent by a device that was not certified then');
  if (!(await C.verifyKeyPackage(checked, keys.sig))) throw new Error('the package signature does not verify');
  if (checked.thread !== state.thread) throw new Error('the package names another thread');
  if (checked.reason === 'history') {
    const problem = historyProblem(state, checked, signer);
    if (problem) throw new Error(problem);
    item.note = 'history';
  } else {
    const problem = fullPackageProblem(state, checked, signer);
    if (checked.epoch === state.epoch + 1) {
      // The record moves on either way (the server accepted the package);
      // an untrusted package's key is just never used.
      state.epoch = checked.epoch;
      state.lastKeysHash = item.hash;
      state.epochSeq = item.seq;
      state.lastPackage = checked;
      state.epochMembers.set(checked.epoch, new Set(state.members.keys()));
    }
    if (problem) throw new Error(problem);
  }
  await Keys.openMine(state, checked, keys);
}
