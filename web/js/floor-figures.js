// The floor's numbers on the dashboard, live: today's (or the last 15 minutes')
// service level against its target, average speed of answer, abandonment and how
// long the abandoned waited, average handle time, calls handled, average MOS, the
// share of calls ending negative and the customers' rating; and today's agents
// (calls handled, handle time, occupancy, rating).
//
// Read from GET /api/reports/live every 5 s while the page is visible (poller.js): a
// hidden tab (or a signed-out page) asks for nothing, and asks at once when it shows again.
// The numbers are worded by figures-words.js, as on the reports page.

import { setText, syncList } from "./floor-dom.js";
import { Poller } from "./poller.js";
import {
  NONE,
  fillFigure,
  figureText,
  ratingsWords,
  targetWords,
} from "./figures-words.js";
import { element } from "./transcript-words.js";
import { ReportsApi, reportsErrorWords as errorWords } from "./reports-api.js";

export const POLL_MS = 5000;
const PERIODS = { today: "Today", last_15_min: "Last 15 minutes" };

export class FloorFigures {
  /**
   * @param {HTMLElement} root the panel (#figures); its tiles are `[data-figure]` elements
   * @param {() => string|null} token the signed-in token now (it is renewed while signed in)
   */
  constructor(root, token) {
    this.root = root;
    this.token = token;
    this.period = "today";
    this.live = null; // the latest reply
    this.error = null;
    this.fetches = 0;
    this.poller = new Poller(POLL_MS, {
      read: () => new ReportsApi(this.token()).live(),
      onRead: (live) => {
        this.live = live;
        this.error = null;
        this.fetches += 1;
        this.render();
      },
      onError: (error) => {
        this.error = error;
        this.render();
      },
    });
    for (const button of root.querySelectorAll(".ff-period")) {
      button.addEventListener("click", () => this.showPeriod(button.dataset.period));
    }
  }

  get polling() {
    return this.poller.running;
  }

  /** Start reading the numbers (signed in); safe to call again. */
  start() {
    this.root.hidden = false;
    this.poller.start();
  }

  /** Stop reading them (signed out): nothing more is asked, what was shown is cleared. */
  stop() {
    this.poller.stop();
    this.live = null;
    this.error = null;
    this.root.hidden = true;
  }

  showPeriod(period) {
    if (!(period in PERIODS)) return;
    this.period = period;
    this.render();
  }

  // -- drawing -----------------------------------------------------------------

  render() {
    const root = this.root;
    for (const button of root.querySelectorAll(".ff-period")) {
      button.setAttribute("aria-pressed", String(button.dataset.period === this.period));
    }
    root.dataset.stale = String(Boolean(this.error && this.live));
    setText(root.querySelector(".ff-status"), this._statusWords());
    const figures = this.live?.[this.period] ?? null;
    const target = this.live?.service_level_target_s ?? 20;
    for (const tile of root.querySelectorAll(".ff-tile[data-figure]")) this._drawTile(tile, figures, target);
    this._drawAgents(this.live?.agents ?? []);
  }

  _statusWords() {
    const at = this.live ? new Date(this.live.at * 1000) : null;
    const when = at ? at.toLocaleTimeString("en-GB", { timeZone: this.live.timezone || undefined }) : "";
    if (this.error) {
      const why = errorWords(this.error);
      return at ? `Not updated since ${when}: ${why}` : `The numbers could not be read: ${why}`;
    }
    if (!at) return "Reading the numbers…";
    const day = this.period === "today" ? `since midnight (${this.live.timezone})` : "in the last 15 minutes";
    return `Calls that reached the queue ${day}; updated ${when}.`;
  }

  _drawTile(tile, figures, target) {
    const key = tile.dataset.figure;
    const value = tile.querySelector(".ff-value");
    const detail = tile.querySelector(".ff-detail");
    if (!figures) {
      setText(value, NONE);
      setText(detail, "");
      value.title = "";
      return;
    }
    if (key === "csat") {
      fillFigure(value, "csat_average", figures);
      setText(detail, figures.csat_count ? `of 5, from ${ratingsWords(figures.csat_count)}` : "no ratings yet");
      return;
    }
    fillFigure(value, key, figures);
    setText(detail, detailWords(key, figures, target));
  }

  _drawAgents(agents) {
    const rows = this.root.querySelector(".ff-agent-rows");
    syncList(
      rows,
      agents,
      (agent) => agent.key,
      () => {
        const row = element("tr");
        row.append(element("th", "ff-agent-name"));
        row.lastChild.scope = "row";
        for (const key of AGENT_COLUMNS) {
          const cell = element("td", "ff-num");
          cell.dataset.figure = key;
          row.append(cell);
        }
        return row;
      },
      (row, agent) => {
        setText(row.querySelector(".ff-agent-name"), agent.label || agent.key);
        for (const cell of row.querySelectorAll("td[data-figure]")) fillFigure(cell, cell.dataset.figure, agent, { by: "agent" });
      },
    );
    this.root.querySelector(".ff-agents").hidden = agents.length === 0;
    this.root.querySelector(".ff-agents-empty").hidden = agents.length > 0 || !this.live;
  }

  /** What the tests read (window.kotha.state().figures). */
  snapshot() {
    const tiles = {};
    for (const tile of this.root.querySelectorAll(".ff-tile[data-figure]")) {
      tiles[tile.dataset.figure] = tile.querySelector(".ff-value").textContent + tileSuffix(tile);
    }
    const agents = [...this.root.querySelectorAll(".ff-agent-rows > tr")].map((row) => ({
      key: row.dataset.key,
      name: row.querySelector(".ff-agent-name").textContent,
      ...Object.fromEntries([...row.querySelectorAll("td[data-figure]")].map((c) => [c.dataset.figure, c.textContent])),
    }));
    return {
      shown: !this.root.hidden,
      polling: this.polling,
      period: this.period,
      fetches: this.fetches,
      at: this.live?.at ?? null,
      live: this.live,
      tiles,
      agents,
      status: this.root.querySelector(".ff-status").textContent,
      error: this.error ? { code: this.error.code ?? null, text: errorWords(this.error) } : null,
    };
  }
}

const AGENT_COLUMNS = ["handled", "average_handle_time_s", "occupancy", "csat_average"];

/** The line under a tile's number. */
function detailWords(key, figures, target) {
  switch (key) {
    case "service_level":
      return `answered within ${targetWords(target)}`;
    case "abandonment_rate":
      if (!figures.abandoned) return "nobody gave up waiting";
      return `${figures.abandoned} gave up, after ${figureText("abandoned_wait_s", figures)} on average`;
    case "handled":
      return `of ${figures.offered} offered`;
    case "average_speed_of_answer_s":
      return `${figures.answered} answered; target ${targetWords(target)}`;
    case "average_handle_time_s":
      return "answer to end";
    case "mos_average":
      return "sound quality (1 to 4.4)";
    case "negative_share":
      return figures.negative_share === null ? "no moods measured" : "customer's mood at the end";
    default:
      return "";
  }
}

/** A tile read as one phrase ("82% answered within 20 s"): what the tests compare. */
function tileSuffix(tile) {
  const detail = tile.querySelector(".ff-detail").textContent;
  return detail ? ` ${detail}` : "";
}
