// The call panel's monitoring controls: Listen, Whisper, Barge in and Stop,
// what the mode in force means in words (a live region, so a screen reader
// says it when it changes), how loud the customer and the agent are as heard,
// and their camera or screen share if they send one. Only supervisors monitor:
// for an admin the controls are disabled and the panel says why.
//
// The media itself is a MonitorSession (monitor-session.js).

import { LevelMeter } from "./level-meter.js";
import { MonitorSession } from "./monitor-session.js";
import { RemoteViews } from "./remote-views.js";
import { MODE_MEANING, MODE_NAMES, MONITOR_END_WORDS } from "./floor-words.js";

// The meter bars redraw ten times a second: smooth enough, cheap enough.
const METER_INTERVAL_MS = 100;
const CONNECTION_WORDS = {
  starting: "Connecting…",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
};
const ADMIN_WORDS =
  "Admins watch and audit calls; only supervisors listen in, whisper or barge in. The transcript and quality stay live here.";

/**
 * Events:
 * - `change` {}: the session or its mode changed (the floor shows "You · listening").
 * - `notice` {text}: something the supervisor should read (the session ended, and why).
 * - `error` {error}: a refused action, to show in words.
 */
export class MonitorControls extends EventTarget {
  /**
   * @param {HTMLElement} root `section#monitor`
   * @param {{roleOf: (participantId: string) => string | null}} options whose a slot's media is
   */
  constructor(root, { roleOf }) {
    super();
    this.root = root;
    this.roleOf = roleOf;
    this.signal = null;
    this.role = null; // the signed-in person's role: "supervisor" or "admin"
    this.callId = null;
    this.session = null;
    this.busy = false;
    this.soundBlocked = false;
    this.others = []; // other supervisors' sessions on the call (monitor_updated)
    this.buttons = {
      listen: root.querySelector("#mode-listen"),
      whisper: root.querySelector("#mode-whisper"),
      barge: root.querySelector("#mode-barge"),
      none: root.querySelector("#mode-stop"),
    };
    this.words = root.querySelector("#monitor-words");
    this.why = root.querySelector("#monitor-why");
    this.othersLine = root.querySelector("#monitor-others");
    this.conn = root.querySelector("#monitor-conn");
    this.metersBox = root.querySelector("#monitor-meters");
    this.soundButton = root.querySelector("#enable-sound");
    this.stage = root.querySelector("#monitor-stage");
    const audio = root.querySelector("#monitor-audio");
    const video = (id) => root.querySelector(`#video-${id}`);
    this.views = {
      customer: new RemoteViews(audio, video("customer-camera"), video("customer-screen")),
      agent: new RemoteViews(audio, video("agent-camera"), video("agent-screen")),
    };
    for (const views of Object.values(this.views)) {
      views.addEventListener("autoplay_blocked", () => {
        this.soundBlocked = true;
        this.render();
      });
    }
    this.meters = { customer: new LevelMeter(), agent: new LevelMeter() };
    this.bars = { customer: root.querySelector("#level-customer"), agent: root.querySelector("#level-agent") };
    for (const [mode, button] of Object.entries(this.buttons)) {
      button.addEventListener("click", () => {
        // A click is a user gesture: the moment sound and the meters may start.
        this._resumeSound();
        this.choose(mode);
      });
    }
    this.soundButton.addEventListener("click", async () => {
      await this._resumeSound();
      this.soundBlocked = false;
      this.render();
    });
    setInterval(() => this._drawMeters(), METER_INTERVAL_MS);
    this.render();
  }

  /** The socket and the role after (re)connecting. */
  setSignal(signal, role) {
    this.signal = signal;
    this.role = role;
    this.render();
  }

  get mayMonitor() {
    return this.role === "supervisor";
  }

  get mode() {
    return this.session && !this.session.closed ? this.session.mode || null : null;
  }

  /** Our session's participant id (the floor marks that monitor as "You"). */
  get participantId() {
    return this.session && !this.session.closed ? this.session.participantId : null;
  }

  /** A call opened in the panel (null: none); a session on another call is closed here. */
  bind(callId) {
    if (this.callId === callId) return;
    this._endSession(null);
    this.callId = callId;
    this.others = [];
    this.render();
  }

