// The reports page's table: every figure of every group, and the totals at the
// foot. Each cell is worded by figures-words.js; a "—" carries a title saying why
// there was nothing to count. The first column stays in view while the table
// scrolls sideways (on a phone).

import { FIGURES, fillFigure } from "./figures-words.js";
import { fullLabel, isMultiDay } from "./reports-chart.js";
import { element } from "./transcript-words.js";

// The columns, in the order a supervisor reads them (the CSV has the same figures).
export const COLUMNS = [
  "offered",
  "answered",
  "abandoned",
  "service_level",
  "average_speed_of_answer_s",
  "abandonment_rate",
  "abandoned_wait_s",
  "handled",
  "average_handle_time_s",
  "average_hold_time_s",
  "occupancy",
  "mos_average",
  "negative_share",
  "csat_average",
  "csat_count",
];
const BY_WORDS = { hour: "Hour", day: "Day", agent: "Agent", language: "Language", category: "Category" };
// Why the rows need not add up to the total.
const NOTES = {
  agent: "The total also counts the calls no agent answered (those abandoned, or still waiting).",
  category: "A call may match several categories, or none: the rows need not add up to the total.",
};

export class ReportTable {
  /** @param {{columns: HTMLElement, rows: HTMLElement, totals: HTMLElement, note: HTMLElement, empty: HTMLElement}} elements */
  constructor(elements) {
    this.elements = elements;
  }

  /** Draw a report (GET /api/reports); null clears the table. */
  render(report) {
    const { columns, rows, totals, note, empty } = this.elements;
    const table = columns.closest("table");
    note.hidden = !(report && NOTES[report.by]);
    note.textContent = report ? NOTES[report.by] || "" : "";
    if (!report) {
      rows.replaceChildren();
      totals.replaceChildren();
      table.hidden = true;
      return;
    }
    const by = report.by;
    columns.replaceChildren(
      header(BY_WORDS[by] || by, ""),
      ...COLUMNS.map((key) => header(FIGURES[key].name, FIGURES[key].hint, key)),
    );
    const multiDay = isMultiDay(report.groups);
    rows.replaceChildren(...report.groups.map((group) => row(fullLabel(group, by, multiDay), group, by)));
    totals.replaceChildren(...row("Total", report.totals, "").children);
    totals.dataset.key = "total";
    table.hidden = false;
    empty.hidden = report.groups.length > 0;
    empty.textContent =
      by === "category"
        ? "No call in this range matched a category."
        : by === "agent"
          ? "No agent answered a call or took calls in this range."
          : "Nothing in this range.";
  }

  /** What the tests read: each row's cells as shown. */
  snapshot() {
    const cells = (tr) => ({
      key: tr.dataset.key,
      label: tr.querySelector("th").textContent,
      ...Object.fromEntries([...tr.querySelectorAll("td")].map((td) => [td.dataset.figure, td.textContent])),
    });
    const { rows, totals } = this.elements;
    return {
      rows: [...rows.children].map(cells),
      totals: totals.children.length ? cells(totals) : null,
    };
  }
}

function header(text, hint, key = "") {
  const th = element("th", key ? "rp-num" : "rp-group", text);
  th.scope = "col";
  if (hint) th.title = hint;
  if (key) th.dataset.figure = key;
  return th;
}

function row(label, figures, by) {
  const tr = element("tr");
  tr.dataset.key = figures.key ?? "total";
  tr.dataset.empty = String(!figures.offered && !figures.handled);
  const name = element("th", "rp-group", label);
  name.scope = "row";
  if (figures.label && figures.label !== label) name.title = figures.label;
  tr.append(name);
  for (const key of COLUMNS) {
    const td = element("td", "rp-num");
    td.dataset.figure = key;
    fillFigure(td, key, figures, { by });
    // A "—" can be focused, so its reason can be read without a mouse.
    if (td.dataset.none === "true") td.tabIndex = 0;
    tr.append(td);
  }
  return tr;
}
