// The media side of one call for one participant: join, answer every offer,
// trickle ICE, keep the connection alive, and the in-call controls (mute,
// camera, screen share, hang up). Shared by the customer page and the agent
// console; the pages only draw what it reports.

import { PeerSession } from "./peer-session.js";
import { StatsReporter } from "./stats-report.js";
import { ClientEvent, ServerEvent } from "./events.js";
// A peer that never reaches "connected" (ICE checks that go nowhere) is
// replaced after this long; Chromium itself takes ~30 s to declare it failed.
const CONNECT_TIMEOUT_MS = 12000;
// A rejoin whose ack takes longer than this suggests a dead socket that
// socket.io has not noticed yet: open a new one rather than wait.
const REJOIN_ACK_TIMEOUT_MS = 5000;
// Backoff between failed join attempts (a failed peer has its own: PeerSession).
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
// Errors after which joining again cannot help: the call is over or not ours.
const FINAL_JOIN_ERRORS = new Set(["call_state", "not_found", "forbidden", "token_expired", "token_invalid"]);

/**
 * Events:
 * - `state` {state}: "joining" | "connecting" | "connected" | "reconnecting" | "closed".
 * - `retry` {reason, delayMs}: the media failed; a fresh peer is asked for at `retryAt`.
 * - `joined` {participantId, call, monitors}: a join_call ack (`monitors`: the agent's only, else null).
 * - `track` {slot, track}: a remote track (again after every fresh peer).
 * - `local` {}: a local control changed (muted, camera, sharing).
 * - `error` {error, action}: something the user should read about.
 * - `join_refused` {error}: the server will not let us join (the call ended?).
 */
export class CallSession extends PeerSession {
  /**
   * @param {import("./signal.js").Signal} signal
   * @param {string} callId
   * @param {Map<string, MediaStreamTrack>} localTracks microphone and, in video calls, camera.
   */
  constructor(signal, callId, localTracks) {
    super(signal, callId, localTracks, "joining");
    this.participantId = null;
    this.muted = false;
    this.cameraOff = false;
    this.sharing = false;
    this.joinCount = 0;
    this._joining = null;
    this._retry = 0;
    // The page's own getStats() summary goes to the server every few seconds.
    this.stats = new StatsReporter(signal, callId, () => this.peer?.pc ?? null);
    this.stats.start();
    this._unsubscribe.push(
      this._listen(ServerEvent.MEDIA_FAILED, (msg) => {
        if (msg.call_id === this.callId) this._peerFailed("media_failed");
      }),
      this._listen("disconnected", () => this._setState("reconnecting")),
    );
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
   * Replace our peer with a fresh one now (the server has no ICE restart). When
   * the socket is down the reconnect handler of the page calls this again.
   */
  rejoin(reason) {
    if (this._closed) return;
    this._cancelRetry();
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
      ack = await this.signal.request(ClientEvent.START_SCREEN_SHARE, { call_id: this.callId });
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
    await this.signal.request(ClientEvent.STOP_SCREEN_SHARE, { call_id: this.callId });
  }

  async hangUp() {
    await this.signal.request(ClientEvent.HANG_UP, { call_id: this.callId });
  }

  /** Close the peer and stop local tracks; safe to call twice. */
  close() {
    if (this._closed) return;
    this._shutDown();
    this.stats.stop();
    for (const track of this.localTracks.values()) track.stop();
    this._setState("closed");
  }

  // -- internals ---------------------------------------------------------

  async _join(reason) {
    this._setState(reason === "start" ? "joining" : "reconnecting");
    try {
      const timeoutMs = reason === "start" ? undefined : REJOIN_ACK_TIMEOUT_MS;
      const ack = await this.signal.request(ClientEvent.JOIN_CALL, { call_id: this.callId }, { timeoutMs });
      if (this._closed) return;
      this.joinCount += 1;
      this.participantId = ack.participant_id;
      this._expect(ack);
      this._retry = 0;
      this._setState("connecting");
      this._emit("joined", { participantId: ack.participant_id, call: ack.call, monitors: ack.monitors ?? null });
      // If no offer is answered and connected in time, try again.
      this._arm("connect", CONNECT_TIMEOUT_MS, () => this._peerFailed("connect_timeout"));
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

  async _dropScreen(track) {
    this.localTracks.delete("screen");
    track.stop();
    this.sharing = false;
    this._emit("local", {});
    if (this.peer) await this.peer.setSource("screen", null);
  }

  async _trackState(kind, enabled) {
    try {
      await this.signal.request(ClientEvent.SET_TRACK_STATE, { call_id: this.callId, kind, enabled });
    } catch (error) {
      this._emit("error", { error, action: "track_state" });
    }
  }

  _tracksOf(source) {
    const track = this.localTracks.get(source);
    return track ? [track] : [];
  }

  // -- PeerSession -------------------------------------------------------

  _replace(reason) {
    this.rejoin(reason);
  }

  _pending() {
    return this._joining;
  }
}
