// The dashboard's call panel: one live call up close. Opening it watches the
// call (`watch_call`: audited, no media) for its live transcript, the
// customer's mood and the quality of both lines; the monitoring controls
// (floor-monitor-controls.js) listen in on it. Closing it unwatches the call,
// which also ends any monitoring of it.

import { MonitorControls } from "./floor-monitor-controls.js";
import { QualityTrend } from "./floor-quality-chart.js";
import { drawHold, recordingBadge, reasonItems } from "./floor-calls.js";
import { setText } from "./floor-dom.js";
import {
  ALERT_SOURCE_WORDS,
  ATTENTION_WORDS,
  CALL_END_WORDS,
  MEDIA_WORDS,
  ROLE_WORDS,
  element,
  languageWords,
} from "./floor-words.js";
import { clock } from "./ui.js";
import { SentimentGauge } from "./sentiment-gauge.js";
import { TranscriptAlerts, TranscriptPanel } from "./transcript-panel.js";
import { ClientEvent, ServerEvent } from "./events.js";

// The live facts of a watched call that the panel shows (signal.socket.on: signal.js does not re-dispatch them).
export const WATCHED_EVENTS = [
  ServerEvent.QUALITY_UPDATED,
  ServerEvent.QUALITY_ALERT,
  ServerEvent.TRANSCRIPTION_STATE,
  ServerEvent.TRANSCRIPT_PARTIAL,
  ServerEvent.TRANSCRIPT_UTTERANCE,
  ServerEvent.TRANSCRIPT_ALERT,
];
// Transcript and mood alerts are shown by TranscriptAlerts; the panel's own list has the rest.
const PANEL_ALERT_SOURCES = new Set(["quality", "connection"]);
// The panel lists this many alerts before "show all", so the controls stay in reach on a phone.
const PANEL_ALERTS = 3;

/**
 * Events:
 * - `opened` {callId}: the watch_call ack came.
 * - `refused` {callId, error}: the call cannot be watched (ended, audit log down...).
 * - `change` {}: the monitoring session or mode changed.
 * - `notice` {text}, `error` {error}: for the page's banners.
 */
export class CallPanel extends EventTarget {
  /**
   * @param {HTMLElement} root `section#call-panel`
   * @param {import("./floor-clock.js").ServerClock} serverClock
   */
  constructor(root, serverClock) {
    super();
    this.root = root;
    this.clock = serverClock;
    this.signal = null;
    this.callId = null;
    this.call = null; // the call (watch_call's ack, call_updated, participant news)
    this.row = null; // the call's floor row
    this.watching = false;
    this.alertsExpanded = false;
    this.transcript = new TranscriptPanel(root.querySelector("#transcript"), { viewer: "staff" });
    this.transcriptAlerts = new TranscriptAlerts(root.querySelector("#transcript-alerts"));
    this.gauge = new SentimentGauge(root.querySelector("#mood"));
    this.trend = new QualityTrend(root.querySelector("#trend"));
    this.monitor = new MonitorControls(root.querySelector("#monitor"), { roleOf: (id) => this._roleOf(id) });
    for (const name of ["change", "notice", "error"]) {
      this.monitor.addEventListener(name, (event) => this._emit(name, event.detail));
    }
    this._draw();
  }

  setSignal(signal, role) {
    this.signal = signal;
    this.monitor.setSignal(signal, role);
  }

  get isOpen() {
    return this.callId !== null;
  }

  /**
   * Open (watch) a call; its floor row, if the floor has it, fills the header at once.
   * The panel shows before this returns; the promise settles with watch_call's answer.
   */
  open(callId, row = null) {
    if (this.callId === callId) return Promise.resolve();
    this.close(); // its unwatch_call goes first: the socket keeps the order
    this.callId = callId;
    this.row = row;
    this.transcript.clear(callId);
    this.monitor.bind(callId);
    // Live lines that beat the ack win over its copy of the transcript so far.
    this.transcript.beginLoad();
    this.root.hidden = false;
    this._draw();
    return this._watch(callId);
  }

  async _watch(callId) {
    let ack;
    try {
      ack = await this.signal.request(ClientEvent.WATCH_CALL, { call_id: callId });
    } catch (error) {
      if (this.callId !== callId) return;
      this._reset();
      this._emit("refused", { callId, error });
      return;
    }
    if (this.callId !== callId) {
      // Closed (or another call opened) while asking: not watching this one after all.
      this.signal.request(ClientEvent.UNWATCH_CALL, { call_id: callId }).catch(() => {});
      return;
    }
    this.watching = true;
    this.call = ack.call;
    this._loadTranscript(ack.transcript);
    // The last two minutes first, so the charts do not start empty mid-call.
    for (const view of ack.quality_history || []) this.trend.add(view);
    this.trend.add(ack.quality);
    this.monitor.setMonitors(ack.monitors);
    this._draw();
    this._emit("opened", { callId });
  }

