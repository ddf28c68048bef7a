// The replay page's talk strip: who talked when, under the quality strips and
// on the same time axis. One lane per party with their talk spurts (measured
// from their own audio, so a Bengali call without a transcript has it too),
// where both talked at once shaded on both, every interruption marked on the
// lane of the one who cut in, and a lane for the silences (nobody talking),
// the longest outlined. Where the customer was on hold (the parties could
// not hear each other) is shaded across every lane, behind the talk and the silences.
// Above it, the conversation in words: talk time and share, talk speed and
// loudness per party, non-talk time, interruptions, time on hold and how many
// holds, sentiment per quarter and at the end. Clicking or dragging seeks.
//
// Data: `conversation` of GET /api/recordings/{id} (conversation.json; null
// for recordings made before talk was measured: the section hides; `hold_ms`,
// `holds` and `hold_spans` only in recordings made since calls could be held).

import { roleWords } from "./timeline.js";
import { clock, seekOnStrips } from "./ui.js";

// A silence shorter than this is the breath between turns, not worth a mark.
const SHOWN_SILENCE_S = 2;
const ROLE_ORDER = { customer: 0, agent: 1, supervisor: 2 };

function seconds(ms) {
  return typeof ms === "number" && Number.isFinite(ms) ? ms / 1000 : 0;
}

function clamp(t, duration) {
  return Math.min(Math.max(0, t), duration);
}

/** Spans (s) merged where they touch, in order. */
function union(spans) {
  const merged = [];
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else if (end > start) merged.push([start, end]);
  }
  return merged;
}

/** Where two merged span lists overlap. */
function intersection(a, b) {
  const out = [];
  let [i, j] = [0, 0];
  while (i < a.length && j < b.length) {
    const [start, end] = [Math.max(a[i][0], b[j][0]), Math.min(a[i][1], b[j][1])];
    if (end > start) out.push([start, end]);
    if (a[i][1] < b[j][1]) i += 1;
    else j += 1;
  }
  return out;
}

/** The gaps the merged spans leave in 0..duration. */
function gaps(covered, duration) {
  const out = [];
  let at = 0;
  for (const [start, end] of covered) {
    if (start > at) out.push([at, Math.min(start, duration)]);
    at = Math.max(at, end);
  }
  if (duration > at) out.push([at, duration]);
  return out.filter(([s, e]) => e > s);
}

/**
 * What the strip shows, or null when talk was not measured.
 * @param {object|null} conversation the `conversation` of the reply
 * @param {object[]} pauses `recording.pauses` ({start_ms, end_ms}): not silences
 * @param {number} duration the length of the audio (s)
 */
export function talkModel(conversation, pauses, duration) {
  if (!conversation || typeof conversation !== "object" || !(duration > 0)) return null;
  const spurts = conversation.spurts && typeof conversation.spurts === "object" ? conversation.spurts : {};
  const parties = conversation.parties || {};
  const roles = [...new Set([...Object.keys(spurts), "customer", "agent"])].sort(
    (a, b) => (ROLE_ORDER[a] ?? 9) - (ROLE_ORDER[b] ?? 9),
  );
  const lanes = roles.map((role) => {
    const spans = union(
      (Array.isArray(spurts[role]) ? spurts[role] : []).map((s) => [
        clamp(seconds(s.start_ms), duration),
        clamp(seconds(s.end_ms), duration),
      ]),
    );
    return { role, spans, figures: parties[role] || null, overlaps: [], interruptions: [] };
  });
  const byRole = Object.fromEntries(lanes.map((l) => [l.role, l]));
  // Both talking at once, shaded on both lanes.
  for (const lane of lanes) {
    for (const other of lanes) {
      if (other !== lane) lane.overlaps.push(...intersection(lane.spans, other.spans));
    }
    lane.overlaps = union(lane.overlaps);
  }
  const interruptions = (Array.isArray(conversation.interruptions) ? conversation.interruptions : [])
    .filter((i) => i && typeof i.by === "string")
    .map((i) => ({ by: i.by, over: i.over, at: clamp(seconds(i.at_ms), duration), ms: i.ms }));
  for (const i of interruptions) byRole[i.by]?.interruptions.push(i);
  const paused = (pauses || []).map((p) => [seconds(p.start_ms), p.end_ms == null ? duration : seconds(p.end_ms)]);
  // A hold is not left out of the silences: the recording runs on through it, and the
  // server's figures (non-talk time, the longest silence) count it the same way.
  const holds = holdSpans(conversation, duration);
  const silences = gaps(union([...lanes.flatMap((l) => l.spans), ...paused]), duration)
    .filter(([s, e]) => e - s >= SHOWN_SILENCE_S)
    .map(([start, end]) => ({ start, end, longest: false }));
  const longest = conversation.longest_silence;
  if (longest) {
    const start = seconds(longest.start_ms);
    const match = silences.reduce(
      (best, s) => (best === null || Math.abs(s.start - start) < Math.abs(best.start - start) ? s : best),
      null,
    );
    if (match) match.longest = true;
  }
  return { duration, lanes, silences, interruptions, holds, conversation };
}

