// The socket.io connection to the /call namespace: verbs answered by acks,
// and the server's facts as DOM events.

import { io } from "/static/vendor/socket.io.esm.min.js";

import { KothaError } from "./errors.js";
import { tokenClaims } from "./token-store.js";
import { ClientEvent, NAMESPACE, ServerEvent } from "./events.js";

// Server facts (docs/protocol.md), re-dispatched as events of the same name.
const SERVER_EVENTS = [
  ServerEvent.CALL_UPDATED,
  ServerEvent.QUEUE_POSITION,
  ServerEvent.QUEUE_UPDATED,
  ServerEvent.AGENT_UPDATED,
  ServerEvent.CALL_OFFERED,
  ServerEvent.CALL_OFFER_WITHDRAWN,
  ServerEvent.PARTICIPANT_UPDATED,
  ServerEvent.PARTICIPANT_LEFT,
  ServerEvent.MONITOR_UPDATED,
  ServerEvent.MONITOR_ENDED,
  ServerEvent.FLOOR_UPDATED,
  ServerEvent.MEDIA_OFFER,
  ServerEvent.MEDIA_FAILED,
  ServerEvent.CALL_ENDED,
];
// Long enough for a slow mobile network, short enough that a button does not hang.
const ACK_TIMEOUT_MS = 15000;
// Codes of a refused connection that retrying with the same token cannot fix.
const FATAL_CODES = new Set([
  "token_missing",
  "token_expired",
  "token_invalid",
  "token_revoked",
  "forbidden",
  "not_found",
  "too_many_sockets",
]);

export { KothaError };

/**
 * One signed-in socket. Events it dispatches:
 * - `connected` {first}: (re)connected; after a reconnect the page must refresh its state.
 * - `disconnected` {reason}: the socket dropped; socket.io is already reconnecting.
 * - `refused` KothaError: the server refused the token; no retry will help.
 * - each server event in SERVER_EVENTS, with its payload as `detail`.
 */
export class Signal extends EventTarget {
  /**
   * @param {string} token
   * @param {{onToken?: (token: string) => void}} options onToken gets each renewed token (to store it).
   */
  constructor(token, { onToken } = {}) {
    super();
    this._everConnected = false;
    this._closed = false;
    this._onToken = onToken;
    this._refreshTimer = null;
    this._sessionEnded = false;
    this.socket = io(NAMESPACE, {
      auth: { token },
      // The server refuses HTTP long-polling: start on the websocket (socket.io-client
      // would otherwise poll first and upgrade).
      transports: ["websocket"],
      // Quick retries: the goal is to be back in a call within 10 s of a drop.
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
    });
    for (const name of SERVER_EVENTS) {
      this.socket.on(name, (payload) => this._emit(name, payload));
    }
    this.socket.on("connect", () => {
      const first = !this._everConnected;
      this._everConnected = true;
      this._scheduleRefresh(this.socket.auth.token);
      this._emit("connected", { first });
    });
    this.socket.on("disconnect", (reason) => {
      this._emit("disconnected", { reason });
      // After a server-side disconnect socket.io does not retry by itself; after the
      // server ended this sign-in, retrying with the same token cannot help.
      if (reason === "io server disconnect" && !this._sessionEnded) {
        setTimeout(() => this.socket.connect(), 1000);
      }
    });
    // The sign-in ended (the token expired, or an admin revoked it): the server closes
    // the socket next; the page signs out with the reason shown.
    this.socket.on(ServerEvent.SESSION_ENDED, (error) => {
      this._sessionEnded = true;
      this._emit("refused", new KothaError(error));
    });
    // The server closed the socket for breaking the protocol (a bug in this page).
    this.socket.on(ServerEvent.REFUSED, (error) => console.warn("kotha: the server refused this socket", error));
    // A phone that changed networks can keep a dead connection that socket.io
    // only notices after the engine.io ping timeout (25 + 20 s by default).
    this._onOnline = () => {
      if (this.connected) this.reconnect();
    };
    window.addEventListener("online", this._onOnline);
    this.socket.on("connect_error", (err) => {
      // err.data is set when our server refused the token; otherwise the
      // server was unreachable and the manager keeps retrying.
      if (err?.data && FATAL_CODES.has(err.data.code)) {
        this._emit("refused", new KothaError(err.data));
      } else {
        this._emit("unreachable", new KothaError({ code: "network", message: err?.message }));
      }
    });
  }

