// The agent's live transcript of the call they are on: the words as they are said, the
// customer's mood gauge and the transcript's alerts. Facts that come before the page knows
// the call (they can beat the accept's answer) are kept until it does; a call whose
// transcription state has not come soon is asked for it, as is the transcript so far when
// the console opens (or its socket comes back) mid-call.

import { getCallTranscript } from "./api.js";
import { ServerEvent } from "./events.js";
import { SentimentGauge } from "./sentiment-gauge.js";
import { TranscriptAlerts, TranscriptPanel } from "./transcript-panel.js";

// The live transcript's facts; they only reach the agent of the call (node/transcription.py).
export const TRANSCRIPT_EVENTS = [
  ServerEvent.TRANSCRIPTION_STATE,
  ServerEvent.TRANSCRIPT_PARTIAL,
  ServerEvent.TRANSCRIPT_UTTERANCE,
  ServerEvent.TRANSCRIPT_ALERT,
];
// Facts of a call this page does not know yet, kept until it does.
const EARLY_MAX = 200;
// A call whose transcription state has not come by then is asked for it (GET): the
// server does not announce a transcription that is off from the start.
const STATE_WAIT_MS = 2500;

export class LiveTranscript {
  /**
   * @param {{panel: HTMLElement, alerts: HTMLElement, mood: HTMLElement}} elements
   * @param {{token: () => string|null, onCall: (callId: string) => boolean}} page the token
   *   now, and whether the agent is still on call `callId`
   */
  constructor({ panel, alerts, mood }, { token, onCall }) {
    this.panel = new TranscriptPanel(panel);
    this.alerts = new TranscriptAlerts(alerts);
    this.gauge = new SentimentGauge(mood);
    this._token = token;
    this._onCall = onCall;
    this._early = []; // [{name, payload}] of a call not bound yet
    this._timer = null;
  }

  /** Show the transcript of `callId` from now on (null: none); a new call starts empty. */
  bind(callId) {
    if (this.panel.callId === callId) return;
    this.panel.clear(callId);
    this.alerts.clear();
    this.gauge.clear();
    const early = this._early.filter((entry) => callId && entry.payload.call_id === callId);
    this._early = [];
    for (const { name, payload } of early) this._apply(name, payload);
    clearTimeout(this._timer);
    if (!callId) return;
    this._timer = setTimeout(() => {
      const waiting = this.panel.callId === callId && !this.panel.status && !this.panel.loading;
      if (waiting) this.load(callId);
    }, STATE_WAIT_MS);
  }

  /** One of TRANSCRIPT_EVENTS from the socket. */
  event(name, payload) {
    if (!payload?.call_id) return;
    if (payload.call_id === this.panel.callId) {
      this._apply(name, payload);
      return;
    }
    // Only the call's agent gets these, so they are for a call we are taking (or one
    // that just ended: never bound again, they are dropped with the next call).
    this._early = this._early.filter((entry) => entry.payload.call_id === payload.call_id);
    if (this._early.length < EARLY_MAX) this._early.push({ name, payload });
  }

  /** GET the transcript so far (a console opened, or a socket back, mid-call) into the panel. */
  async load(callId) {
    this.bind(callId);
    this.panel.beginLoad();
    let view;
    try {
      view = await getCallTranscript(callId, this._token());
    } catch (error) {
      if (this.panel.callId !== callId) return; // another call by now
      if (error?.code === "not_found" && !this._onCall(callId)) return; // it ended meanwhile
      console.warn("kotha: the transcript so far could not be loaded", error);
      this.panel.loadFailed(error);
      return;
    }
    if (this.panel.callId !== callId) return;
    this.panel.load(view);
    this.gauge.setTranscribing(view.state !== "off" && view.state !== "unavailable");
    this.gauge.load(view.mood, this.panel.customerUtterances());
    this.alerts.restore(view.mood?.alerts);
  }

  tick() {
    this.alerts.tick();
  }

  snapshot() {
    return {
      transcript: { ...this.panel.snapshot(), alerts: this.alerts.snapshot() },
      mood: this.gauge.snapshot(),
    };
  }

  _apply(name, payload) {
    if (name === ServerEvent.TRANSCRIPTION_STATE) {
      this.panel.setStatus(payload);
      this.gauge.setTranscribing(payload.state !== "off" && payload.state !== "unavailable");
    } else if (name === ServerEvent.TRANSCRIPT_PARTIAL) {
      this.panel.partial(payload.partial);
    } else if (name === ServerEvent.TRANSCRIPT_UTTERANCE) {
      this.panel.utterance(payload.utterance);
      this.gauge.update(payload.mood, payload.utterance);
    } else if (name === ServerEvent.TRANSCRIPT_ALERT) {
      this.alerts.add(payload.alert);
    }
  }
}
