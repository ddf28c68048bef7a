// The replay page's quality chart: for each party, a strip under the
// timeline bar (same width, same time axis) coloured good / fair / poor for
// every second of the call, with the MOS drawn over it as a line, the
// quality alerts marked where they fired, and the playhead. Clicking or
// dragging a strip seeks, like the timeline. Above the strips, the call's
// quality in words.
//
// Data: `quality` of GET /api/recordings/{id} (one entry a second, `t_ms` on
// the recording's clock, each sample covering the second before it), the
// `quality_alert` events of its `timeline`, and `recording.quality` (the
// summary; null for recordings made before quality was measured).

import { FAIR_MOS, GOOD_MOS, RATING_WORDS, figure, mosRating, sentence } from "./quality-indicator.js";
import { roleWords } from "./timeline.js";
import { clock, seekOnStrips } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
// The strip's drawing box; stretched to the strip's size (lines keep their width).
const BOX_W = 1000;
const BOX_H = 100;
// The MOS axis: the model gives 1 (worst) to about 4.4 (a clean line); below 2.5
// everything is poor alike, so the strip's height goes to the range that tells calls apart.
const MOS_MIN = 2.5;
const MOS_MAX = 4.5;
// A sample covers the second before it; a longer gap (the party was away) is not bridged.
const DEFAULT_SPAN_S = 1;
const MAX_SPAN_S = 2.5;
// How far apart a sample and an alert of the same tick may be stamped.
const TICK_SLACK_S = 0.1;
const ROLE_ORDER = { customer: 0, agent: 1 };
const ALERT_WORDS = {
  high_jitter: "uneven delivery (jitter)",
  high_loss: "packet loss",
  high_rtt: "slow round trip",
  low_mos: "poor sound",
  no_audio: "no audio",
};
const RATING_SENTENCE = { good: "good", fair: "a little unsteady", poor: "poor" };

/**
 * What the chart shows, or null when the recording has no quality data.
 * @param {object} recording the `recording` of the reply (meta, with `quality`, the summary)
 * @param {object[]} series the `quality` of the reply: [{t_ms, samples}]
 * @param {object[]} events the `timeline` of the reply (for `quality_alert` events)
 * @param {number} duration the length of the audio (s)
 */
export function qualityModel(recording, series, events, duration) {
  if (!Array.isArray(series) || series.length === 0 || !(duration > 0)) return null;
  const known = new Map((recording?.participants || []).map((p) => [p.participant_id, p]));
  const lanes = new Map();
  const lane = (id, role) => {
    if (!lanes.has(id)) {
      const who = known.get(id);
      lanes.set(id, {
        participantId: id,
        role: who?.role || role || "participant",
        name: who?.name || "",
        seconds: [],
        alerts: [],
      });
    }
    return lanes.get(id);
  };
  const entries = series
    .filter((e) => typeof e?.t_ms === "number")
    .sort((a, b) => a.t_ms - b.t_ms);
  let previous = null;
  for (const entry of entries) {
    const end = entry.t_ms / 1000;
    const span = previous === null ? DEFAULT_SPAN_S : Math.min(MAX_SPAN_S, Math.max(0, end - previous));
    previous = end;
    const byParticipant = new Map();
    for (const sample of entry.samples || []) {
      if (!sample?.participant_id) continue;
      if (!byParticipant.has(sample.participant_id)) byParticipant.set(sample.participant_id, []);
      byParticipant.get(sample.participant_id).push(sample);
    }
    for (const [id, samples] of byParticipant) {
      const audio = samples.filter((s) => s.kind === "audio");
      const scores = audio.map((s) => s.mos).filter((m) => typeof m === "number");
      const silent = audio.some((s) => s.direction === "inbound" && s.packets === 0);
      lane(id, samples[0].role).seconds.push({
        start: clamp(end - span, duration),
        end: clamp(end, duration),
        mos: scores.length && !silent ? Math.min(...scores) : null,
        silent,
      });
    }
  }
  // Alerts from the timeline: each fires and (usually) clears.
  for (const event of events || []) {
    if (event.type !== "quality_alert" || !event.alert?.participant_id) continue;
    const { alert } = event;
    const t = clamp((event.t_ms ?? 0) / 1000, duration);
    const target = lane(alert.participant_id, alert.role);
    const key = `${alert.kind}|${alert.direction}|${alert.kind_of_media}`;
    // The strip is the voice's (MOS): a trouble of the video alone is marked, not rated.
    const covers = alert.covers?.length ? alert.covers : [{ kind_of_media: alert.kind_of_media }];
    const voice = covers.some((c) => c.kind_of_media !== "video");
    if (event.active) target.alerts.push({ key, kind: alert.kind, message: alert.message || "", voice, start: t, end: null });
    else {
      const open = target.alerts.findLast((a) => a.key === key && a.end === null);
      if (open) open.end = t;
    }
  }
  const result = [];
  for (const l of lanes.values()) {
    // The server's rating: poor while an alert is on, else by MOS band. An alert is
    // written in the same tick as the sample that fired (or cleared) it.
    for (const s of l.seconds) {
      const alerted = l.alerts.some((a) => a.voice && a.start <= s.end + TICK_SLACK_S && s.end < (a.end ?? Infinity) - TICK_SLACK_S);
      // A microphone that sent nothing is poor once its no-audio alert says so (as live);
      // before that (the first second of a call) it is not measured.
      s.rating = alerted ? "poor" : s.silent ? "unknown" : mosRating(s.mos);
    }
    for (const a of l.alerts) a.end ??= duration;
    const scores = l.seconds.map((s) => s.mos).filter((m) => typeof m === "number");
    result.push({
      ...l,
      segments: mergeSegments(l.seconds),
      points: scores.length,
      mosAverage: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
      mosWorst: scores.length ? Math.min(...scores) : null,
    });
  }
  result.sort((a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9));
  if (!result.some((l) => l.seconds.length)) return null;
  return { duration, lanes: result, summary: recording?.quality ?? null };
}

