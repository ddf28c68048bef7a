// The media side of one call for one participant: join, answer every offer,
// trickle ICE, keep the connection alive, and the in-call controls (mute,
// camera, screen share, hang up). Shared by the customer page and the agent
// console; the pages only draw what it reports.

import { MediaPeer } from "./media-peer.js";
import { StatsReporter } from "./stats-report.js";

// A peer that stays "disconnected" this long is given up and replaced.
const DISCONNECTED_GRACE_MS = 3000;
// A peer that never reaches "connected" (ICE checks that go nowhere) is
// replaced after this long; Chromium itself takes ~30 s to declare it failed.
const CONNECT_TIMEOUT_MS = 12000;
// A rejoin whose ack takes longer than this suggests a dead socket that
// socket.io has not noticed yet: open a new one rather than wait.
const REJOIN_ACK_TIMEOUT_MS = 5000;
// Backoff between failed join attempts.
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
// Errors after which joining again cannot help: the call is over or not ours.
const FINAL_JOIN_ERRORS = new Set(["call_state", "not_found", "forbidden", "token_expired", "token_invalid"]);

/**
 * Events:
 * - `state` {state}: "joining" | "connecting" | "connected" | "reconnecting" | "closed".
 * - `joined` {participantId, call, monitors}: a join_call ack (`monitors`: the agent's only, else null).
 * - `track` {slot, track}: a remote track (again after every fresh peer).
 * - `local` {}: a local control changed (muted, camera, sharing).
 * - `error` {error, action}: something the user should read about.
 * - `join_refused` {error}: the server will not let us join (the call ended?).
 */
export class CallSession extends EventTarget {
  /**
   * @param {import("./signal.js").Signal} signal
   * @param {string} callId
   * @param {Map<string, MediaStreamTrack>} localTracks microphone and, in video calls, camera.
   */
  constructor(signal, callId, localTracks) {
    super();
    this.signal = signal;
    this.callId = callId;
    this.localTracks = localTracks;
    this.participantId = null;
    this.peer = null;
    this.expectedPeerId = null;
    this.state = "joining";
    this.muted = false;
    this.cameraOff = false;
    this.sharing = false;
    this.joinCount = 0;
    this._closed = false;
    this._joining = null;
    this._offers = Promise.resolve();
    this._retry = 0;
    this._timers = new Map();
    // The page's own getStats() summary goes to the server every few seconds.
    this.stats = new StatsReporter(signal, callId, () => this.peer?.pc ?? null);
    this.stats.start();
    this._unsubscribe = [
      this._listen("media_offer", (offer) => this._onOffer(offer)),
      this._listen("media_failed", (msg) => {
        if (msg.call_id === this.callId) this.rejoin("media_failed");
      }),
      this._listen("disconnected", () => this._setState("reconnecting")),
    ];
  }

  /** Start media (join_call); the offer that follows is answered by _onOffer. */
  join(reason = "start") {
    if (this._closed) return Promise.resolve();
    if (this._joining) return this._joining;
    this._joining = this._join(reason).finally(() => {
      this._joining = null;
    });
    return this._joining;
  }

  /**
   * Replace our peer with a fresh one (the server has no ICE restart). When
   * the socket is down the reconnect handler of the page calls this again.
   */
  rejoin(reason) {
    if (this._closed) return;
    this._setState("reconnecting");
    if (!this.signal.connected) return;
    console.info(`kotha: rejoining the call (${reason})`);
    this.join(reason);
  }

  async setMuted(muted) {
    this.muted = muted;
    for (const track of this._tracksOf("microphone")) track.enabled = !muted;
    this._emit("local", {});
    await this._trackState("audio", !muted);
  }

  async setCameraOff(off) {
    this.cameraOff = off;
    for (const track of this._tracksOf("camera")) track.enabled = !off;
    this._emit("local", {});
    await this._trackState("video", !off);
  }

  /** Share a screen or window; the browser asks which. */
  async startScreenShare() {
    if (this.sharing) return;
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    // The browser's own "stop sharing" bar ends the track.
    track.addEventListener("ended", () => this.stopScreenShare());
    // Set before asking, so that a new offer (renegotiating) finds the track.
    this.localTracks.set("screen", track);
    this.sharing = true;
    this._emit("local", {});
    let ack;
    try {
      ack = await this.signal.request("start_screen_share", { call_id: this.callId });
    } catch (err) {
      await this._dropScreen(track);
      throw err;
    }
    if (!ack.renegotiating && this.peer) {
      // The m-line of an earlier share is still there: reuse it.
      await this.peer.setSource("screen", track);
    }
  }

