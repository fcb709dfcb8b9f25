// One WebSocket per tab (DESIGN §7): reconnects with backoff, resumes each
// subscribed thread from the last seq the page applied (DESIGN §5: subscribe
// first, then catch up), and keeps an outbox. Requests that expect an answer
// (send, keys, member, acknowledge) go one at a time: the server answers the
// frames of one socket in order, so the answer in hand — even an error whose
// `ref` names only a frame type, or a `rate_limited` with no ref at all —
// belongs to the request in flight. A request interrupted by a disconnect is
// sent again on reconnect, unchanged: a message keeps its client_id, so the
// server stores it once and answers the same ack (DESIGN §7).
//
// A socket that ends for good — closed as signed out (4401), or refused at
// the handshake again and again while the server says the session ended or
// the device was revoked — stops reconnecting, says why (`closedReason`) and
// fails what it still held, so that nothing waits "for the network" forever.
// A refused handshake arrives as a plain 1006, like a network fault; only the
// `checkRefusal` callback (a question to the HTTP API) tells them apart.

/** @typedef {{type: string, [key: string]: any}} Frame */
/** @typedef {'connecting' | 'open' | 'offline' | 'closed'} SocketState */
/** @typedef {'signed-out' | 'revoked'} ClosedReason why a socket ended for good */

export const BACKOFF_FIRST_MS = 500; // first retry soon: most drops are a blip
export const BACKOFF_MAX_MS = 30_000; // never hammer a server that is down
export const PING_EVERY_MS = 25_000; // below common proxy idle timeouts (60 s)
export const PONG_TIMEOUT_MS = 10_000;
export const CONNECT_TIMEOUT_MS = 10_000; // a handshake (through to `hello`) that takes longer is abandoned
export const CLOSE_SIGNED_OUT = 4401; // the session ended: signed out, expired, account deactivated
export const CLOSE_REVOKED = 4403; // device revoked, membership ended (consult/consumers.py)
export const CLOSE_ABUSE = 4429;
export const HANDSHAKE_FAILURES_BEFORE_CHECK = 2; // one failure is usually a blip; two, ask why

/** Error codes of DESIGN §7, plus the client's own `offline`. */
export const ERROR_CODES = /** @type {const} */ ([
  'bad_frame', 'forbidden', 'not_found', 'bad_signature', 'stale_epoch', 'too_large', 'rate_limited', 'conflict',
]);

export class SocketError extends Error {
  /**
   * @param {string} code
   * @param {string} detail
   * @param {Frame} [frame] the server's error frame
   */
  constructor(code, detail, frame) {
    super(detail);
    this.name = 'SocketError';
    this.code = code;
    this.frame = frame;
  }
}

/**
 * @typedef {{frame: Frame, resolve: (reply: Frame) => void, reject: (error: Error) => void}} Request
 */

