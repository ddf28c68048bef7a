// The call panel's live quality charts: for the customer and the agent, a
// small line each of MOS, packet loss and jitter over the last two minutes,
// from the server's `quality_updated` (one view a second). Each line is
// labelled in words with its scale and its value now; the MOS line sits on
// the rating bands (poor, fair, good) with the rating in words beside it.
//
// The figures are those of the agent console's indicator: the worse of both
// directions of each party's audio, and no MOS while no audio arrives from
// them (the server's MOS then only describes the other direction).

import { FAIR_MOS, GOOD_MOS, RATING_WORDS, figure } from "./quality-indicator.js";
import { setText, syncList } from "./floor-dom.js";
import { RATING_SYMBOLS, ROLE_WORDS, element } from "./floor-words.js";

const SVG = "http://www.w3.org/2000/svg";
export const WINDOW_S = 120;
// Drawing boxes; CSS stretches them (lines keep their width: non-scaling-stroke).
const BOX_W = WINDOW_S;
const BOX_H = 30;
// Two points further apart than this are not joined (the party was away, or the socket).
const GAP_S = 3.5;

// Each line: its words, its scale (a loss or jitter past the top is drawn at the top) and
// where the bad values are (a dashed line at the alert threshold of the server's config).
const SERIES = [
  // Below 2.5 every line is poor alike: the height goes to the range that tells lines apart.
  { key: "mos", label: "MOS", scale: "2.5 to 4.5", min: 2.5, max: 4.5, unit: "mos", bands: true },
  { key: "lossPct", label: "Packet loss", scale: "0 to 10 %", min: 0, max: 10, unit: "%", threshold: 3 },
  { key: "jitterMs", label: "Jitter", scale: "0 to 60 ms", min: 0, max: 60, unit: "ms", threshold: 30 },
];
const ROLE_ORDER = { customer: 0, agent: 1 };

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function worst(values) {
  const measured = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  return measured.length ? Math.max(...measured) : null;
}

/** One party's figures of one `quality_updated` view. */
export function pointOf(participant, at) {
  const mic = participant.inbound?.microphone ?? {};
  const heard = participant.outbound?.audio ?? {};
  const silent = participant.inbound?.microphone?.packets === 0;
  return {
    at,
    mos: typeof participant.mos === "number" && !silent ? participant.mos : null,
    lossPct: worst([mic.loss_pct, heard.loss_pct]),
    jitterMs: worst([mic.jitter_ms, heard.jitter_ms]),
    silent,
  };
}

export class QualityTrend {
  /** @param {HTMLElement} root `section#trend` holding `.qt-parties` and `.qt-empty` */
  constructor(root) {
    this.root = root;
    this.container = root.querySelector(".qt-parties");
    this.empty = root.querySelector(".qt-empty");
    this.clear();
  }

  /** Forget everything (another call, or none). */
  clear() {
    this.parties = new Map(); // participant id -> {role, name, rating, reason, points: []}
    this.latestAt = null;
    this.updates = 0;
    this._draw();
  }

  /** A `quality_updated` view (or the watch_call ack's `quality`) of the call shown. */
  add(view) {
    if (!view || !Array.isArray(view.participants)) return;
    const at = typeof view.at === "number" ? view.at : Date.now() / 1000;
    if (this.latestAt !== null && at <= this.latestAt) return; // the same view again
    this.latestAt = at;
    this.updates += 1;
    for (const participant of view.participants) {
      if (!(participant.role in ROLE_ORDER)) continue;
      let party = this.parties.get(participant.participant_id);
      if (!party) {
        party = { participantId: participant.participant_id, role: participant.role, points: [] };
        this.parties.set(participant.participant_id, party);
      }
      Object.assign(party, { name: participant.name, rating: participant.rating, reason: participant.reason });
      party.points.push(pointOf(participant, at));
    }
    for (const party of this.parties.values()) {
      party.points = party.points.filter((p) => at - p.at <= WINDOW_S);
    }
    this._draw();
  }

