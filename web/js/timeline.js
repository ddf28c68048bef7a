// The replay page's timeline: what happened in a recorded call (who joined
// and left, when recording was paused, when the call ended), drawn as a bar under the
// player, and the place to click, tap, drag or use the arrow keys to seek. Under it,
// each supervisor's monitoring session is a row of spans, one per mode (listen,
// whisper, barge), each a button that plays from where it starts.
//
// Times are seconds since the recording started: events carry `t_ms` on the
// same clock as the audio, so an event at t_ms is heard at t_ms / 1000.

import { languageWords } from "./transcript-words.js";
import { clock } from "./ui.js";

const ROLE_WORDS = { customer: "Customer", agent: "Agent", supervisor: "Supervisor" };
const END_WORDS = {
  hung_up: "hung up",
  cancelled: "cancelled",
  abandoned: "abandoned",
  disconnected: "a connection was lost",
  expired: "the call link expired",
  shutdown: "the server shut down",
  interrupted: "the server stopped unexpectedly",
};
// What a participant marker says after the role ("Customer", "Customer left").
const MARKER_WORDS = { participant_joined: "", participant_rejoined: " rejoined", participant_left: " left" };
const LEAVE_WORDS = { connection_lost: "connection lost" };
// A supervisor's modes: the span's word, its one-letter form for a narrow span, and
// who heard them (docs/protocol.md, "Monitoring: listen, whisper, barge").
export const MODE_WORDS = {
  listen: { word: "Listen", letter: "L", doing: "listening", heard: "nobody heard them" },
  whisper: { word: "Whisper", letter: "W", doing: "whispering to the agent", heard: "only the agent heard them" },
  barge: { word: "Barge", letter: "B", doing: "barged in", heard: "the customer and the agent heard them" },
};
const MONITOR_END_WORDS = {
  stopped: "",
  call_ended: " (the call ended)",
  disconnected: " (their connection dropped)",
  failed: " (monitoring failed)",
  agent_lost: " (the agent's connection was lost)",
};
// Arrow keys move 5 s, Page Up/Down 30 s.
const STEP_S = 5;
const PAGE_S = 30;
// Labels closer than this (px) to the one before them in a row go to the next row.
const LABEL_GAP_PX = 8;

/** A participant's role in words ("Customer"), whatever the role. */
export function roleWords(role) {
  return ROLE_WORDS[role] || (role ? role[0].toUpperCase() + role.slice(1) : "Someone");
}

/**
 * What the bar shows, from GET /api/recordings/{id}: participant markers, paused
 * stretches and the end of the call, in seconds.
 * @param {object} recording the `recording` of the reply (meta)
 * @param {object[]} events the `timeline` of the reply
 * @param {number} duration the length of the audio (s)
 */
export function timelineModel(recording, events, duration) {
  const markers = [];
  let end = null;
  for (const event of events) {
    const t = clampTime((event.t_ms ?? 0) / 1000, duration);
    if (event.type in MARKER_WORDS) {
      markers.push({
        t,
        role: event.role || "unknown",
        name: event.name || "",
        kind: event.type,
        label: `${roleWords(event.role)}${MARKER_WORDS[event.type]}`,
      });
    } else if (event.type === "call_ended" && end === null) {
      end = { t, reason: event.reason || null };
    }
  }
  const pauses = (Array.isArray(recording?.pauses) ? recording.pauses : pausesFromEvents(events))
    .filter((p) => p && typeof p.start_ms === "number")
    .map((p) => ({
      start: clampTime(p.start_ms / 1000, duration),
      end: clampTime((typeof p.end_ms === "number" ? p.end_ms : duration * 1000) / 1000, duration),
    }));
  return { duration, markers, pauses, end, monitoring: monitoringModel(events, duration) };
}

/**
 * Every supervisor's monitoring sessions, from the monitor_* events: who, from when to
 * when, and the stretch spent in each mode, in seconds. A session the recording never saw
 * end (a recording recovered after a crash) lasts to the end of the call.
 */