  /** Listen, whisper or barge (starting a session if there is none), or "none" to stop. */
  async choose(mode) {
    if (!this.callId || !this.signal || this.busy) return;
    if (mode !== "none" && !this.mayMonitor) return;
    this.busy = true;
    this.render();
    try {
      if (mode === "none") {
        await this.session?.stop();
      } else if (!this.session || this.session.closed) {
        await this._startSession(mode);
      } else {
        await this.session.setMode(mode);
      }
    } catch (error) {
      this._emit("error", { error });
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /** The server ended our session (or the call ended): close it here and say why. */
  end(reason) {
    this._endSession(reason);
  }

  /** Who monitors the call (monitor_updated, watch_call's ack). */
  setMonitors(monitors) {
    this.others = (monitors || []).filter((m) => m.participant_id !== this.participantId);
    this.render();
  }

  /** The loudest of what is heard now (RMS 0..1). */
  level() {
    return Math.max(this.meters.customer.level(), this.meters.agent.level());
  }

  async _startSession(mode) {
    const session = new MonitorSession(this.signal, this.callId);
    this.session = session;
    session.addEventListener("state", () => this.render());
    session.addEventListener("retry", () => this.render());
    session.addEventListener("mode", () => {
      this.render();
      this._emit("change", {});
    });
    session.addEventListener("monitors", (event) => this.setMonitors(event.detail.monitors));
    session.addEventListener("track", (event) => this._showTrack(event.detail));
    session.addEventListener("error", (event) => this._emit("error", { error: event.detail.error }));
    session.addEventListener("ended", (event) => {
      if (this.session !== session) return;
      this._clearMedia();
      this.session = null;
      const reason = event.detail.reason;
      // A refused start is said by its error; the supervisor's own Stop needs no notice.
      if (reason && reason !== "refused" && reason !== "stopped") {
        this._emit("notice", { text: MONITOR_END_WORDS[reason] || "Your listening stopped." });
      }
      this.render();
      this._emit("change", {});
    });
    await session.start(mode);
  }

  _endSession(reason) {
    const session = this.session;
    if (!session) return;
    this.session = null;
    this._clearMedia();
    session.close(reason || "stopped");
    if (reason && reason !== "stopped") {
      this._emit("notice", { text: MONITOR_END_WORDS[reason] || "Your listening stopped." });
    }
    this.render();
    this._emit("change", {});
  }

  _showTrack({ slot, track }) {
    const role = this.roleOf(slot.participant_id) === "agent" ? "agent" : "customer";
    this.views[role].show({ slot, track });
    if (slot.kind === "audio") {
      this.meters[role].attach(track);
      if (this.meters[role].suspended) this.soundBlocked = true;
    } else {
      // A video m-line exists before anything is sent on it: show it while frames come.
      const figure = this.root.querySelector(`#view-${role}-${slot.source === "screen" ? "screen" : "camera"}`);
      const update = () => {
        figure.hidden = track.muted || track.readyState === "ended";
        this.stage.hidden = !this.stage.querySelector(".view:not([hidden])");
      };
      track.addEventListener("mute", update);
      track.addEventListener("unmute", update);
      track.addEventListener("ended", update);
      update();
    }
    this.render();
  }

  _clearMedia() {
    for (const views of Object.values(this.views)) views.clear();
    for (const meter of Object.values(this.meters)) meter.detach();
    for (const figure of this.stage.querySelectorAll(".view")) figure.hidden = true;
    this.stage.hidden = true;
    this.soundBlocked = false;
  }

  async _resumeSound() {
    await Promise.allSettled([
      ...Object.values(this.views).map((views) => views.unlock()),
      ...Object.values(this.meters).map((meter) => meter.resume()),
    ]);
  }

  // -- drawing -----------------------------------------------------------

  render() {
    const mode = this.mode;
    const shown = mode || "none";
    this.root.dataset.mode = shown;
    const usable = Boolean(this.callId && this.signal?.connected && this.mayMonitor);
    for (const [name, button] of Object.entries(this.buttons)) {
      if (name === "none") {
        button.disabled = this.busy || !this.session;
        continue;
      }
      button.setAttribute("aria-pressed", String(mode === name));
      button.disabled = this.busy || !usable;
    }
    const text = mode ? `${MODE_NAMES[mode]}: ${MODE_MEANING[mode]}` : MODE_MEANING.none;
    const micNote = mode && mode !== "listen" && !this.session?.microphoneOn ? " Your microphone is not open yet." : "";
    if (this.words.textContent !== text + micNote) this.words.textContent = text + micNote;
    this.words.dataset.mode = shown;
    this.why.hidden = this.mayMonitor || !this.role;
    this.why.textContent = this.mayMonitor ? "" : ADMIN_WORDS;
    this.othersLine.hidden = this.others.length === 0;
    this.othersLine.textContent = this.others.length
      ? `Also monitoring: ${this.others.map((m) => `${m.name} (${MODE_NAMES[m.mode]?.toLowerCase() || m.mode})`).join(", ")}`
      : "";
    this._renderConnection();
    this.metersBox.hidden = !this.session;
    this.soundButton.hidden = !this.soundBlocked;
  }

  /** The audio connection in words, with the countdown while a failed one waits to be tried again. */
  _renderConnection() {
    const state = this.session?.state;
    const seconds = this.session?.retryInSeconds() ?? null;
    this.conn.hidden = !this.session || !state || state === "closed";
    this.conn.dataset.state = state || "";
    const text = seconds === null ? CONNECTION_WORDS[state] || "" : `Reconnecting the audio in ${seconds} s…`;
    if (this.conn.textContent !== text) this.conn.textContent = text;
  }

  _drawMeters() {
    if (!this.session) return;
    this._renderConnection(); // the retry countdown; writes only when the words change
    for (const [role, meter] of Object.entries(this.meters)) {
      const level = meter.level();
      // RMS of speech sits around 0.01-0.2; a square-root scale makes it visible.
      this.bars[role].style.width = `${Math.min(100, Math.sqrt(level) * 180)}%`;
      this.bars[role].parentElement.setAttribute("aria-valuenow", level.toFixed(3));
    }
  }

  snapshot() {
    return {
      mayMonitor: this.mayMonitor,
      mode: this.mode,
      state: this.session?.state ?? null,
      participantId: this.participantId,
      peerState: this.session?.peer?.connectionState ?? null,
      microphone: Boolean(this.session?.microphoneOn),
      busy: this.busy,
      words: this.words.textContent,
      levels: { customer: this.meters.customer.level(), agent: this.meters.agent.level() },
      others: this.others.map((m) => ({ name: m.name, mode: m.mode })),
    };
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
