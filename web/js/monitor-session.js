// A supervisor's monitoring session on one call: the media side of listen,
// whisper and barge (docs/protocol.md, "Monitoring").
//
// It is CallSession's flow with `monitor_call` instead of `join_call`: the
// server offers a peer of the supervisor's own (a `subscribe` slot for every
// source of the customer and the agent, one `publish` slot for the
// supervisor's microphone); each offer is answered with `send_answer` and
// local candidates are trickled with `add_ice_candidate`, under the session's
// `peer_id`. While listening the microphone is not even opened: the publish
// slot carries nothing (replaceTrack(null)); the first whisper or barge opens
// it, and going back to listening stops it again (the browser's microphone
// light goes off).

import { openLocalMedia } from "./local-media.js";
import { MediaPeer } from "./media-peer.js";

// A peer that does not connect in this long is given up and asked for again.
const CONNECT_TIMEOUT_MS = 12000;
// A "disconnected" peer often recovers by itself; after this long it is replaced.
const DISCONNECTED_GRACE_MS = 3000;
// How often a failed peer is replaced before the session gives up.
const MAX_RESTARTS = 2;

export const MODES = ["listen", "whisper", "barge"];

/**
 * Events:
 * - `state` {state}: "starting" | "connecting" | "connected" | "reconnecting" | "closed".
 * - `mode` {mode}: the mode in force changed (the server's ack says so).
 * - `track` {slot, track}: a remote track (the customer's or the agent's), labelled by slot.
 * - `monitors` {monitors}: who monitors the call, from monitor_call's ack.
 * - `ended` {reason}: the session is over (closed here, or ended by the server).
 * - `error` {error, action}: something the supervisor should read about.
 */
export class MonitorSession extends EventTarget {
  /**
   * @param {import("./signal.js").Signal} signal
   * @param {string} callId
   */
  constructor(signal, callId) {
    super();
    this.signal = signal;
    this.callId = callId;
    this.participantId = null;
    this.peerId = null;
    this.peer = null;
    this.mode = null;
    this.state = "starting";
    this.localTracks = new Map(); // "microphone" -> track, only while whispering or barging
    this.restarts = 0;
    this._closed = false;
    this._starting = null;
    this._iceServers = [];
    this._offers = Promise.resolve();
    this._timers = new Map();
    this._unsubscribe = [
      this._listen("media_offer", (offer) => this._onOffer(offer)),
      this._listen("media_failed", (failed) => {
        if (failed?.call_id === this.callId && this.peer) this._restart("media_failed");
      }),
      this._listen("monitor_ended", (ended) => {
        if (ended?.call_id === this.callId && ended.participant_id === this.participantId) this.close(ended.reason);
      }),
    ];
  }

  get closed() {
    return this._closed;
  }

  get microphoneOn() {
    return this.localTracks.has("microphone");
  }

  /** Begin monitoring in `mode` (monitor_call); the offer that follows is answered. */
  start(mode = "listen") {
    if (!this._starting) {
      this._starting = this._start(mode).finally(() => {
        this._starting = null;
      });
    }
    return this._starting;
  }

  /**
   * Switch mode. Before a whisper or a barge the microphone is opened and put on the
   * publish slot; for listening it is taken off (nothing is sent) and stopped.
   */
  async setMode(mode) {
    if (!MODES.includes(mode)) throw new Error(`unknown monitoring mode ${mode}`);
    if (this._starting) await this._starting;
    if (this._closed) return;
    const speaking = mode !== "listen";
    if (mode === this.mode && speaking === this.microphoneOn) return;
    if (speaking) {
      await this._openMicrophone();
      let ack;
      try {
        ack = await this._request("set_monitor_mode", { call_id: this.callId, mode });
      } catch (error) {
        // Refused (the audit log, say): still listening, so send nothing again.
        if (this.mode === "listen") await this._closeMicrophone();
        throw error;
      }
      this._setMode(ack.mode);
      return;
    }
    // Silent first: the supervisor asked not to be heard, so stop sending at once.
    await this._closeMicrophone();
    const ack = await this._request("set_monitor_mode", { call_id: this.callId, mode });
    this._setMode(ack.mode);
  }

  /** Stop monitoring (stop_monitoring); the session is closed whatever the answer. */
  async stop() {
    if (this._closed) return;
    const started = Boolean(this.participantId);
    this.close("stopped");
    if (started) await this.signal.request("stop_monitoring", { call_id: this.callId });
  }

