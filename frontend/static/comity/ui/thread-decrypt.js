// Opening a message of the record (DESIGN §4 "Message envelope"): its
// header checked against its entry, decrypted with its epoch's key and
// verified with the sending device's certified key, once. Keys the server
// could not serve just now leave the message undecided, to be tried again;
// any other failure is final, and the timeline says which.

import * as C from '../crypto/index.js';
import { KeysUnavailable } from './directory.js';
import { aesKey } from './thread-keys.js';

/**
 * @typedef {import('../../../types.js').Envelope} Envelope
 * @typedef {import('./thread-state.js').Item} Item
 * @typedef {import('./thread-state.js').ThreadState} ThreadState
 */

/**
 * Verify and decrypt a message item (once).
 * @param {ThreadState} state
 * @param {Item} item
 * @returns {Promise<Item>}
 */
export async function decryptItem(state, item) {
  if (item.kind !== 'message') return item;
  const again = (item.decryptError === 'unavailable' && item.payload === undefined) // keys not served last time
    || keyCameSince(state, item);
  if (!again && (item.payload !== undefined || item.decryptError)) return item;
  const envelope = /** @type {Envelope} */ (item.envelope);
  try {
    const header = envelope.header;
    if (header.thread !== state.thread || header.sender_device !== item.actor.device) {
      throw new Error('mismatch');
    }
    const key = await aesKey(state, header.epoch);
    if (!key) {
      item.payload = null;
      item.decryptError = 'nokey';
      return item;
    }
    // A device revoked since (a lost laptop, a start-over) still vouches for what it sent before.
    const device = await state.directory.deviceAt(item.actor.user, header.sender_device, item.at);
    if (!device) {
      item.payload = null;
      item.decryptError = 'device';
      return item;
    }
    item.payload = await C.openEnvelope(envelope, key, device.sig);
    item.decryptError = null;
  } catch (err) {
    if (err instanceof KeysUnavailable) {
      item.decryptError = 'unavailable'; // the payload stays undefined: decrypted on the next try
      return item;
    }
    item.payload = null;
    item.decryptError = err instanceof C.ComityCryptoError && err.code === 'signature' ? 'signature' : 'corrupt';
  }
  return item;
}

/**
 * Whether a message I held no key for can be opened now: a history package
 * (or my backup) brought its epoch's key after it was first shown.
 * @param {ThreadState} state
 * @param {Item} item
 */
export function keyCameSince(state, item) {
  return item.decryptError === 'nokey' && !item.removed && state.epochKeys.has(Number(item.envelope?.header.epoch));
}
