// The reports page's two charts, drawn as inline SVG at the box's own pixel size
// (text stays crisp; no chart library): per group (hour, day, agent, ...)
// - calls: a bar as tall as the calls offered, stacked from those answered, those
//   abandoned and the rest (still waiting, or ended by the server), and the service
//   level as a line on its own axis (0-100 %, right);
// - times: bars of the average handle time and the average speed of answer (m:ss).
// One <g class="rc-group"> per group, whose <title> says its numbers in words. With
// more groups than fit (a day by hour on a phone), the chart is wider than its box,
// which scrolls, and starts where the calls are.

import { NONE, figureText, groupLabel, percent } from "./figures-words.js";
import { shortDay } from "./reports-range.js";
import { clock } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const PAD = { top: 16, bottom: 40 }; // left and right: as wide as the axes' words
// Narrower than this, a group's bars could not be told apart: the chart scrolls instead.
const MIN_GROUP_PX = { calls: 11, times: 16 };
const MAX_BAR_PX = 28; // a week by day: bars, not slabs
const CHAR_PX = 6.6; // an axis label's letter, at the CSS font size (11 px)
const TIMES = ["average_handle_time_s", "average_speed_of_answer_s"];
const COUNT_STEPS = [1, 2, 5];
const SECOND_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** A round axis top and step for values up to `max` (about `ticks` steps). */
function scale(max, kind, ticks = 4) {
  if (kind === "seconds") {
    const step = SECOND_STEPS.find((s) => s * ticks >= max) ?? Math.ceil(max / ticks / 3600) * 3600;
    return { step, top: Math.max(step, Math.ceil(max / step) * step) };
  }
  const raw = Math.max(1, max) / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, (COUNT_STEPS.find((m) => m * magnitude >= raw) ?? 10) * magnitude);
  return { step, top: Math.max(step, Math.ceil(max / step) * step) };
}

/** A group's calls as a stack, bottom up: answered, abandoned, and the rest of those offered. */
function callStack(group) {
  const rest = Math.max(0, (group.offered || 0) - (group.answered || 0) - (group.abandoned || 0));
  return [
    ["answered", group.answered || 0],
    ["abandoned", group.abandoned || 0],
    ["other", rest],
  ];
}

/** Groups of hours over more than one day (their names then carry the day). */
export function isMultiDay(groups) {
  return new Set(groups.map((g) => String(g.label).slice(0, 10))).size > 1;
}

/** A group's name under its bars: short, in the grouping's own way. */
function axisLabel(group, by, multiDay) {
  if (by === "hour") {
    const hour = group.label.slice(11, 16);
    return multiDay && hour === "00:00" ? shortDay(group.label.slice(0, 10)) : hour;
  }
  if (by === "day") return shortDay(group.label);
  return groupLabel(group, by);
}

/** A group's full name (the tooltip, the table): an hour names its day when there are several. */
export function fullLabel(group, by, multiDay = true) {
  if (by === "hour") {
    const next = String((Number(group.label.slice(11, 13)) + 1) % 24).padStart(2, "0");
    const hour = `${group.label.slice(11, 16)}–${next}:00`;
    return multiDay ? `${shortDay(group.label.slice(0, 10), { weekday: true })}, ${hour}` : hour;
  }
  if (by === "day") return shortDay(group.label, { weekday: true });
  return groupLabel(group, by) || "(none)";
}

/** The service level of each group as a line, broken where a group has none. */
function serviceLine(groups, left, groupW, y) {
  const line = svg("g", { class: "rc-line-group", "aria-hidden": "true" });
  let d = "";
  let drawing = false;
  groups.forEach((group, i) => {
    const share = group.service_level;
    if (typeof share !== "number") {
      drawing = false;
      return;
    }
    const [px, py] = [left + (i + 0.5) * groupW, y(share)];
    d += `${drawing ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)} `;
    drawing = true;
    line.append(svg("circle", { class: "rc-point", cx: px, cy: py, r: 3.5 }));
  });
  if (d) line.prepend(svg("path", { class: "rc-line", d: d.trim() }));
  return line;
}