  /** Close the peer and the microphone here; safe to call twice. */
  close(reason = "stopped") {
    if (this._closed) return;
    this._closed = true;
    for (const timer of this._timers.values()) clearTimeout(timer);
    this._timers.clear();
    for (const off of this._unsubscribe) off();
    if (this.peer) this.peer.close();
    this.peer = null;
    for (const track of this.localTracks.values()) track.stop();
    this.localTracks.clear();
    this._setState("closed");
    this._emit("ended", { reason });
  }

  // -- internals ---------------------------------------------------------

  async _start(mode) {
    this._setState(this.restarts ? "reconnecting" : "starting");
    let ack;
    try {
      if (mode !== "listen") await this._openMicrophone();
      if (this._closed) return;
      ack = await this._request("monitor_call", { call_id: this.callId, mode });
    } catch (error) {
      if (!this._closed) this.close("refused");
      throw error;
    }
    if (this._closed) {
      // Closed while asking (the panel was closed): the server's session must end too.
      this.signal.request("stop_monitoring", { call_id: this.callId }).catch(() => {});
      return;
    }
    this.participantId = ack.participant_id;
    this.peerId = ack.peer_id;
    this._iceServers = ack.ice_servers || [];
    this._setMode(ack.mode);
    this._emit("monitors", { monitors: ack.monitors || [] });
    this._setState("connecting");
    this._arm("connect", CONNECT_TIMEOUT_MS, () => this._restart("connect_timeout"));
  }

  /** The peer failed: ask for a fresh one, in the same mode. */
  async _restart(reason) {
    if (this._closed || this._starting) return;
    if (this.restarts >= MAX_RESTARTS) {
      this._emit("error", { error: { code: "media_error", message: `the audio connection failed (${reason})` }, action: "monitor" });
      await this.stop().catch(() => {});
      return;
    }
    console.info(`kotha: monitoring again (${reason})`);
    this.restarts += 1;
    const mode = this.mode || "listen";
    if (this.peer) this.peer.close();
    this.peer = null;
    this.participantId = null;
    this.peerId = null;
    try {
      // Asked again from this socket, monitor_call gives the same session a fresh peer
      // (nothing new is audited); from a new socket it starts a new session.
      await this.start(mode);
    } catch (error) {
      this._emit("error", { error, action: "monitor" });
    }
  }

  _onOffer(offer) {
    if (offer?.call_id !== this.callId) return;
    // One offer at a time: setRemoteDescription/createAnswer must not interleave.
    this._offers = this._offers
      .then(() => this._answer(offer))
      .catch((error) => {
        console.warn("kotha: answering a monitoring offer failed", error);
        if (!this._closed) this._restart("answer_failed");
      });
  }

  async _answer(offer) {
    // The offer can overtake monitor_call's ack, which names its peer.
    if (this._starting) await this._starting.catch(() => {});
    if (this._closed || offer.peer_id !== this.peerId) return; // not this session's peer
    if (!this.peer || this.peer.peerId !== offer.peer_id) this._newPeer(offer.peer_id);
    const peer = this.peer;
    const description = await peer.answer(offer);
    if (peer !== this.peer) return;
    await this.signal.request("send_answer", {
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
    peer.addEventListener("candidate", (event) => {
      if (peer !== this.peer) return;
      this.signal
        .request("add_ice_candidate", { call_id: this.callId, peer_id: peer.peerId, candidate: event.detail.candidate })
        .catch((error) => {
          if (peer === this.peer) console.warn("kotha: ICE candidate refused", error);
        });
    });
    peer.addEventListener("statechange", (event) => this._onPeerState(peer, event.detail.state));
  }

  _onPeerState(peer, state) {
    if (peer !== this.peer || this._closed) return;
    if (state === "connected") {
      this._disarm("connect");
      this._disarm("disconnected");
      this.restarts = 0;
      this._setState("connected");
    } else if (state === "failed") {
      this._restart("ice_failed");
    } else if (state === "disconnected") {
      this._setState("reconnecting");
      this._arm("disconnected", DISCONNECTED_GRACE_MS, () => {
        if (peer === this.peer && peer.connectionState !== "connected") this._restart("ice_disconnected");
      });
    }
  }

  async _openMicrophone() {
    if (this.localTracks.has("microphone")) return;
    const tracks = await openLocalMedia("audio");
    const track = tracks.get("microphone");
    if (this._closed) {
      track?.stop();
      return;
    }
    this.localTracks.set("microphone", track);
    if (this.peer) await this.peer.setSource("microphone", track);
  }

  async _closeMicrophone() {
    const track = this.localTracks.get("microphone");
    this.localTracks.delete("microphone");
    if (this.peer) await this.peer.setSource("microphone", null);
    track?.stop();
  }

  async _request(event, payload) {
    return this.signal.request(event, payload);
  }

  _setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this._emit("mode", { mode });
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