export function monitoringModel(events, duration) {
  const sessions = [];
  const open = new Map();
  let callEnd = null;
  const session = (event, t) => {
    const s = {
      id: event.participant_id || `session-${sessions.length + 1}`,
      subject: event.subject || "",
      name: event.name || event.subject || "A supervisor",
      start: t,
      end: null,
      reason: null,
      segments: [],
    };
    sessions.push(s);
    open.set(s.id, s);
    return s;
  };
  for (const event of events) {
    const t = clampTime((event.t_ms ?? 0) / 1000, duration);
    const id = event.participant_id;
    if (event.type === "monitor_started") {
      session(event, t).segments.push({ mode: event.mode || "listen", start: t, end: null });
    } else if (event.type === "monitor_mode_changed") {
      const s = open.get(id) || session(event, t);
      const last = s.segments.at(-1);
      if (last) last.end = t;
      s.segments.push({ mode: event.mode || "listen", start: t, end: null });
    } else if (event.type === "monitor_ended") {
      const s = open.get(id);
      if (!s) continue;
      const last = s.segments.at(-1);
      if (last) last.end = t;
      s.end = t;
      s.reason = event.reason || "stopped";
      open.delete(id);
    } else if (event.type === "call_ended" && callEnd === null) {
      callEnd = t;
    }
  }
  for (const s of open.values()) {
    s.end = Math.max(s.start, callEnd ?? duration);
    const last = s.segments.at(-1);
    if (last) last.end = s.end;
  }
  return sessions;
}

/** Paused stretches from the paused/resumed events (for a meta without `pauses`). */
function pausesFromEvents(events) {
  const pauses = [];
  for (const event of events) {
    if (event.type === "recording_paused") pauses.push({ start_ms: event.t_ms, end_ms: null });
    else if (event.type === "recording_resumed" && pauses.length && pauses.at(-1).end_ms === null) {
      pauses.at(-1).end_ms = event.t_ms;
    }
  }
  return pauses;
}

/** One event of the timeline in words, for the list under the bar. */
// Per-second and per-few-seconds figures: they belong on the quality strips, not in the
// list of what happened (a short call had 45 page reports burying its joins and pauses).
const FIGURE_EVENTS = new Set(["quality_report", "quality_summary"]);

/** True for the events a reviewer looks for in "What happened". */
export function isStoryEvent(event) {
  return !FIGURE_EVENTS.has(event.type);
}

export function describeEvent(event, participants) {
  const who = (id) => {
    if (!id || id === "system") return "";
    const p = participants.find((x) => x.participant_id === id);
    return p ? `${roleWords(p.role).toLowerCase()} ${p.name || ""}`.trim() : "";
  };
  const by = (id) => (who(id) ? ` by the ${who(id)}` : "");
  switch (event.type) {
    case "recording_started":
      return "Recording started";
    case "participant_joined":
      return `${roleWords(event.role)} ${event.name || ""} joined`.replace("  ", " ");
    case "participant_rejoined":
      return `${roleWords(event.role)} ${event.name || ""} reconnected`.replace("  ", " ");
    case "participant_left": {
      const why = LEAVE_WORDS[event.reason] || event.reason || "";
      return `${roleWords(event.role)} ${event.name || ""} left${why ? ` (${why})` : ""}`.replace("  ", " ");
    }
    case "recording_paused":
      return `Recording paused${by(event.by)}`;
    case "recording_resumed":
      return event.by === "system" ? "Recording resumed (the call ended while paused)" : `Recording resumed${by(event.by)}`;
    case "hold_started":
      return `Customer put on hold${by(event.by)}`;
    case "hold_ended":
      return event.by === "system" ? "Hold ended (the call ended on hold)" : `Customer taken off hold${by(event.by)}`;
    case "call_requeued":
      return `Back in the queue, first in line: ${roleWords(event.role).toLowerCase()} ${event.name || ""}'s connection did not come back`.replace("  ", " ");
    case "call_taken_again":
      return `${roleWords(event.role)} ${event.name || ""} took the call over`.replace("  ", " ");
    case "call_tagged":
      return `Tagged ${(event.tags || []).join(", ")}${by(event.by)}`;
    case "call_ended": {
      const reason = END_WORDS[event.reason] || event.reason || "";
      const ender = who(event.ended_by);
      return `Call ended${reason ? `: ${reason}` : ""}${ender ? ` (by the ${ender})` : ""}`;
    }
    case "recording_stopped":
      return "Recording stopped";
    case "monitor_started": {
      const name = event.name || event.subject || "A supervisor";
      if (event.mode === "whisper") return `${name} (supervisor) started whispering to the agent`;
      if (event.mode === "barge") return `${name} (supervisor) barged in — the customer heard them`;
      return `${name} (supervisor) started listening`;
    }
    case "monitor_mode_changed": {
      const name = event.name || event.subject || "A supervisor";
      if (event.mode === "whisper") return `${name} whispered to the agent`;
      if (event.mode === "barge") return `${name} barged in — the customer heard them`;
      return `${name} went back to listening (nobody heard them)`;
    }
    case "monitor_ended": {
      const name = event.name || event.subject || "A supervisor";
      const why = MONITOR_END_WORDS[event.reason] ?? (event.reason ? ` (${event.reason.replaceAll("_", " ")})` : "");
      return `${name} stopped monitoring${why}`;
    }
    case "quality_alert": {
      const message = event.alert?.message || `${String(event.alert?.kind || "quality").replaceAll("_", " ")}`;
      return `${event.active ? "Alert" : "Cleared"}: ${message}`;
    }
    case "transcript_alert": {
      const alert = event.alert || {};
      const message = alert.message || String(alert.kind || "transcript").replaceAll("_", " ");
      return `${alert.active === false ? "Cleared" : alert.kind === "keyword" ? "Keyword" : "Alert"}: ${message}`;
    }
    case "transcription_state": {
      const language = languageWords(event.language, "");
      if (event.state === "active") return `Transcription started${language ? ` (${language} speech model)` : ""}`;
      if (event.state === "off") return "Transcription off";
      return `Not transcribed${event.reason ? `: ${event.reason}` : ""}`;
    }
    case "category_matched": {
      const match = event.match || {};
      return `Category: ${match.category || "?"}${match.evidence ? ` (${match.evidence})` : ""}`;
    }
    case "transcription_refused":
      return `${roleWords(event.role)}'s microphone not transcribed${event.reason ? `: ${event.reason}` : ""}`;
    default:
      return String(event.type || "event").replaceAll("_", " ");
  }
}