/** Runs of seconds with the same rating, as one range each. */
function mergeSegments(seconds) {
  const segments = [];
  for (const s of seconds) {
    const last = segments.at(-1);
    if (last && last.rating === s.rating && Math.abs(last.end - s.start) < 0.05) {
      last.end = s.end;
      last.scores.push(s.mos);
    } else {
      segments.push({ start: s.start, end: s.end, rating: s.rating, scores: [s.mos] });
    }
  }
  return segments;
}

function clamp(t, duration) {
  return Math.min(Math.max(0, Number.isFinite(t) ? t : 0), duration);
}

/** The call's quality in words, from the stored summary (or, without one, from the lanes). */
export function summaryWords(model) {
  const summary = model.summary;
  const scores = model.lanes.flatMap((l) => l.seconds.map((s) => s.mos)).filter((m) => typeof m === "number");
  const average = summary?.mos_average ?? (scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null);
  const worst = summary?.mos_worst ?? (scores.length ? Math.min(...scores) : null);
  const parts = [];
  if (typeof average === "number") {
    parts.push(
      `Average MOS ${figure(average, "mos")} (${RATING_SENTENCE[mosRating(average)]}), worst ${figure(worst, "mos")}.`,
    );
  } else {
    parts.push("No MOS was measured.");
  }
  if (summary) {
    if (typeof summary.jitter_ms_p95 === "number") {
      parts.push(`Jitter ${figure(summary.jitter_ms_p95, "ms")} or less 95% of the time.`);
    }
    if (typeof summary.loss_pct === "number") parts.push(`${figure(summary.loss_pct, "%")} of audio packets lost.`);
    const alerts = Object.entries(summary.alerts || {}).filter(([, n]) => n > 0);
    parts.push(
      alerts.length
        ? `Alerts: ${alerts.map(([kind, n]) => `${ALERT_WORDS[kind] || kind.replaceAll("_", " ")} ×${n}`).join(", ")}.`
        : "No quality alerts.",
    );
  }
  return parts.join(" ");
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * The chart. Elements: root (the section, hidden without data), summary (a paragraph),
 * lanes (where the strips go). `onSeek(seconds)` is called on a click or drag.
 */
export class QualityChart {
  constructor({ root, summary, lanes }, onSeek) {
    Object.assign(this, { root, summaryEl: summary, lanesEl: lanes });
    this.onSeek = onSeek;
    this.model = null;
    this.position = 0;
    this._bind();
  }

  /** Draw a model from qualityModel(), or hide the chart (null). */
  render(model) {
    this.model = model;
    this.root.hidden = !model;
    if (!model) {
      this.summaryEl.textContent = "";
      this.lanesEl.replaceChildren();
      return;
    }
    this.summaryEl.textContent = summaryWords(model);
    this.lanesEl.replaceChildren(...model.lanes.map((lane) => this._lane(lane, model.duration)));
    this.setPosition(this.position);
  }

  /** Move the playhead to `seconds`. */
  setPosition(seconds) {
    this.position = seconds;
    if (!this.model) return;
    const fraction = Math.min(1, Math.max(0, seconds / this.model.duration));
    for (const head of this.lanesEl.querySelectorAll(".q-playhead")) head.style.left = `${fraction * 100}%`;
  }

  /** What the tests read (window.kotha.state().quality). */
  counts() {
    if (!this.model) return { shown: false, lanes: [], summary: "" };
    return {
      shown: !this.root.hidden,
      lanes: this.model.lanes.map((l) => ({
        role: l.role,
        name: l.name,
        points: l.points,
        seconds: l.seconds.length,
        rated: l.seconds.map(({ rating, mos }) => ({ rating, mos })),
        segments: l.segments.length,
        alerts: l.alerts.length,
        mosAverage: l.mosAverage,
      })),
      summary: this.summaryEl.textContent,
    };
  }

  _lane(lane, duration) {
    const x = (t) => (t / duration) * BOX_W;
    const y = (mos) => BOX_H - 6 - ((Math.min(MOS_MAX, Math.max(MOS_MIN, mos)) - MOS_MIN) / (MOS_MAX - MOS_MIN)) * (BOX_H - 12);
    const root = element("div", "q-lane");
    root.dataset.role = lane.role;
    const who = `${roleWords(lane.role)}${lane.name ? ` · ${lane.name}` : ""}`;
    const label = element("p", "q-lane-label");
    label.append(element("strong", "", who));
    const figures =
      lane.mosAverage === null
        ? "MOS not measured"
        : `MOS ${figure(lane.mosAverage, "mos")} on average, worst ${figure(lane.mosWorst, "mos")}`;
    const alerts = lane.alerts.length ? ` · ${lane.alerts.length} alert${lane.alerts.length === 1 ? "" : "s"}` : "";
    label.append(element("span", "q-lane-figures", ` ${figures}${alerts}`));

    const strip = element("div", "q-strip");
    strip.setAttribute("role", "img");
    strip.setAttribute("aria-label", `${who}: call quality over time, ${figures}${alerts}`);
    // The bands are boxes (hatched where poor, so the rating is not told by colour alone);
    // the thresholds and the MOS line are drawn over them, stretched to the strip.
    for (const segment of lane.segments) {
      const band = element("div", "q-band");
      band.dataset.rating = segment.rating;
      band.style.left = `${(segment.start / duration) * 100}%`;
      band.style.width = `${(Math.max(0, segment.end - segment.start) / duration) * 100}%`;
      const scores = segment.scores.filter((m) => typeof m === "number");
      const mos = scores.length ? `, MOS ${figure(Math.min(...scores), "mos")}${scores.length > 1 ? " at worst" : ""}` : "";
      const rating = segment.rating === "unknown" ? "not measured" : RATING_WORDS[segment.rating].toLowerCase();
      band.title = `${clock(segment.start)}–${clock(segment.end)}: ${rating}${mos}`;
      strip.append(band);
    }
    const chart = svg("svg", { viewBox: `0 0 ${BOX_W} ${BOX_H}`, preserveAspectRatio: "none", "aria-hidden": "true" });
    for (const [mos, kind] of [[GOOD_MOS, "good"], [FAIR_MOS, "fair"]]) {
      chart.append(svg("line", { class: "q-threshold", "data-kind": kind, x1: 0, x2: BOX_W, y1: y(mos), y2: y(mos) }));
    }
    // The MOS line: a step per second, across the second it measured; broken where a
    // second was not measured or is missing.
    let d = "";
    let previous = null; // the second drawn just before, if it was
    for (const s of lane.seconds) {
      if (typeof s.mos !== "number") {
        previous = null;
        continue;
      }
      const joined = previous !== null && Math.abs(s.start - previous.end) < 0.05;
      const [x0, x1, ys] = [x(s.start).toFixed(1), x(s.end).toFixed(1), y(s.mos).toFixed(1)];
      d += joined ? `V${ys} H${x1} ` : `M${x0} ${ys} H${x1} `;
      previous = s;
    }
    const line = svg("path", { class: "q-mos", d: d.trim() || "M0 0", "data-points": lane.points });
    line.setAttribute("vector-effect", "non-scaling-stroke");
    chart.append(line);
    strip.append(chart);

    for (const alert of lane.alerts) {
      const range = element("div", "q-alert-range");
      range.style.left = `${(alert.start / duration) * 100}%`;
      range.style.width = `${(Math.max(0, alert.end - alert.start) / duration) * 100}%`;
      const mark = element("div", "q-alert-mark");
      mark.dataset.kind = alert.kind;
      mark.style.left = `${(alert.start / duration) * 100}%`;
      const cleared = alert.end < duration ? ` (cleared at ${clock(alert.end)})` : "";
      mark.title = `Alert at ${clock(alert.start)}: ${sentence(alert.message)}${cleared}`;
      range.title = mark.title;
      strip.append(range, mark);
    }
    strip.append(element("div", "q-playhead"));
    root.append(label, strip);
    return root;
  }

  _bind() {
    seekOnStrips(this.lanesEl, ".q-strip", () => this.model?.duration ?? null, this.onSeek);
  }
}