  get connected() {
    return this.socket.connected;
  }

  /** Send a verb; resolves with its ack, rejects with a KothaError (code "timeout" when none came). */
  async request(event, payload = {}, { timeoutMs = ACK_TIMEOUT_MS } = {}) {
    let ack;
    try {
      ack = await this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch (err) {
      const disconnected = String(err?.message).includes("disconnected");
      throw new KothaError({
        code: disconnected ? "network" : "timeout",
        message: `${event}: ${err?.message || "no answer"}`,
      });
    }
    if (!ack || ack.ok !== true) throw new KothaError(ack?.error ?? { code: "error", message: "bad ack" });
    return ack;
  }

  /** Listen to an event; the handler gets the payload. */
  on(name, handler) {
    this.addEventListener(name, (event) => handler(event.detail));
  }

  /** Resolves once the socket is connected (at once if it already is). */
  whenConnected() {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        this.removeEventListener("refused", onRefused);
        resolve();
      };
      const onRefused = (event) => {
        this.removeEventListener("connected", onConnect);
        reject(event.detail);
      };
      this.addEventListener("connected", onConnect, { once: true });
      this.addEventListener("refused", onRefused, { once: true });
    });
  }

  /** Drop the connection and open a new one (a `connected` event follows). */
  reconnect() {
    if (this._closed) return;
    this.socket.disconnect();
    this.socket.connect();
  }

  close() {
    this._closed = true;
    clearTimeout(this._refreshTimer);
    window.removeEventListener("online", this._onOnline);
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  /**
   * Renew the token half-way through its life, so a call longer than the
   * token (a 30-minute guest token, say) can still reconnect after a drop.
   */
  _scheduleRefresh(token) {
    clearTimeout(this._refreshTimer);
    const lifetime = tokenLifetimeMs(token);
    if (!lifetime) return;
    this._refreshTimer = setTimeout(async () => {
      try {
        const { token: renewed } = await this.request(ClientEvent.REFRESH_TOKEN);
        this.socket.auth.token = renewed;
        if (this._onToken) this._onToken(renewed);
        this._scheduleRefresh(renewed);
      } catch (err) {
        console.warn("kotha: token not renewed", err);
      }
    }, lifetime / 2);
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

/** exp - iat of a JWT in milliseconds (read, not verified: the server verifies). */
function tokenLifetimeMs(token) {
  const claims = tokenClaims(token);
  const lifetime = (claims.exp - claims.iat) * 1000;
  return Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 0;
}

/**
 * A signed-in page's socket, wired as every page wants it: renewed tokens kept in
 * `tokens`, `page.refresh(first)` on each (re)connection, `page.render()` when it
 * drops. A refused token signs the page out with the error shown, and an unreachable
 * server shows its error, unless the page says otherwise.
 */
export function openPageSignal(page, token, tokens, { onRefused, onUnreachable } = {}) {
  const signal = new Signal(token, { onToken: (renewed) => tokens.save(renewed) });
  page.signal = signal;
  signal.on("connected", ({ first }) => page.refresh(first));
  signal.on("disconnected", () => page.render());
  signal.on(
    "refused",
    onRefused ??
      ((error) => {
        page.signOut();
        page.showError(error);
      }),
  );
  // Shown until the socket is back (socket.io keeps retrying by itself).
  signal.on("unreachable", onUnreachable ?? ((error) => page.showError(error)));
  return signal;
}