/** Where the customer was on hold (s, merged), from `hold_spans` ({start_ms, end_ms}; no end: to the end). */
function holdSpans(conversation, duration) {
  const spans = Array.isArray(conversation.hold_spans) ? conversation.hold_spans : [];
  return union(
    spans
      .filter((h) => h && typeof h.start_ms === "number")
      .map((h) => [clamp(seconds(h.start_ms), duration), h.end_ms == null ? duration : clamp(seconds(h.end_ms), duration)]),
  );
}

/** Time on hold and how many holds, in words ("On hold 1:05 in 2 holds."); "" for a call never held. */
export function holdWords(model) {
  const c = model.conversation;
  const count = typeof c.holds === "number" ? c.holds : model.holds.length;
  if (!count) return "";
  const ms = typeof c.hold_ms === "number" ? c.hold_ms : model.holds.reduce((sum, [s, e]) => sum + (e - s) * 1000, 0);
  return `On hold ${length(ms)} ${count === 1 ? "once" : `in ${count} holds`}.`;
}

function share(value) {
  return typeof value === "number" ? `${Math.round(value * 100)}%` : "";
}

function length(ms) {
  const s = seconds(ms);
  return s < 60 ? `${s.toFixed(1)} s` : clock(Math.round(s));
}

function signed(score) {
  return `${score > 0 ? "+" : score < 0 ? "−" : ""}${Math.abs(score).toFixed(2)}`;
}

/** A party's figures in words, for their lane's label. */
export function partyWords(figures) {
  if (!figures) return "did not talk";
  const parts = [`talked ${length(figures.talk_ms)} (${share(figures.talk_share)})`];
  if (typeof figures.words_per_minute === "number") parts.push(`${figures.words_per_minute} words a minute`);
  if (typeof figures.level_db === "number") parts.push(`loudness ${signed(Math.round(figures.level_db)).replace(".00", "")} dBFS`);
  if (figures.interruptions) parts.push(`interrupted ${figures.interruptions}×`);
  return parts.join(", ");
}

/** The conversation in words. */
export function summaryWords(model) {
  const c = model.conversation;
  const who = (role) => roleWords(role).toLowerCase();
  const parts = [];
  const talked = model.lanes
    .filter((l) => l.figures?.talk_ms)
    .map((l) => `the ${who(l.role)} ${length(l.figures.talk_ms)} (${share(l.figures.talk_share)})`);
  parts.push(talked.length ? `Talked: ${talked.join(", ")}.` : "Nobody was heard talking.");
  if (typeof c.non_talk_ms === "number") {
    const longest = c.longest_silence
      ? `; the longest silence ${length(c.longest_silence.ms)} from ${clock(Math.round(seconds(c.longest_silence.start_ms)))}`
      : "";
    parts.push(`Nobody talked for ${length(c.non_talk_ms)} (${share(c.non_talk_share)})${longest}.`);
  }
  const count = model.interruptions.length;
  if (count === 0) parts.push("No interruptions.");
  else {
    const pairs = new Map();
    for (const i of model.interruptions) {
      const key = `the ${who(i.by)} over the ${who(i.over)}`;
      pairs.set(key, (pairs.get(key) || 0) + 1);
    }
    const listed = [...pairs].map(([k, n]) => `${k} ×${n}`).join(", ");
    parts.push(`${count} interruption${count === 1 ? "" : "s"}: ${listed}.`);
  }
  const held = holdWords(model);
  if (held) parts.push(held);
  if (c.paused_ms > 0) parts.push(`Recording paused for ${length(c.paused_ms)}.`);
  return parts.join(" ");
}

