// What every media session with the server does the same way, whoever it is for (the
// customer's and the agent's CallSession, the supervisor's MonitorSession): answer each
// offer of the peer the server named, one at a time; trickle ICE; watch the connection;
// and replace a peer that fails, after a pause that grows with each failure in a row. How
// to ask for a fresh peer (join_call, monitor_call) is the subclass's `_replace`.

import { MediaPeer } from "./media-peer.js";
import { ClientEvent, ServerEvent } from "./events.js";

// A peer that stays "disconnected" this long is given up and replaced.
const DISCONNECTED_GRACE_MS = 3000;
// Pauses before each fresh peer after a failure: 1 s, 2 s, 4 s ... 30 s, each +-20 % so
// that many pages cut off at once do not come back in step. Without them a page whose
// media cannot connect at all asked the server for hundreds of peers a minute.
const REPLACE_BASE_MS = 1000;
const REPLACE_MAX_MS = 30000;
const REPLACE_JITTER = 0.2;
// A connection that has held this long starts the pauses from the first again.
const STABLE_MS = 10000;

/** The pause before fresh peer number `failures + 1` in a row, in milliseconds. */
export function replaceDelay(failures, random = Math.random) {
  const base = REPLACE_BASE_MS * 2 ** Math.min(failures, 16);
  const jitter = 1 + REPLACE_JITTER * (2 * random() - 1);
  return Math.round(Math.min(REPLACE_MAX_MS, base * jitter));
}

/**
 * Events (subclasses add their own):
 * - `state` {state}: the session's state (each subclass names its states).
 * - `track` {slot, track}: a remote track, labelled by slot.participant_id and slot.source.
 * - `retry` {reason, delayMs}: the peer failed; a fresh one is asked for at `retryAt`.
 */
export class PeerSession extends EventTarget {
  /**
   * @param {import("./signal.js").Signal} signal
   * @param {string} callId
   * @param {Map<string, MediaStreamTrack>} localTracks what the publish slots carry, by source.
   * @param {string} state the first state.
   */
  constructor(signal, callId, localTracks, state) {
    super();
    this.signal = signal;
    this.callId = callId;
    this.localTracks = localTracks;
    this.state = state;
    this.peer = null;
    this.expectedPeerId = null; // the peer_id of the latest join/monitor ack
    this._iceServers = [];
    this._closed = false;
    this._failures = 0; // failed peers in a row, for the pause before the next
    this.retryAt = null; // Date.now() at which a fresh peer is asked for, while waiting
    this._offers = Promise.resolve();
    this._timers = new Map();
    this._unsubscribe = [this._listen(ServerEvent.MEDIA_OFFER, (offer) => this._onOffer(offer))];
  }

  /** Ask the server for a fresh peer; `reason` says why (for the log). */
  _replace(reason) {
    throw new Error(`${this.constructor.name} must say how to replace its peer (${reason})`);
  }

  /** The request whose ack names the peer, while it is out (an offer can overtake it). */
  _pending() {
    return null;
  }

  /** The peer connected. */
  _connected() {}

  /** The peer has stayed connected for STABLE_MS (subclasses reset their retry counts here). */
  _stable() {}

  /** Seconds until the fresh peer is asked for (rounded up), or null when none is waited for. */
  retryInSeconds(now = Date.now()) {
    return this.retryAt === null ? null : Math.max(0, Math.ceil((this.retryAt - now) / 1000));
  }

  /**
   * The peer failed or never connected: ask for a fresh one (`_replace`) after the
   * pause for this many failures in a row. A failure reported while one is waited
   * for (the browser and the server both noticed) changes nothing.
   */
  _peerFailed(reason) {
    if (this._closed || this._timers.has("replace")) return;
    for (const name of ["connect", "disconnected", "stable"]) this._disarm(name);
    const delay = replaceDelay(this._failures);
    this._failures += 1;
    this.retryAt = Date.now() + delay;
    console.info(`kotha: a fresh peer in ${(delay / 1000).toFixed(1)} s (${reason})`);
    this._setState("reconnecting");
    this._emit("retry", { reason, delayMs: delay });
    this._arm("replace", delay, () => {
      this.retryAt = null;
      this._replace(reason);
    });
  }