/** Why there is nothing to draw. */
function emptyWords(report) {
  if (!report?.totals?.offered) return "No calls reached the queue in this range.";
  if (report.by === "category") return "None of this range's calls matched a category.";
  if (report.by === "agent") return "No agent answered a call in this range.";
  return "No calls reached the queue in this range.";
}

export class ReportCharts {
  /** @param {{calls: HTMLElement, times: HTMLElement, empty: HTMLElement}} elements the two figures */
  constructor(elements) {
    this.elements = elements;
    this.report = null;
    this.by = "day";
    this._width = 0;
    // Redrawn when the box changes width (a phone turned, a window resized).
    const box = this.elements.calls.querySelector(".rp-chart-box");
    this._observer = new ResizeObserver(() => {
      if (this.report && Math.abs(box.clientWidth - this._width) > 2) this._draw();
    });
    this._observer.observe(box);
  }

  /** Draw a report (GET /api/reports), or nothing (null). */
  render(report) {
    this.report = report;
    this.by = report?.by ?? "day";
    this._draw();
  }

  _draw() {
    const { calls, times, empty } = this.elements;
    const groups = this.report?.groups ?? [];
    const anything = groups.some((g) => g.offered > 0);
    calls.hidden = times.hidden = !anything;
    empty.hidden = !this.report || anything;
    empty.textContent = emptyWords(this.report);
    if (!anything) {
      for (const figure of [calls, times]) figure.querySelector(".rp-chart-box").replaceChildren();
      return;
    }
    calls.querySelector(".rp-chart-title").textContent = `Calls by ${this.by}, and the service level`;
    times.querySelector(".rp-chart-title").textContent = `Handle time and speed of answer by ${this.by}`;
    this._width = calls.querySelector(".rp-chart-box").clientWidth;
    this._chart(calls, "calls", groups);
    this._chart(times, "times", groups);
  }