/** A party's sentiment per quarter and at the end, in words (null: nothing was scored). */
export function sentimentWords(role, figures) {
  const sentiment = figures?.sentiment;
  if (!sentiment?.end) return null;
  const quarters = (sentiment.quarters || []).map((q) => (typeof q === "number" ? signed(q) : "—"));
  return `${roleWords(role)} sentiment by quarter: ${quarters.join(" · ")}; ended ${sentiment.end.label} (${signed(sentiment.end.score)}).`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function span(className, start, end, duration, title) {
  const node = element("div", className);
  node.style.left = `${(start / duration) * 100}%`;
  node.style.width = `${(Math.max(0, end - start) / duration) * 100}%`;
  if (title) node.title = title;
  return node;
}

/**
 * The strip. Elements: root (the section, hidden without data), summary and
 * sentiment (paragraphs), lanes (where the strips go). `onSeek(seconds)` on a click or drag.
 */
export class TalkStrip {
  constructor({ root, summary, sentiment, lanes }, onSeek) {
    Object.assign(this, { root, summaryEl: summary, sentimentEl: sentiment, lanesEl: lanes });
    this.onSeek = onSeek;
    this.model = null;
    this.position = 0;
    this._bind();
  }

  /** Draw a model from talkModel(), or hide the strip (null). */
  render(model) {
    this.model = model;
    this.root.hidden = !model;
    if (!model) {
      this.summaryEl.textContent = "";
      this.sentimentEl.textContent = "";
      this.lanesEl.replaceChildren();
      return;
    }
    this.summaryEl.textContent = summaryWords(model);
    // The hold's key only for a call that was held (most never are).
    const holdKey = this.root.querySelector(".tk-hold-key");
    if (holdKey) holdKey.hidden = model.holds.length === 0;
    const moods = model.lanes.map((l) => sentimentWords(l.role, l.figures)).filter(Boolean);
    this.sentimentEl.textContent = moods.join(" ");
    this.sentimentEl.hidden = moods.length === 0;
    this.lanesEl.replaceChildren(
      ...model.lanes.map((lane) => this._lane(lane, model.duration)),
      this._silenceLane(model),
    );
    this.setPosition(this.position);
  }

  setPosition(seconds) {
    this.position = seconds;
    if (!this.model) return;
    const fraction = Math.min(1, Math.max(0, seconds / this.model.duration));
    for (const head of this.lanesEl.querySelectorAll(".tk-playhead")) head.style.left = `${fraction * 100}%`;
  }

  /** What the tests read (window.kotha.state().talk). */
  counts() {
    if (!this.model) return { shown: false, lanes: [], silences: 0, interruptions: 0, holds: [], summary: "" };
    return {
      shown: !this.root.hidden,
      lanes: this.model.lanes.map((l) => ({
        role: l.role,
        spans: l.spans.length,
        talk_s: l.spans.reduce((sum, [s, e]) => sum + e - s, 0),
        overlaps: l.overlaps.length,
        interruptions: l.interruptions.length,
      })),
      silences: this.model.silences.length,
      interruptions: this.model.interruptions.length,
      holds: this.model.holds.map(([start, end]) => ({ start, end })),
      summary: this.summaryEl.textContent,
    };
  }

  _lane(lane, duration) {
    const root = element("div", "tk-lane");
    root.dataset.role = lane.role;
    const label = element("p", "tk-lane-label");
    label.append(element("strong", "", roleWords(lane.role)), element("span", "tk-lane-figures", ` ${partyWords(lane.figures)}`));
    const strip = element("div", "tk-strip");
    strip.setAttribute("role", "img");
    strip.setAttribute("aria-label", `${roleWords(lane.role)}: when they talked. ${partyWords(lane.figures)}`);
    this._holds(strip, duration);
    for (const [start, end] of lane.spans) {
      strip.append(span("tk-talk", start, end, duration, `${roleWords(lane.role)} talked ${clock(start)}–${clock(end)}`));
    }
    for (const [start, end] of lane.overlaps) {
      strip.append(span("tk-overlap", start, end, duration, `Both talked ${clock(start)}–${clock(end)}`));
    }
    for (const i of lane.interruptions) {
      const mark = element("div", "tk-interruption");
      mark.style.left = `${(i.at / duration) * 100}%`;
      mark.title = `${roleWords(i.by)} talked over the ${roleWords(i.over).toLowerCase()} at ${clock(i.at)} for ${(i.ms / 1000).toFixed(1)} s`;
      strip.append(mark);
    }
    strip.append(element("div", "tk-playhead"));
    root.append(label, strip);
    return root;
  }

  _silenceLane(model) {
    const root = element("div", "tk-lane tk-lane-silence");
    const longest = model.silences.find((s) => s.longest);
    const label = element("p", "tk-lane-label");
    label.append(
      element("strong", "", "Silence"),
      element(
        "span",
        "tk-lane-figures",
        ` ${model.silences.length} stretch${model.silences.length === 1 ? "" : "es"} of ${SHOWN_SILENCE_S} s or more` +
          (longest ? `, the longest ${(longest.end - longest.start).toFixed(1)} s` : ""),
      ),
    );
    const strip = element("div", "tk-strip tk-strip-silence");
    strip.setAttribute("role", "img");
    strip.setAttribute("aria-label", `When nobody talked: ${label.textContent}`);
    this._holds(strip, model.duration);
    for (const s of model.silences) {
      const node = span("tk-silence", s.start, s.end, model.duration, `Nobody talked ${clock(s.start)}–${clock(s.end)} (${(s.end - s.start).toFixed(1)} s)${s.longest ? ": the longest silence" : ""}`);
      if (s.longest) node.dataset.longest = "true";
      strip.append(node);
    }
    strip.append(element("div", "tk-playhead"));
    root.append(label, strip);
    return root;
  }

  /** The holds shaded on a strip, behind what it draws (a talk on hold is still drawn). */
  _holds(strip, duration) {
    for (const [start, end] of this.model.holds) {
      strip.append(span("tk-hold", start, end, duration, `On hold ${clock(start)}–${clock(end)}: the parties could not hear each other`));
    }
  }

  _bind() {
    seekOnStrips(this.lanesEl, ".tk-strip", () => this.model?.duration ?? null, this.onSeek);
  }
}