export class ComitySocket extends EventTarget {
  /**
   * `checkRefusal` is asked after handshakes failed before `hello`: it names a
   * reason to stop (the session ended, the device was revoked) or null.
   * @param {{device: string, url?: string, WebSocket?: typeof WebSocket, random?: () => number,
   *   checkRefusal?: () => Promise<ClosedReason | null>}} options
   */
  constructor(options) {
    super();
    const location = globalThis.location;
    this.url = options.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/?device=${encodeURIComponent(options.device)}`;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.random = options.random ?? Math.random;
    /** @type {SocketState} */
    this.state = 'offline';
    /** @type {WebSocket | null} */
    this.ws = null;
    /** Last seq applied per subscribed thread: what `sub` resumes after. @type {Map<string, number>} */
    this.subs = new Map();
    /** @type {Request[]} */
    this.outbox = [];
    /** @type {Request | null} */
    this.inflight = null;
    this.attempts = 0;
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pongTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.connectTimer = undefined;
    this.pausedUntil = 0;
    this.checkRefusal = options.checkRefusal ?? null;
    /** Handshakes that failed before `hello` since the last one that succeeded. */
    this.failedHandshakes = 0;
    this.checking = false;
    /** @type {ClosedReason | null} */
    this.closedReason = null;
  }

  /** Open the socket (and keep it open until `stop`). */
  start() {
    this.stopped = false;
    globalThis.addEventListener?.('online', () => this.reconnectNow());
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000);
  }

  /** Reconnect at once (the browser says the network is back). */
  reconnectNow() {
    this.attempts = 0; // an attempt under way that fails is retried soon, not after a long backoff
    if (this.stopped || this.state === 'open' || this.state === 'connecting') return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** @param {SocketState} state */
  setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  connect() {
    this.setState('connecting');
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && this.state === 'connecting') ws.close();
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      // `hello` confirms the device; only then resume.
    };
    ws.onmessage = (event) => this.onMessage(String(event.data));
    ws.onclose = (event) => this.onClose(event.code);
    ws.onerror = () => {};
  }

  /** @param {number} code */
  onClose(code) {
    const beforeHello = this.state === 'connecting';
    this.ws = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    if (this.inflight) {
      this.outbox.unshift(this.inflight); // sent again, unchanged, on reconnect
      this.inflight = null;
    }
    if (code === CLOSE_SIGNED_OUT) {
      this.end('signed-out'); // a new handshake would be refused: sign in again
      return;
    }
    if (this.stopped) {
      this.setState('closed');
      return;
    }
    this.setState('offline');
    this.dispatchEvent(new CustomEvent('closed', { detail: code }));
    this.scheduleReconnect();
    if (beforeHello) {
      this.failedHandshakes++;
      if (this.failedHandshakes >= HANDSHAKE_FAILURES_BEFORE_CHECK) void this.askWhy();
    }
  }

  /** Handshakes keep failing: ask whether the server refuses them for good. */
  async askWhy() {
    if (!this.checkRefusal || this.checking) return;
    this.checking = true;
    try {
      const reason = await this.checkRefusal().catch(() => null);
      if (reason && !this.stopped && this.state !== 'open') this.end(reason);
    } finally {
      this.checking = false;
    }
  }

  /**
   * Stop for good: no more reconnecting, and every request still held fails
   * with `unauthenticated` or `device_revoked`.
   * @param {ClosedReason} reason
   */
  end(reason) {
    this.stopped = true;
    this.closedReason = reason;
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null; // this is its close: no second one
      ws.close(1000);
    }
    const held = [...(this.inflight ? [this.inflight] : []), ...this.outbox.splice(0)];
    this.inflight = null;
    this.setState('closed');
    for (const request of held) request.reject(this.endError());
  }

  /** @returns {SocketError} what a request meets on a socket that ended */
  endError() {
    return new SocketError(this.closedReason === 'revoked' ? 'device_revoked' : 'unauthenticated', '');
  }

  scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts);
    this.attempts++;
    const delay = base / 2 + (this.random() * base) / 2; // jitter: many tabs must not return in step
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** @param {string} text */
  onMessage(text) {
    /** @type {Frame} */
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case 'hello':
        this.onHello(frame);
        break;
      case 'pong':
        clearTimeout(this.pongTimer);
        break;
      case 'ack':
        this.settle(frame, null);
        break;
      case 'error':
        this.onError(frame);
        break;
      default:
        this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    }
  }

  /** @param {Frame} frame */
  onHello(frame) {
    clearTimeout(this.connectTimer);
    this.attempts = 0;
    this.failedHandshakes = 0;
    this.setState('open');
    this.dispatchEvent(new CustomEvent('hello', { detail: frame }));
    for (const [thread, after] of this.subs) this.raw({ type: 'sub', thread, after });
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
    this.pump();
  }

  ping() {
    this.raw({ type: 'ping' });
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => this.ws?.close(4000), PONG_TIMEOUT_MS);
  }

  /** @param {Frame} frame */
  onError(frame) {
    const inflightType = this.inflight?.frame.type;
    const belongs = this.inflight && (
      frame.ref === null || frame.ref === undefined || frame.ref === inflightType ||
      frame.ref === this.inflight.frame.envelope?.header?.client_id
    );
    if (frame.code === 'rate_limited' && belongs && this.inflight) {
      // Refused before it was looked at: wait as told, then send it again.
      this.outbox.unshift(this.inflight);
      this.inflight = null;
      this.pausedUntil = Date.now() + 1000 * Number(frame.retry_after ?? 1);
      setTimeout(() => this.pump(), 1000 * Number(frame.retry_after ?? 1));
      return;
    }
    if (belongs) {
      this.settle(null, new SocketError(String(frame.code), String(frame.detail ?? ''), frame));
      return;
    }
    this.dispatchEvent(new CustomEvent('error-frame', { detail: frame }));
  }

  /**
   * @param {Frame | null} reply
   * @param {Error | null} error
   */
  settle(reply, error) {
    const request = this.inflight;
    this.inflight = null;
    if (request) {
      if (error) request.reject(error);
      else request.resolve(/** @type {Frame} */ (reply));
    }
    this.pump();
  }

  pump() {
    if (this.inflight || this.state !== 'open' || Date.now() < this.pausedUntil) return;
    const next = this.outbox.shift();
    if (!next) {
      this.dispatchEvent(new CustomEvent('drained'));
      return;
    }
    this.inflight = next;
    this.raw(next.frame);
  }

  /**
   * Send a frame now if open (typing, read: dropped when offline).
   * @param {Frame} frame
   * @returns {boolean}
   */
  raw(frame) {
    if (!this.ws || this.state !== 'open') return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send a request (send, keys, member, acknowledge) and wait for its answer.
   * Queued while offline; sent once, in order, when the socket is back.
   * @param {Frame} frame
   * @returns {Promise<Frame>} the ack
   */
  request(frame) {
    return new Promise((resolve, reject) => {
      if (this.closedReason) {
        reject(this.endError());
        return;
      }
      this.outbox.push({ frame, resolve, reject });
      this.pump();
    });
  }

  /** Requests waiting to be sent (the UI shows them as "waiting for the network"). */
  get pending() {
    return this.outbox.length + (this.inflight ? 1 : 0);
  }

  /**
   * Follow a thread from `after`; resumed from the last applied seq after a reconnect.
   * @param {string} thread
   * @param {number} after
   */
  subscribe(thread, after) {
    this.subs.set(thread, after);
    this.raw({ type: 'sub', thread, after });
  }

  /**
   * Record that the page applied `seq` of `thread`, so a resume starts after it.
   * @param {string} thread
   * @param {number} seq
   */
  applied(thread, seq) {
    if ((this.subs.get(thread) ?? -1) < seq) this.subs.set(thread, seq);
  }
}
