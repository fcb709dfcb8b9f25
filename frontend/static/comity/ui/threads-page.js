// /threads/: the threads I am a member of.

import { get } from '../transport/api.js';
import { byId, say } from './dom.js';
import { describeError } from './errors.js';
import { renderThreadRows } from './thread-rows.js';

const status = byId('threads-status');
get('threads')
  .then((rows) => renderThreadRows(byId('thread-rows'), status, rows))
  .catch((err) => say(status, describeError(err), 'error'));