  /** Close the panel now; unwatch the call (the server ends any monitoring of it too). */
  close() {
    const callId = this.callId;
    if (callId === null) return Promise.resolve();
    this._reset();
    // Also when the watch_call ack has not come yet: the server answers in order, and a
    // monitor_call sent meanwhile watches too.
    if (!this.signal?.connected) return Promise.resolve();
    return this.signal.request(ClientEvent.UNWATCH_CALL, { call_id: callId }).catch((error) => {
      console.warn("kotha: unwatch_call failed", error);
    });
  }

  /** After the socket came back: the server forgot what this socket watched; watch again. */
  async rewatch() {
    const callId = this.callId;
    if (callId === null) return;
    const row = this.row;
    // The monitoring session ended with the old socket ("disconnected").
    this.monitor.end("disconnected");
    this._reset();
    await this.open(callId, row);
  }

  /** The call ended (call_ended of the watched call, or it left the floor). */
  ended() {
    this.monitor.end(null);
    this._reset();
  }

  /** The end of the open call in words: "The call between Laila and Tania ended: Tania hung up." */
  endWords({ reason, ended_by: endedBy } = {}) {
    const customer = this._party("customer")?.name || "the customer";
    const agent = this._party("agent")?.name || "the agent";
    const by = (this.call?.participants || []).find((p) => p.participant_id === endedBy);
    let why = CALL_END_WORDS[reason] || "";
    if (reason === "hung_up" && by) why = `${by.name || ROLE_WORDS[by.role] || "someone"} hung up`;
    return `The call between ${customer} and ${agent} ended${why ? `: ${why}` : ""}.`;
  }

  /** This call's row of a floor snapshot. */
  updateRow(row) {
    if (!row || row.call_id !== this.callId) return;
    this.row = row;
    this._draw();
  }

  /** A fact about a call (routed by the page); those of other calls are ignored. */
  event(name, payload) {
    if (!payload || payload.call_id !== this.callId) return;
    switch (name) {
      case ServerEvent.QUALITY_UPDATED:
        this.trend.add(payload);
        break;
      case ServerEvent.QUALITY_ALERT:
        break; // the next floor snapshot lists it (and quality_updated's alerts chart it)
      case ServerEvent.TRANSCRIPTION_STATE:
        this.transcript.setStatus(payload);
        this.gauge.setTranscribing(payload.state !== "off" && payload.state !== "unavailable");
        break;
      case ServerEvent.TRANSCRIPT_PARTIAL:
        this.transcript.partial(payload.partial);
        break;
      case ServerEvent.TRANSCRIPT_UTTERANCE:
        this.transcript.utterance(payload.utterance);
        this.gauge.update(payload.mood, payload.utterance);
        break;
      case ServerEvent.TRANSCRIPT_ALERT:
        this.transcriptAlerts.add(payload.alert);
        break;
      case ServerEvent.MONITOR_UPDATED:
        this.monitor.setMonitors(payload.monitors);
        break;
      case ServerEvent.CALL_UPDATED:
        this.call = payload.call;
        this._draw();
        break;
      case ServerEvent.PARTICIPANT_UPDATED:
        if (this.call) {
          const others = (this.call.participants || []).filter((p) => p.participant_id !== payload.participant.participant_id);
          this.call = { ...this.call, participants: [...others, payload.participant] };
          this._draw();
        }
        break;
      case ServerEvent.PARTICIPANT_LEFT:
        if (this.call) {
          const left = (this.call.participants || []).filter((p) => p.participant_id !== payload.participant_id);
          this.call = { ...this.call, participants: left };
          this._draw();
        }
        break;
      default:
        break;
    }
  }

  /** Once a second: the duration counts up, old notices go. */
  tick() {
    if (!this.isOpen) return;
    setText(this.root.querySelector("#cp-duration"), clock(this.clock.since(this._answeredAt())));
    drawHold(this.root.querySelector("#cp-hold"), this._hold(), this.clock);
    this.transcriptAlerts.tick();
  }

  /** Focus the panel's title (after opening it from the list). */
  focus() {
    this.root.querySelector("#cp-title").focus({ preventScroll: true });
  }

  _loadTranscript(view) {
    if (!view) {
      this.transcript.loadFailed({ message: "the server keeps no transcript of this call" });
      this.gauge.setTranscribing(false);
      return;
    }
    this.transcript.load(view);
    this.gauge.setTranscribing(view.state !== "off" && view.state !== "unavailable");
    this.gauge.load(view.mood, this.transcript.customerUtterances());
    this.transcriptAlerts.restore(view.mood?.alerts);
  }

