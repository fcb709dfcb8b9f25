// The trust rules for key packages (DESIGN §4): a client accepts a package
// only if it fits the membership it replayed from signed entries. Pure
// functions of the replayed state; thread-state.js applies them.

/**
 * @typedef {import('../../../types.js').KeyPackage} KeyPackage
 * @typedef {import('./thread-state.js').ThreadState} ThreadState
 */

/**
 * Why a create/rotate package does not match the replay, or null.
 * @param {ThreadState} state the thread as replayed up to the package
 * @param {KeyPackage} pkg
 * @param {string} signer the user whose device signed it
 * @returns {string | null}
 */
export function fullPackageProblem(state, pkg, signer) {
  if (pkg.epoch !== state.epoch + 1) return `the package is for epoch ${pkg.epoch}, expected ${state.epoch + 1}`;
  if ((pkg.reason === 'create') !== (pkg.epoch === 1)) return 'only epoch 1 is made by "create"';
  if (pkg.prev !== state.lastKeysHash) return 'the package does not link to the previous epoch\'s package';
  if (pkg.history !== state.history) return 'the package\'s history policy differs from the thread\'s';
  const previous = pkg.epoch === 1 ? new Set([state.creator]) : state.epochMembers.get(state.epoch);
  if (!previous?.has(signer) || !state.members.has(signer)) return 'the signer was not a member of the previous epoch';
  // Listed devices are not checked against the directory: it shows only
  // current devices, and old packages rightly name devices revoked since.
  // The server accepts only certified, unrevoked devices when it stores a package.
  const listed = new Map(pkg.members.map((m) => [m.user, m.devices]));
  const replayed = [...state.members.keys()];
  if (listed.size !== pkg.members.length || listed.size !== replayed.length || !replayed.every((u) => listed.has(u))) {
    return 'the package\'s members differ from the replayed membership';
  }
  const devices = new Set(pkg.members.flatMap((m) => m.devices));
  const got = (/** @type {string} */ kind) => new Set(pkg.recipients.filter((r) => r.kind === kind).map((r) => r.id));
  const deviceRecipients = got('device');
  if (deviceRecipients.size !== devices.size || ![...devices].every((d) => deviceRecipients.has(d))) {
    return 'the package\'s device recipients differ from its members\' devices';
  }
  const records = got('records');
  if (records.size !== state.parties.length || !state.parties.every((a) => records.has(`records:${a}`))) {
    return 'the package is not addressed to both authorities\' records keys';
  }
  if (![...got('backup')].every((id) => state.members.has(id.slice('backup:'.length)))) {
    return 'the package wraps to the backup key of a non-member';
  }
  return null;
}

/**
 * Why a `history` package (a past epoch re-wrapped for newcomers) is not
 * acceptable, or null.
 * @param {ThreadState} state
 * @param {KeyPackage} pkg
 * @param {string} signer
 * @returns {string | null}
 */
export function historyProblem(state, pkg, signer) {
  if (state.history !== 'shared') return 'history was shared although the thread does not share it';
  if (pkg.epoch > state.epoch) return 'history for an epoch that does not exist yet';
  if (!state.epochMembers.get(pkg.epoch)?.has(signer)) return 'history shared by someone who did not hold that epoch';
  if (pkg.recipients.some((r) => r.kind !== 'device')) return 'history goes only to devices';
  return null;
}