  _chart(figure, kind, groups) {
    const box = figure.querySelector(".rp-chart-box");
    const n = groups.length;
    const calls = kind === "calls";
    // Calls: one stacked bar a group; times: the handle time and the speed of answer side by side.
    const stacks = groups.map((g) => (calls ? callStack(g) : TIMES.map((key) => [key, g[key] ?? 0])));
    const heights = stacks.map((parts) =>
      calls ? parts.reduce((total, [, v]) => total + v, 0) : Math.max(...parts.map(([, v]) => v)),
    );
    const { step, top } = scale(Math.max(0, ...heights), calls ? "count" : "seconds");
    const ticks = [];
    for (let value = 0; value <= top + 1e-9; value += step) ticks.push([value, calls ? String(value) : clock(value)]);
    const left = 10 + Math.max(...ticks.map(([, words]) => words.length)) * CHAR_PX;
    const right = calls ? 40 : 14;
    const width = Math.max(box.clientWidth || 600, left + right + n * MIN_GROUP_PX[kind]);
    const groupW = (width - left - right) / n;
    const bottom = HEIGHT - PAD.bottom;
    const y = (value) => bottom - (Math.max(0, value) / top) * (bottom - PAD.top);
    const root = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, class: "rc-svg", role: "img" });
    root.setAttribute("aria-label", this._ariaLabel(kind, n));

    // The grid and the axes (the service level's on the right).
    const axis = svg("g", { class: "rc-axis", "aria-hidden": "true" });
    for (const [value, words] of ticks) {
      axis.append(svg("line", { class: "rc-grid", x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      axis.append(svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, words));
    }
    if (calls) {
      for (const share of [0, 0.5, 1]) {
        const at = bottom - share * (bottom - PAD.top);
        axis.append(svg("text", { x: width - right + 6, y: at + 4, "text-anchor": "start", class: "rc-right" }, `${share * 100}%`));
      }
    }
    root.append(axis);

    // A group each: its bars, a target for pointing at it, its name under it.
    const multiDay = isMultiDay(groups);
    const labels = groups.map((g) => axisLabel(g, this.by, multiDay));
    const longest = Math.max(...labels.map((l) => l.length));
    const stride = Math.max(1, Math.ceil((longest * CHAR_PX + 8) / groupW));
    const maxChars = stride === 1 ? Math.max(3, Math.floor((groupW - 6) / CHAR_PX)) : longest;
    const columns = calls ? 1 : TIMES.length;
    const inner = Math.min(groupW * 0.78, columns * MAX_BAR_PX);
    const barW = inner / columns;
    const bars = svg("g", { class: "rc-bars" });
    let firstBusy = -1;
    groups.forEach((group, i) => {
      const x0 = left + i * groupW;
      const g = svg("g", { class: "rc-group", "data-key": group.key });
      g.append(svg("title", {}, this._groupWords(kind, group, multiDay)));
      g.append(svg("rect", { class: "rc-hit", x: x0, y: PAD.top, width: groupW, height: bottom - PAD.top }));
      let below = 0; // the stack so far
      stacks[i].forEach(([key, value], j) => {
        if (!(value > 0)) return;
        const x = x0 + (groupW - inner) / 2 + (calls ? 0 : j * barW);
        const base = calls ? below : 0;
        const bar = { class: "rc-bar", "data-series": key, x: x + 0.5, y: y(base + value) };
        g.append(svg("rect", { ...bar, width: Math.max(1, barW - 1), height: y(base) - y(base + value) }));
        below += value;
      });
      if (firstBusy < 0 && group.offered > 0) firstBusy = i;
      if (i % stride === 0) {
        const text = labels[i].length > maxChars ? `${labels[i].slice(0, maxChars - 1)}…` : labels[i];
        g.append(svg("text", { class: "rc-label", x: x0 + groupW / 2, y: bottom + 16, "text-anchor": "middle", "aria-hidden": "true" }, text));
      }
      bars.append(g);
    });
    root.append(bars);
    if (calls) root.append(serviceLine(groups, left, groupW, (share) => bottom - share * (bottom - PAD.top)));
    box.replaceChildren(root);
    // Wider than its box: start where the calls are (not at a night's empty hours).
    box.scrollLeft = width > box.clientWidth && firstBusy > 0 ? Math.max(0, firstBusy * groupW - 8) : 0;
  }

  _groupWords(kind, group, multiDay) {
    const name = fullLabel(group, this.by, multiDay);
    if (kind === "calls") {
      const level = group.service_level === null ? "no service level" : `service level ${percent(group.service_level)}`;
      return `${name}: ${group.offered} offered, ${group.answered} answered, ${group.abandoned} abandoned; ${level}`;
    }
    const aht = figureText("average_handle_time_s", group);
    const asa = figureText("average_speed_of_answer_s", group);
    return `${name}: handle time ${aht === NONE ? "none" : aht}, speed of answer ${asa === NONE ? "none" : asa}`;
  }

  _ariaLabel(kind, n) {
    const what =
      kind === "calls"
        ? `Calls offered per ${this.by}, of them answered and abandoned (stacked bars), and the service level (a line)`
        : `Average handle time and average speed of answer per ${this.by} (bars, in minutes and seconds)`;
    return `${what}, ${n} ${this.by === "category" && n !== 1 ? "categories" : `${this.by}${n === 1 ? "" : "s"}`}. The table below has every figure.`;
  }

  /** What the tests read (window.kotha.state().charts). */
  snapshot() {
    const of = (figure) => ({
      shown: !figure.hidden,
      groups: figure.querySelectorAll(".rc-group").length,
      bars: figure.querySelectorAll(".rc-bar").length,
      points: figure.querySelectorAll(".rc-point").length,
      width: Number(figure.querySelector("svg")?.getAttribute("width") || 0),
      box: figure.querySelector(".rp-chart-box").clientWidth,
      scrolled: figure.querySelector(".rp-chart-box").scrollLeft,
    });
    return { calls: of(this.elements.calls), times: of(this.elements.times), empty: !this.elements.empty.hidden };
  }
}