  async stopScreenShare() {
    const track = this.localTracks.get("screen");
    if (!track) return;
    await this._dropScreen(track);
    await this.signal.request("stop_screen_share", { call_id: this.callId });
  }

  async hangUp() {
    await this.signal.request("hang_up", { call_id: this.callId });
  }

  /** Close the peer and stop local tracks; safe to call twice. */
  close() {
    if (this._closed) return;
    this._closed = true;
    for (const timer of this._timers.values()) clearTimeout(timer);
    this._timers.clear();
    for (const off of this._unsubscribe) off();
    this.stats.stop();
    if (this.peer) this.peer.close();
    this.peer = null;
    for (const track of this.localTracks.values()) track.stop();
    this._setState("closed");
  }

  // -- internals ---------------------------------------------------------

  async _join(reason) {
    this._setState(reason === "start" ? "joining" : "reconnecting");
    try {
      const timeoutMs = reason === "start" ? undefined : REJOIN_ACK_TIMEOUT_MS;
      const ack = await this.signal.request("join_call", { call_id: this.callId }, { timeoutMs });
      if (this._closed) return;
      this.joinCount += 1;
      this.participantId = ack.participant_id;
      this.expectedPeerId = ack.peer_id;
      this._iceServers = ack.ice_servers;
      this._retry = 0;
      this._setState("connecting");
      this._emit("joined", { participantId: ack.participant_id, call: ack.call, monitors: ack.monitors ?? null });
      // If no offer is answered and connected in time, try again.
      this._arm("connect", CONNECT_TIMEOUT_MS, () => this.rejoin("connect_timeout"));
    } catch (error) {
      if (this._closed) return;
      if (FINAL_JOIN_ERRORS.has(error.code)) {
        this._emit("join_refused", { error });
        return;
      }
      if (error.code === "timeout" && reason !== "start") {
        // The page rejoins from its `connected` handler once the new socket is up.
        this.signal.reconnect();
        return;
      }
      const delay = RETRY_DELAYS_MS[Math.min(this._retry, RETRY_DELAYS_MS.length - 1)];
      this._retry += 1;
      this._emit("error", { error, action: "join" });
      this._arm("retry", delay, () => this.rejoin(`retry after ${error.code}`));
    }
  }

  _onOffer(offer) {
    if (offer.call_id !== this.callId) return;
    // One offer at a time: setRemoteDescription/createAnswer must not interleave.
    this._offers = this._offers
      .then(() => this._answer(offer))
      .catch((error) => {
        console.warn("kotha: answering an offer failed", error);
        if (!this._closed) this.rejoin("answer_failed");
      });
  }

  async _answer(offer) {
    // The offer can overtake the join ack that names its peer.
    if (this._joining) await this._joining;
    if (this._closed || offer.peer_id !== this.expectedPeerId) return; // an older peer's offer
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
    peer.addEventListener("candidate", (event) => this._sendCandidate(peer, event.detail.candidate));
    peer.addEventListener("statechange", (event) => this._onPeerState(peer, event.detail.state));
  }

  _sendCandidate(peer, candidate) {
    if (peer !== this.peer) return;
    this.signal
      .request("add_ice_candidate", { call_id: this.callId, peer_id: peer.peerId, candidate })
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
      this._setState("connected");
    } else if (state === "failed") {
      this.rejoin("ice_failed");
    } else if (state === "disconnected") {
      // Often a short blip that ICE recovers from by itself; give it a moment.
      this._setState("reconnecting");
      this._arm("disconnected", DISCONNECTED_GRACE_MS, () => {
        if (peer === this.peer && peer.connectionState !== "connected") this.rejoin("ice_disconnected");
      });
    }
  }

  async _dropScreen(track) {
    this.localTracks.delete("screen");
    track.stop();
    this.sharing = false;
    this._emit("local", {});
    if (this.peer) await this.peer.setSource("screen", null);
  }

  async _trackState(kind, enabled) {
    try {
      await this.signal.request("set_track_state", { call_id: this.callId, kind, enabled });
    } catch (error) {
      this._emit("error", { error, action: "track_state" });
    }
  }

  _tracksOf(source) {
    const track = this.localTracks.get(source);
    return track ? [track] : [];
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