  _draw() {
    const parties = [...this.parties.values()]
      .filter((p) => p.points.length)
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role]);
    this.empty.hidden = parties.length > 0;
    syncList(
      this.container,
      parties,
      (party) => party.participantId,
      (party) => this._createParty(party),
      (node, party) => this._drawParty(node, party),
    );
  }

  _createParty(party) {
    const node = element("article", "qt-party");
    const head = element("div", "qt-head");
    const title = element("h4", "qt-title");
    const rating = element("span", "q-rating");
    const symbol = element("span", "q-symbol");
    symbol.setAttribute("aria-hidden", "true");
    rating.append(symbol, element("span", "q-word"));
    head.append(title, rating);
    node.append(head, element("p", "qt-reason"));
    for (const series of SERIES) {
      const row = element("div", "qt-row");
      row.dataset.series = series.key;
      const label = element("span", "qt-label");
      label.append(element("span", "qt-name", series.label), element("span", "qt-scale", series.scale));
      const chart = svg("svg", { class: "qt-spark", viewBox: `0 0 ${BOX_W} ${BOX_H}`, preserveAspectRatio: "none" });
      chart.setAttribute("role", "img");
      row.append(label, chart, element("span", "qt-now"));
      node.append(row);
    }
    const axis = element("div", "qt-axis");
    axis.setAttribute("aria-hidden", "true");
    axis.append(element("span", "", "2 min ago"), element("span", "", "1 min ago"), element("span", "", "now"));
    node.append(axis);
    node.setAttribute("aria-label", `${ROLE_WORDS[party.role]}'s line`);
    return node;
  }

  _drawParty(node, party) {
    const rating = party.rating in RATING_WORDS ? party.rating : "unknown";
    node.dataset.rating = rating;
    setText(node.querySelector(".qt-title"), `${ROLE_WORDS[party.role]} · ${party.name || ""}`);
    const badge = node.querySelector(".q-rating");
    badge.dataset.rating = rating;
    setText(badge.querySelector(".q-symbol"), RATING_SYMBOLS[rating]);
    setText(badge.querySelector(".q-word"), RATING_WORDS[rating]);
    const reason = node.querySelector(".qt-reason");
    const why = rating === "good" || rating === "unknown" ? "" : party.reason || "";
    setText(reason, why ? why[0].toUpperCase() + why.slice(1) : "");
    reason.hidden = !why;
    const latest = party.points.at(-1);
    for (const series of SERIES) {
      const row = node.querySelector(`.qt-row[data-series="${series.key}"]`);
      const value = latest?.[series.key];
      const now = series.key === "mos" && latest?.silent ? "no audio" : figure(value, series.unit);
      setText(row.querySelector(".qt-now"), now);
      const chart = row.querySelector(".qt-spark");
      this._drawSeries(chart, series, party.points);
      chart.setAttribute("aria-label", `${series.label} over the last 2 minutes (${series.scale}); now ${now}`);
    }
  }

  /** One line: the bands or the threshold behind it, then the points joined where they are close. */
  _drawSeries(chart, series, points) {
    const y = (v) => {
      const clamped = Math.max(series.min, Math.min(series.max, v));
      return (BOX_H - ((clamped - series.min) / (series.max - series.min)) * BOX_H).toFixed(2);
    };
    const x = (at) => (BOX_W - (this.latestAt - at)).toFixed(2);
    const nodes = [];
    if (series.bands) {
      const top = (v) => Number(y(v));
      nodes.push(
        svg("rect", { class: "qt-band", "data-rating": "good", x: 0, width: BOX_W, y: 0, height: top(GOOD_MOS) }),
        svg("rect", { class: "qt-band", "data-rating": "fair", x: 0, width: BOX_W, y: top(GOOD_MOS), height: top(FAIR_MOS) - top(GOOD_MOS) }),
        svg("rect", { class: "qt-band", "data-rating": "poor", x: 0, width: BOX_W, y: top(FAIR_MOS), height: BOX_H - top(FAIR_MOS) }),
      );
    } else if (typeof series.threshold === "number") {
      const t = y(series.threshold);
      nodes.push(svg("line", { class: "qt-threshold", x1: 0, x2: BOX_W, y1: t, y2: t }));
    }
    let run = [];
    const runs = [];
    let previous = null;
    for (const point of points) {
      const value = point[series.key];
      const measured = typeof value === "number" && Number.isFinite(value);
      if (!measured || (previous && point.at - previous.at > GAP_S)) {
        if (run.length) runs.push(run);
        run = [];
      }
      if (measured) run.push(`${x(point.at)},${y(value)}`);
      previous = point;
    }
    if (run.length) runs.push(run);
    for (const line of runs) {
      // A lone point is a short flat stroke, so it shows.
      const drawn = line.length > 1 ? line : [line[0], line[0].replace(/^[\d.]+/, (v) => String(Math.max(0, Number(v) - 1)))];
      nodes.push(svg("polyline", { class: "qt-line", points: drawn.join(" ") }));
    }
    const last = points.at(-1);
    if (last && typeof last[series.key] === "number") {
      nodes.push(svg("line", { class: "qt-dot", x1: x(last.at), x2: x(last.at), y1: y(last[series.key]), y2: y(last[series.key]) }));
    }
    chart.replaceChildren(...nodes);
  }

  /** What the tests read (window.kotha.state().panel.quality). */
  snapshot() {
    return {
      updates: this.updates,
      parties: [...this.parties.values()].map((p) => {
        const latest = p.points.at(-1) ?? {};
        return {
          role: p.role,
          name: p.name,
          rating: p.rating,
          points: p.points.length,
          mos: latest.mos ?? null,
          lossPct: latest.lossPct ?? null,
          jitterMs: latest.jitterMs ?? null,
        };
      }),
    };
  }
}