function clampTime(t, duration) {
  return Math.min(Math.max(0, Number.isFinite(t) ? t : 0), duration > 0 ? duration : 0);
}

/**
 * The bar. `onSeek(seconds)` is called when the reviewer clicks, drags or uses the keys.
 * Elements: root (the slider), top and bottom label lanes, the track and its layers; and,
 * for supervisors' monitoring, monitor (the section under the bar, hidden when nobody
 * monitored), monitorRows (where each session's row goes), monitorBands (a layer of the
 * track that marks the same spans on the bar itself) and monitorLegend (the modes' keys).
 */
export class Timeline {
  constructor({ root, top, bottom, track, pauses, ticks, played, head, monitor = null, monitorRows = null, monitorBands = null, monitorLegend = null }, onSeek) {
    Object.assign(this, { root, top, bottom, track, pausesLayer: pauses, ticks, played, head });
    Object.assign(this, { monitor, monitorRows, monitorBands, monitorLegend });
    this.onSeek = onSeek;
    this.model = { duration: 0, markers: [], pauses: [], end: null, monitoring: [] };
    this.position = 0;
    this._dragging = false;
    this._bind();
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => {
        this._layoutLabels();
        this._layoutMonitoring();
      }).observe(root);
    }
  }

  /** Draw a new model (a recording was opened, or its length became known). */
  render(model) {
    this.model = model;
    const { duration } = model;
    const pct = (t) => `${duration > 0 ? (t / duration) * 100 : 0}%`;
    this.pausesLayer.replaceChildren(
      ...model.pauses.map((p) => {
        const range = document.createElement("div");
        range.className = "tl-pause";
        range.style.left = pct(p.start);
        range.style.width = pct(Math.max(0, p.end - p.start));
        range.title = `Recording paused ${clock(p.start)}–${clock(p.end)}`;
        return range;
      }),
    );
    const ticks = model.markers.map((m) => {
      const tick = document.createElement("div");
      tick.className = "tl-tick";
      tick.dataset.role = m.role;
      tick.dataset.kind = m.kind;
      tick.style.left = pct(m.t);
      return tick;
    });
    if (model.end) {
      const end = document.createElement("div");
      end.className = "tl-tick tl-end";
      end.style.left = pct(model.end.t);
      ticks.push(end);
    }
    this.ticks.replaceChildren(...ticks);
    // Customers' labels above the bar, everyone else's below; the end of the call above.
    const label = (text, t, kind, title) => {
      const span = document.createElement("span");
      span.className = "tl-label";
      span.dataset.kind = kind;
      span.dataset.t = String(t);
      span.textContent = text;
      span.title = title;
      return span;
    };
    const top = [];
    const bottom = [];
    for (const m of model.markers) {
      const title = `${m.label}${m.name ? ` (${m.name})` : ""} at ${clock(m.t)}`;
      (m.role === "customer" ? top : bottom).push(label(m.label, m.t, m.role, title));
    }
    if (model.end) top.push(label("Call ended", model.end.t, "end", `Call ended at ${clock(model.end.t)}`));
    this.top.replaceChildren(...top);
    this.bottom.replaceChildren(...bottom);
    this.root.setAttribute("aria-valuemax", String(Math.round(duration)));
    this._renderMonitoring(model.monitoring || [], pct);
    this._layoutLabels();
    this._layoutMonitoring();
    this.setPosition(this.position);
  }

  /**
   * Each monitoring session as a row of spans, one per mode, under the bar (sessions that do
   * not overlap share a row), and the same spans as a thin band along the bar's bottom edge.
   * Modes differ in fill pattern and carry their word (or its letter, where a span is
   * narrow), a title and an aria-label, never colour alone.
   */
  _renderMonitoring(sessions, pct) {
    const span = (seg) => [pct(seg.start), pct(Math.max(0, seg.end - seg.start))];
    if (this.monitorBands) {
      this.monitorBands.replaceChildren(
        ...sessions.flatMap((s) =>
          s.segments.map((seg) => {
            const band = document.createElement("div");
            band.className = "tl-mon-band";
            band.dataset.mode = seg.mode;
            [band.style.left, band.style.width] = span(seg);
            return band;
          }),
        ),
      );
    }
    if (this.monitorLegend) this.monitorLegend.hidden = sessions.length === 0;
    if (!this.monitor || !this.monitorRows) return;
    this.monitor.hidden = sessions.length === 0;
    const rows = [];
    const rowEnds = [];
    for (const s of [...sessions].sort((a, b) => a.start - b.start)) {
      let row = rowEnds.findIndex((end) => s.start >= end);
      if (row === -1) {
        row = rowEnds.push(s.end) - 1;
        rows.push([]);
      } else rowEnds[row] = s.end;
      rows[row].push(s);
    }
    const nodes = rows.map((row) => {
      const line = document.createElement("div");
      line.className = "tl-mon-row";
      for (const s of row) {
        const ended = s.reason ? `stopped at ${clock(s.end)}${MONITOR_END_WORDS[s.reason] ?? ` (${s.reason})`}` : `still monitoring at ${clock(s.end)}`;
        const name = document.createElement("span");
        name.className = "tl-mon-name";
        name.dataset.t = String(s.start);
        name.textContent = s.name;
        name.title = `${s.name} (supervisor${s.subject ? ` ${s.subject}` : ""}) started monitoring at ${clock(s.start)}, ${ended}`;
        line.append(name);
        for (const seg of s.segments) {
          const words = MODE_WORDS[seg.mode] || { word: seg.mode, letter: String(seg.mode)[0]?.toUpperCase() || "?", doing: seg.mode, heard: "" };
          const button = document.createElement("button");
          button.type = "button";
          button.className = "tl-mon-seg";
          button.dataset.mode = seg.mode;
          button.dataset.session = s.id;
          button.dataset.t = String(seg.start);
          [button.style.left, button.style.width] = span(seg);
          const word = document.createElement("span");
          word.className = "tl-mon-word";
          word.textContent = words.word;
          const letter = document.createElement("span");
          letter.className = "tl-mon-letter";
          letter.textContent = words.letter;
          letter.setAttribute("aria-hidden", "true");
          button.append(word, letter);
          const said = `${s.name} ${words.doing} from ${clock(seg.start)} to ${clock(seg.end)}${words.heard ? ` (${words.heard})` : ""}`;
          button.title = said;
          button.setAttribute("aria-label", `${said}. Play from ${clock(seg.start)}.`);
          line.append(button);
        }
        if (s.reason) {
          const end = document.createElement("span");
          end.className = "tl-mon-end";
          end.style.left = pct(s.end);
          end.title = `${s.name} ${ended}`;
          line.append(end);
        }
      }
      return line;
    });
    const head = document.createElement("div");
    head.className = "tl-mon-head";
    this.monitorRows.replaceChildren(...nodes, head);
  }

  /** Move the playhead to `seconds`. */
  setPosition(seconds) {
    this.position = seconds;
    const { duration } = this.model;
    const fraction = duration > 0 ? Math.min(1, Math.max(0, seconds / duration)) : 0;
    this.played.style.width = `${fraction * 100}%`;
    this.head.style.left = `${fraction * 100}%`;
    this.root.setAttribute("aria-valuenow", String(Math.round(seconds)));
    this.root.setAttribute("aria-valuetext", `${clock(seconds)} of ${clock(duration)}`);
    const monitorHead = this.monitorRows?.querySelector(".tl-mon-head");
    if (monitorHead) monitorHead.style.left = `${fraction * 100}%`;
  }

  counts() {
    return { markers: this.model.markers.length, pauses: this.model.pauses.length, end: Boolean(this.model.end) };
  }

  /** The monitoring sessions drawn (what the tests read: window.kotha.state().monitoring). */
  monitoringSnapshot() {
    return (this.model.monitoring || []).map((s) => ({
      name: s.name,
      subject: s.subject,
      start: s.start,
      end: s.end,
      reason: s.reason,
      segments: s.segments.map((seg) => ({ mode: seg.mode, start: seg.start, end: seg.end })),
    }));
  }

  _bind() {
    const seekTo = (event) => {
      const rect = this.track.getBoundingClientRect();
      if (rect.width <= 0 || !(this.model.duration > 0)) return;
      const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
      this.onSeek(fraction * this.model.duration);
    };
    this.root.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      this._dragging = true;
      this.root.setPointerCapture?.(event.pointerId);
      this.root.focus({ preventScroll: true });
      seekTo(event);
      event.preventDefault();
    });
    this.root.addEventListener("pointermove", (event) => {
      if (this._dragging) seekTo(event);
    });
    const stop = () => {
      this._dragging = false;
    };
    this.root.addEventListener("pointerup", stop);
    this.root.addEventListener("pointercancel", stop);
    // A span plays from where it starts; elsewhere in the rows, from the point clicked.
    this.monitorRows?.addEventListener("click", (event) => {
      const span = event.target.closest?.("button.tl-mon-seg");
      if (span) {
        this.onSeek(Number(span.dataset.t));
        return;
      }
      const rect = this.monitorRows.getBoundingClientRect();
      if (rect.width <= 0 || !(this.model.duration > 0)) return;
      this.onSeek(Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)) * this.model.duration);
    });
    this.root.addEventListener("keydown", (event) => {
      const { duration } = this.model;
      if (!(duration > 0)) return;
      const moves = {
        ArrowLeft: -STEP_S,
        ArrowDown: -STEP_S,
        ArrowRight: STEP_S,
        ArrowUp: STEP_S,
        PageDown: -PAGE_S,
        PageUp: PAGE_S,
      };
      let target = null;
      if (event.key in moves) target = this.position + moves[event.key];
      else if (event.key === "Home") target = 0;
      else if (event.key === "End") target = duration;
      if (target === null) return;
      event.preventDefault();
      this.onSeek(Math.min(duration, Math.max(0, target)));
    });
  }

  /** Place each label at its time, in rows so that none overlaps another; flip it near the right edge. */
  _layoutLabels() {
    const width = this.track.clientWidth;
    const { duration } = this.model;
    if (!width || !(duration > 0)) return;
    for (const lane of [this.top, this.bottom]) {
      const rowEnds = [];
      const labels = [...lane.children].sort((a, b) => Number(a.dataset.t) - Number(b.dataset.t));
      for (const label of labels) {
        const x = (Number(label.dataset.t) / duration) * width;
        const w = label.offsetWidth;
        const left = Math.max(0, x + w > width ? x - w : x);
        let row = rowEnds.findIndex((end) => left >= end + LABEL_GAP_PX);
        if (row === -1) row = rowEnds.push(0) - 1;
        rowEnds[row] = left + w;
        label.style.left = `${left}px`;
        label.style.setProperty("--row", String(row));
      }
      lane.style.setProperty("--rows", String(Math.max(1, rowEnds.length)));
    }
  }

  /** Names at their session's start (moved left near the right edge); a span's word, letter or nothing, as it fits. */
  _layoutMonitoring() {
    if (!this.monitorRows || this.monitor?.hidden) return;
    const width = this.monitorRows.clientWidth;
    const { duration } = this.model;
    if (!width || !(duration > 0)) return;
    for (const name of this.monitorRows.querySelectorAll(".tl-mon-name")) {
      const x = (Number(name.dataset.t) / duration) * width;
      name.style.left = `${Math.max(0, Math.min(x, width - name.offsetWidth))}px`;
    }
    for (const button of this.monitorRows.querySelectorAll(".tl-mon-seg")) {
      for (const fit of ["word", "letter", "none"]) {
        button.dataset.fit = fit;
        if (fit === "none" || button.scrollWidth <= button.clientWidth + 1) break;
      }
    }
  }
}