  /** Ask for a fresh peer now rather than after the pause (the socket came back, say). */
  _cancelRetry() {
    this._disarm("replace");
    this.retryAt = null;
  }

  /** A join/monitor ack named the peer the offers to answer are for. */
  _expect(ack) {
    this.expectedPeerId = ack.peer_id;
    this._iceServers = ack.ice_servers || [];
  }

  /** Close the timers, the listeners and the peer; safe to call twice. */
  _shutDown() {
    this._closed = true;
    for (const timer of this._timers.values()) clearTimeout(timer);
    this._timers.clear();
    this.retryAt = null;
    for (const off of this._unsubscribe) off();
    if (this.peer) this.peer.close();
    this.peer = null;
  }

  _onOffer(offer) {
    if (offer?.call_id !== this.callId) return;
    // One offer at a time: setRemoteDescription/createAnswer must not interleave.
    this._offers = this._offers
      .then(() => this._answer(offer))
      .catch((error) => {
        console.warn("kotha: answering an offer failed", error);
        if (!this._closed) this._peerFailed("answer_failed");
      });
  }

  async _answer(offer) {
    const pending = this._pending();
    if (pending) await pending.catch(() => {});
    if (this._closed || offer.peer_id !== this.expectedPeerId) return; // an older peer's offer
    if (!this.peer || this.peer.peerId !== offer.peer_id) this._newPeer(offer.peer_id);
    const peer = this.peer;
    const description = await peer.answer(offer);
    if (peer !== this.peer) return;
    await this.signal.request(ClientEvent.SEND_ANSWER, {
      call_id: this.callId,
      peer_id: offer.peer_id,
      offer_id: offer.offer_id,
      description,
    });
  }

  _newPeer(peerId) {
    if (this.peer) this.peer.close();
    const peer = new MediaPeer(peerId, this._iceServers, this.localTracks);
    this.peer = peer;
    peer.addEventListener("track", (event) => this._emit("track", event.detail));
    peer.addEventListener("candidate", (event) => this._sendCandidate(peer, event.detail.candidate));
    peer.addEventListener("statechange", (event) => this._onPeerState(peer, event.detail.state));
  }

  _sendCandidate(peer, candidate) {
    if (peer !== this.peer) return;
    this.signal
      .request(ClientEvent.ADD_ICE_CANDIDATE, { call_id: this.callId, peer_id: peer.peerId, candidate })
      .catch((error) => {
        // A candidate for a peer the server already replaced is refused; harmless.
        if (peer === this.peer) console.warn("kotha: ICE candidate refused", error);
      });
  }

  _onPeerState(peer, state) {
    if (peer !== this.peer || this._closed) return;
    if (state === "connected") {
      this._disarm("connect");
      this._disarm("disconnected");
      this._cancelRetry(); // it came back by itself during the pause
      this._arm("stable", STABLE_MS, () => {
        this._failures = 0;
        this._stable();
      });
      this._connected();
      this._setState("connected");
    } else if (state === "failed") {
      this._peerFailed("ice_failed");
    } else if (state === "disconnected") {
      // Often a short blip that ICE recovers from by itself; give it a moment.
      this._disarm("stable");
      this._setState("reconnecting");
      this._arm("disconnected", DISCONNECTED_GRACE_MS, () => {
        if (peer === this.peer && peer.connectionState !== "connected") this._peerFailed("ice_disconnected");
      });
    }
  }

  _setState(state) {
    if (this._closed && state !== "closed") return;
    if (state === this.state) return;
    this.state = state;
    this._emit("state", { state });
  }

  _arm(name, delay, action) {
    this._disarm(name);
    this._timers.set(
      name,
      setTimeout(() => {
        this._timers.delete(name);
        if (!this._closed) action();
      }, delay),
    );
  }

  _disarm(name) {
    clearTimeout(this._timers.get(name));
    this._timers.delete(name);
  }

  _listen(name, handler) {
    const listener = (event) => handler(event.detail);
    this.signal.addEventListener(name, listener);
    return () => this.signal.removeEventListener(name, listener);
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