  _reset() {
    this.alertsExpanded = false;
    this.monitor.bind(null);
    this.callId = null;
    this.call = null;
    this.row = null;
    this.watching = false;
    this.transcript.clear(null);
    this.transcriptAlerts.clear();
    this.gauge.clear();
    this.trend.clear();
    this.root.hidden = true;
  }

  /** Whether the customer is on hold: the floor's row, else the call the panel fetched. */
  _hold() {
    return this.row?.hold ?? this.call?.hold ?? null;
  }

  _answeredAt() {
    return this.row?.answered_at ?? this.call?.answered_at ?? null;
  }

  _party(role) {
    const fromCall = (this.call?.participants || []).find((p) => p.role === role);
    if (fromCall) return fromCall;
    if (role === "customer") return this.row?.customer ?? null;
    if (role === "agent") return this.row?.agent ?? null;
    return null;
  }

  _roleOf(participantId) {
    const all = [...(this.call?.participants || []), ...(this.row?.participants || [])];
    return all.find((p) => p.participant_id === participantId)?.role ?? null;
  }

  _draw() {
    if (!this.isOpen) return;
    const customer = this._party("customer");
    const agent = this._party("agent");
    const title = this.root.querySelector("#cp-title");
    setText(title, `${customer?.name || "A customer"} with ${agent?.name || "an agent"}`);
    setText(this.root.querySelector("#cp-duration"), clock(this.clock.since(this._answeredAt())));
    const language = this.row?.language ?? this.call?.language;
    setText(this.root.querySelector("#cp-language"), languageWords(language, "Language unknown"));
    setText(this.root.querySelector("#cp-media"), MEDIA_WORDS[this.row?.media ?? this.call?.media] || "");
    this.root.querySelector("#cp-recording").replaceChildren(recordingBadge(this.row?.recording ?? this.call?.recording));
    drawHold(this.root.querySelector("#cp-hold"), this._hold(), this.clock);

    const attention = this.root.querySelector("#cp-attention");
    const level = this.row?.attention?.level in ATTENTION_WORDS ? this.row.attention.level : null;
    attention.hidden = !level;
    attention.dataset.level = level || "none";
    // The alerts have their own list (below) and the transcript's; the other reasons go here.
    const others = this.row ? reasonItems(this.row).filter((r) => !r.alert).map((r) => r.text) : [];
    setText(attention, level ? [ATTENTION_WORDS[level], ...others].join(" · ") : "");

    const alerts = this.row ? reasonItems(this.row).filter((r) => r.alert && PANEL_ALERT_SOURCES.has(r.alert.source)) : [];
    const shown = this.alertsExpanded ? alerts : alerts.slice(0, PANEL_ALERTS);
    const list = this.root.querySelector("#cp-alerts");
    list.hidden = alerts.length === 0;
    // Redrawn only when it changed: the floor comes every second, and the toggle may have focus.
    const drawn = JSON.stringify([this.alertsExpanded, alerts.map((a) => [a.text, a.count, a.alert.kind])]);
    if (list.dataset.drawn === drawn) return;
    list.dataset.drawn = drawn;
    const items = shown.map(({ text, alert, count }) => {
      const item = element("li", "q-alert");
      item.dataset.active = "true";
      item.dataset.kind = alert.kind;
      item.dataset.role = alert.role || "";
      item.append(element("span", "q-alert-state", ALERT_SOURCE_WORDS[alert.source] || "Alert"), element("span", "q-alert-text", text));
      if (count > 1) {
        const times = element("span", "cp-alert-count", `×${count}`);
        times.setAttribute("aria-label", `on ${count} streams`);
        times.title = `Raised for ${count} streams (audio and video, each way)`;
        item.append(times);
      }
      return item;
    });
    if (alerts.length > PANEL_ALERTS) {
      const toggle = element("button", "link cp-more", this.alertsExpanded ? "Show fewer alerts" : `Show all ${alerts.length} alerts`);
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", String(this.alertsExpanded));
      toggle.addEventListener("click", () => {
        this.alertsExpanded = !this.alertsExpanded;
        this._draw();
        this.root.querySelector("#cp-alerts .cp-more")?.focus();
      });
      const item = element("li", "cp-more-item");
      item.append(toggle);
      items.push(item);
    }
    list.replaceChildren(...items);
  }

  snapshot() {
    return {
      open: this.isOpen,
      callId: this.callId,
      watching: this.watching,
      title: this.isOpen ? this.root.querySelector("#cp-title").textContent : null,
      quality: this.trend.snapshot(),
      transcript: { ...this.transcript.snapshot(), alerts: this.transcriptAlerts.snapshot() },
      mood: this.gauge.snapshot(),
      monitor: this.monitor.snapshot(),
    };
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
