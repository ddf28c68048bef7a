// The floor's numbers in words: one place for how a figure of the reports API
// (GET /api/reports/live and GET /api/reports, docs/protocol.md) is shown, so the
// dashboard's live panel and the reports page say the same thing the same way.
//
// Durations as m:ss, shares as whole percents, MOS and CSAT with one decimal.
// A null figure means there was nothing to count: it is shown as "—", and
// `figureTitle()` says why (shown as the cell's title and read by screen readers).
//
// English only: these pages are for staff.

import { languageWords } from "./transcript-words.js";
import { clock } from "./ui.js";

export const NONE = "—";

// How each figure is shown: its name (a column or a tile), and its kind of number.
export const FIGURES = {
  offered: { name: "Offered", kind: "count", hint: "Calls that reached the queue" },
  answered: { name: "Answered", kind: "count", hint: "Calls an agent answered" },
  abandoned: { name: "Abandoned", kind: "count", hint: "Callers who gave up waiting" },
  handled: { name: "Handled", kind: "count", hint: "Calls answered and ended" },
  answered_in_target: { name: "In target", kind: "count", hint: "Calls answered within the target" },
  service_level: { name: "Service level", kind: "share", hint: "Answered within the target, of the calls that left the queue" },
  average_speed_of_answer_s: { name: "Speed of answer", kind: "duration", hint: "Average wait of the answered calls" },
  abandonment_rate: { name: "Abandon rate", kind: "share", hint: "Gave up waiting, of the calls that left the queue" },
  abandoned_wait_s: { name: "Abandoned after", kind: "duration", hint: "Average wait of the callers who gave up" },
  average_handle_time_s: { name: "Handle time", kind: "duration", hint: "Average time from answer to end" },
  average_hold_time_s: { name: "Hold time", kind: "duration", hint: "Average time customers spent on hold, over the handled calls (never held counts as 0:00)" },
  held: { name: "Held", kind: "count", hint: "Handled calls whose customer was put on hold" },
  occupancy: { name: "Occupancy", kind: "share", hint: "Time on calls, of the time taking calls (Away not counted)" },
  mos_average: { name: "MOS", kind: "mos", hint: "Average sound quality (MOS, 1 to about 4.4)" },
  negative_share: { name: "Ending negative", kind: "share", hint: "Handled calls whose customer sounded negative at the end" },
  csat_average: { name: "CSAT", kind: "csat", hint: "Customers' average rating, 1 to 5" },
  csat_count: { name: "Ratings", kind: "count", hint: "How many customers rated their call" },
};

// Why a figure is null: there was nothing to count.
const WHY_NONE = {
  service_level: "No call left the queue (answered or abandoned), so there is no service level",
  average_speed_of_answer_s: "No call was answered, so there is no wait to average",
  abandonment_rate: "No call left the queue (answered or abandoned), so there is no rate",
  abandoned_wait_s: "Nobody gave up waiting",
  average_handle_time_s: "No call was answered and ended, so there is no handle time",
  average_hold_time_s: "No call was answered and ended, so there is no hold time to average",
  occupancy: "No agent was taking calls (Available, Ringing or On a call)",
  mos_average: "No call has its sound quality measured yet (it is added when the recording is finished)",
  negative_share: "No handled call has the customer's mood at its end (it comes from the transcript)",
  csat_average: "No customer rated a call",
};
// Occupancy is an agent's time: it is not counted per language or category.
const OCCUPANCY_PER_AGENT = "Occupancy is counted for agents' time: see the report by agent, hour or day";

/** A share (0..1) as a whole percent ("82%"); null as "—". */
export function percent(share) {
  return typeof share === "number" && Number.isFinite(share) ? `${Math.round(share * 100)}%` : NONE;
}

/** Seconds as m:ss (h:mm:ss past an hour), to the nearest second; null as "—". */
export function duration(seconds) {
  return typeof seconds === "number" && Number.isFinite(seconds) ? clock(Math.round(seconds)) : NONE;
}

/** A number with one decimal ("4.2"); null as "—". */
export function oneDecimal(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(1) : NONE;
}

/** A whole count ("12"); null as "—". */
export function count(value) {
  return typeof value === "number" && Number.isFinite(value) ? String(Math.round(value)) : NONE;
}

/** The service level's target in words: "20 s", "1:30 min". */
export function targetWords(targetS) {
  const s = Number(targetS) || 0;
  return s >= 60 ? `${clock(s)} min` : `${Math.round(s * 10) / 10} s`;
}

/** `figures[key]` as text. */
export function figureText(key, figures) {
  const value = figures?.[key];
  switch (FIGURES[key]?.kind) {
    case "share":
      return percent(value);
    case "duration":
      return duration(value);
    case "mos":
    case "csat":
      return oneDecimal(value);
    default:
      return count(value);
  }
}

/**
 * What a figure's title says: why it is "—", or what it means.
 * @param {string} key a figure's name in the API
 * @param {object} figures one period's or one group's figures
 * @param {{by?: string}} context the grouping, when it is a group's
 */
export function figureTitle(key, figures, { by = "" } = {}) {
  const value = figures?.[key];
  if (value === null || value === undefined) {
    if (key === "occupancy" && (by === "language" || by === "category")) return OCCUPANCY_PER_AGENT;
    return WHY_NONE[key] || "Nothing to count";
  }
  if (key === "csat_average") return `${ratingsWords(figures.csat_count)}; ${starsWords(figures.csat_distribution)}`;
  if (key === "service_level") return `${figures.answered_in_target} answered within the target, of ${figures.answered + figures.abandoned} that left the queue`;
  return FIGURES[key]?.hint || "";
}

/** Fill `node` with a figure: its text, and a title saying what it is (or why it is "—"). */
export function fillFigure(node, key, figures, context = {}) {
  const text = figureText(key, figures);
  if (node.textContent !== text) node.textContent = text;
  node.title = figureTitle(key, figures, context);
  node.dataset.none = String(text === NONE);
}

/** "1 rating", "12 ratings", "no ratings". */
export function ratingsWords(n) {
  const k = Number(n) || 0;
  return k === 0 ? "no ratings" : `${k} rating${k === 1 ? "" : "s"}`;
}

/** The ratings given, star by star: "5★ 3, 4★ 1". */
export function starsWords(distribution) {
  const counts = Array.isArray(distribution) ? distribution : [];
  const parts = [];
  for (let score = 5; score >= 1; score -= 1) {
    if (counts[score - 1]) parts.push(`${score}★ ${counts[score - 1]}`);
  }
  return parts.join(", ") || "none given";
}

/** A group's name for people: a language's code in words ("bn" -> "Bengali"), else its label. */
export function groupLabel(group, by) {
  if (by === "language") return languageWords(group.key, group.label || "");
  return group.label || group.key || "";
}
