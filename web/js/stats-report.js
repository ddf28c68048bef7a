// The page's own view of the media it receives, from getStats(), sent to the
// server every few seconds (`report_quality`): what the browser's jitter
// buffer and decoder saw, which the server cannot measure (how long audio
// waited to be played, how much of it was concealed, frames dropped).
// Supervisors see it beside the server's own figures.

import { ClientEvent } from "./events.js";

const REPORT_EVERY_MS = 5000;

/** Sends `report_quality` for the current peer of a call until stopped. */
export class StatsReporter {
  /**
   * @param {{request: Function}} signal the call's signalling
   * @param {string} callId
   * @param {() => RTCPeerConnection | null} currentPc the peer connection now (it changes on rejoin)
   */
  constructor(signal, callId, currentPc) {
    this.signal = signal;
    this.callId = callId;
    this.currentPc = currentPc;
    this.timer = null;
    this.previous = new Map(); // stats id -> the last report's inbound-rtp entry
    this.sent = 0;
  }

  start() {
    if (this.timer === null) this.timer = setInterval(() => this._report(), REPORT_EVERY_MS);
  }

  stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async _report() {
    const pc = this.currentPc();
    if (!pc || pc.connectionState !== "connected") return;
    try {
      const report = summarise(await pc.getStats(), this.previous);
      if (!report.audio && !report.video) return;
      await this.signal.request(ClientEvent.REPORT_QUALITY, { call_id: this.callId, ...report });
      this.sent += 1;
    } catch (error) {
      // A refused report (rate limit, call ended) is not worth troubling the user.
      console.debug("kotha: quality report not taken", error);
    }
  }
}

/** The figures of one getStats() report, per second since the previous one where cumulative. */
export function summarise(stats, previous) {
  const out = {};
  let rtt = null;
  for (const entry of stats.values()) {
    if (entry.type === "candidate-pair" && entry.nominated && entry.state === "succeeded") {
      if (typeof entry.currentRoundTripTime === "number") rtt = entry.currentRoundTripTime * 1000;
    }
  }
  // One stream per kind: the one that received the most since the last report. A page can
  // receive more than one voice (a supervisor's, on its own m-line, silent while they listen).
  const busiest = {};
  for (const entry of stats.values()) {
    if (entry.type !== "inbound-rtp") continue;
    const before = previous.get(entry.id);
    const received = delta(entry, before, "packetsReceived") ?? 0;
    const best = busiest[entry.kind];
    if (!best || received > best.received) busiest[entry.kind] = { entry, before, received };
    previous.set(entry.id, entry);
  }
  for (const { entry, before } of Object.values(busiest)) {
    if (entry.kind === "audio") {
      const audio = {};
      if (typeof entry.jitter === "number") audio.jitter_ms = round(entry.jitter * 1000);
      if (typeof entry.packetsLost === "number") audio.packets_lost = Math.max(0, entry.packetsLost);
      const emitted = delta(entry, before, "jitterBufferEmittedCount");
      const waited = delta(entry, before, "jitterBufferDelay");
      if (emitted > 0 && waited !== null) audio.jitter_buffer_delay_ms = round((waited / emitted) * 1000);
      const samples = delta(entry, before, "totalSamplesReceived");
      const concealed = delta(entry, before, "concealedSamples");
      if (samples > 0 && concealed !== null) audio.concealed_pct = round(Math.min(100, (concealed / samples) * 100));
      if (rtt !== null) audio.round_trip_ms = round(rtt);
      out.audio = audio;
    } else if (entry.kind === "video") {
      const video = {};
      if (typeof entry.jitter === "number") video.jitter_ms = round(entry.jitter * 1000);
      if (typeof entry.framesPerSecond === "number") video.frames_per_second = round(entry.framesPerSecond);
      if (typeof entry.frameWidth === "number") video.frame_width = entry.frameWidth;
      if (typeof entry.frameHeight === "number") video.frame_height = entry.frameHeight;
      if (typeof entry.framesDropped === "number") video.frames_dropped = entry.framesDropped;
      if (typeof entry.freezeCount === "number") video.freeze_count = entry.freezeCount;
      out.video = video;
    }
  }
  return out;
}

function delta(entry, before, name) {
  const now = entry[name];
  if (typeof now !== "number") return null;
  const then = before && typeof before[name] === "number" ? before[name] : 0;
  return Math.max(0, now - then);
}

function round(value) {
  return Math.round(value * 10) / 10;
}
