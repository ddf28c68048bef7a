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
import { PeerSession } from "./peer-session.js";
import { ClientEvent, ServerEvent } from "./events.js";

// A peer that does not connect in this long is given up and asked for again.
const CONNECT_TIMEOUT_MS = 12000;
// How often a failed peer is replaced (after PeerSession's growing pauses) before the
// session gives up; a connection that held for a while starts the count again.
const MAX_RESTARTS = 2;

export const MODES = ["listen", "whisper", "barge"];

/**
 * Events:
 * - `state` {state}: "starting" | "connecting" | "connected" | "reconnecting" | "closed".
 * - `retry` {reason, delayMs}: the audio failed; a fresh peer is asked for at `retryAt`.
 * - `mode` {mode}: the mode in force changed (the server's ack says so).
 * - `track` {slot, track}: a remote track (the customer's or the agent's), labelled by slot.
 * - `monitors` {monitors}: who monitors the call, from monitor_call's ack.
 * - `ended` {reason}: the session is over (closed here, or ended by the server).
 * - `error` {error, action}: something the supervisor should read about.
 */
export class MonitorSession extends PeerSession {
  /**
   * @param {import("./signal.js").Signal} signal
   * @param {string} callId
   */
  constructor(signal, callId) {
    // localTracks: "microphone" -> track, only while whispering or barging.
    super(signal, callId, new Map(), "starting");
    this.participantId = null;
    this.mode = null;
    this.restarts = 0;
    this._starting = null;
    this._unsubscribe.push(
      this._listen(ServerEvent.MEDIA_FAILED, (failed) => {
        if (failed?.call_id === this.callId && this.peer) this._peerFailed("media_failed");
      }),
      this._listen(ServerEvent.MONITOR_ENDED, (ended) => {
        if (ended?.call_id === this.callId && ended.participant_id === this.participantId) this.close(ended.reason);
      }),
    );
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
        ack = await this._request(ClientEvent.SET_MONITOR_MODE, { call_id: this.callId, mode });
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
    const ack = await this._request(ClientEvent.SET_MONITOR_MODE, { call_id: this.callId, mode });
    this._setMode(ack.mode);
  }

  /** Stop monitoring (stop_monitoring); the session is closed whatever the answer. */
  async stop() {
    if (this._closed) return;
    const started = Boolean(this.participantId);
    this.close("stopped");
    if (started) await this.signal.request(ClientEvent.STOP_MONITORING, { call_id: this.callId });
  }

  /** Close the peer and the microphone here; safe to call twice. */
  close(reason = "stopped") {
    if (this._closed) return;
    this._shutDown();
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
      ack = await this._request(ClientEvent.MONITOR_CALL, { call_id: this.callId, mode });
    } catch (error) {
      if (!this._closed) this.close("refused");
      throw error;
    }
    if (this._closed) {
      // Closed while asking (the panel was closed): the server's session must end too.
      this.signal.request(ClientEvent.STOP_MONITORING, { call_id: this.callId }).catch(() => {});
      return;
    }
    this.participantId = ack.participant_id;
    this._expect(ack);
    this._setMode(ack.mode);
    this._emit("monitors", { monitors: ack.monitors || [] });
    this._setState("connecting");
    this._arm("connect", CONNECT_TIMEOUT_MS, () => this._peerFailed("connect_timeout"));
  }

  // -- PeerSession -------------------------------------------------------

  _pending() {
    return this._starting;
  }

  _stable() {
    this.restarts = 0;
  }

  /** The peer failed: after the pause a fresh one, unless it failed too often (then stop). */
  _peerFailed(reason) {
    if (this._closed || this._starting) return;
    if (this.restarts >= MAX_RESTARTS) {
      this._giveUp(reason);
      return;
    }
    super._peerFailed(reason);
  }

  async _giveUp(reason) {
    this._emit("error", { error: { code: "media_error", message: `the audio connection failed (${reason})` }, action: "monitor" });
    await this.stop().catch(() => {});
  }

  /** Ask for a fresh peer, in the same mode. */
  async _replace(reason) {
    if (this._closed || this._starting) return;
    console.info(`kotha: monitoring again (${reason})`);
    this.restarts += 1;
    const mode = this.mode || "listen";
    if (this.peer) this.peer.close();
    this.peer = null;
    this.participantId = null;
    this.expectedPeerId = null;
    try {
      // Asked again from this socket, monitor_call gives the same session a fresh peer
      // (nothing new is audited); from a new socket it starts a new session.
      await this.start(mode);
    } catch (error) {
      this._emit("error", { error, action: "monitor" });
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
}
