// The reports page: the floor's numbers over a range of days, in total and by
// hour, day, agent, language or category (GET /api/reports): the headline
// figures, two charts (calls with the service level; handle time and speed of
// answer), a table of every figure per group, and the same as a CSV file.
//
// Signs in with a supervisor's or an admin's token from the fragment (#token=…)
// or pasted into the form; the server refuses every other role (403), and the
// page says so in its words. Days are the call centre's (the API's `timezone`),
// so "Today" is the centre's today. The range and grouping ride in the fragment
// (#since=…&until=…&by=…), so a link can share a view.
//
// English only: this page is for staff.

import { fillFigure, figureText, ratingsWords, targetWords } from "./figures-words.js";
import { Page } from "./page.js";
import { ReportsApi, reportsErrorWords as errorWords } from "./reports-api.js";
import { ReportCharts } from "./reports-chart.js";
import { DAY, QUICK_RANGES, addDays, dayIn, quickRangeOf, rangeWords } from "./reports-range.js";
import { ReportTable } from "./reports-table.js";
import { TokenStore, tokenClaims } from "./token-store.js";
import { $, exposeForTests } from "./ui.js";

const SECTIONS = ["loading", "signin", "report"];
const tokens = new TokenStore("kotha.reports.token");
const ROLE_WORDS = { supervisor: "Supervisor", admin: "Admin" };
const GROUPINGS = ["hour", "day", "agent", "language", "category"];
const BY_WORDS = { hour: "by hour", day: "by day", agent: "by agent", language: "by language", category: "by category" };

class ReportsPage extends Page {
  constructor() {
    super(SECTIONS);
    this.api = null;
    this.claims = {};
    this.zone = null; // the centre's time zone, once the server said it
    this.targetS = 20;
    this.query = { since: "", until: "", by: "day" }; // what the form last applied
    this.report = null; // the reply shown
    this.loading = false;
    this.downloading = false;
    this.downloads = 0;
    this._request = 0;
    this.charts = new ReportCharts({ calls: $("chart-calls"), times: $("chart-times"), empty: $("charts-empty") });
    this.table = new ReportTable({
      columns: $("table-columns"),
      rows: $("table-rows"),
      totals: $("table-totals"),
      note: $("table-note"),
      empty: $("table-empty"),
    });
  }

  start() {
    this._bind();
    const token = tokens.take(); // strips #token=…, keeps the rest of the fragment
    this._readFragment();
    if (token) this.signIn(token);
    else this.setPhase("signin");
  }

  // -- signing in --------------------------------------------------------------

  /** The live figures check the token (and tell the centre's time zone); then the report. */
  async signIn(token) {
    this.api = new ReportsApi(token);
    this.claims = tokenClaims(token);
    this.setPhase("loading");
    this.clearError();
    try {
      const live = await this.api.live();
      this.zone = live.timezone || null;
      this.targetS = live.service_level_target_s ?? this.targetS;
    } catch (error) {
      if (this.signOutIfRefused(error)) return;
      this.showError(error); // a network failure: the days are the computer's until a report says
    }
    tokens.save(token);
    if (!this.query.since || !this.query.until) this.query = { ...QUICK_RANGES.last_7_days(this.today()), by: this.query.by };
    this._fillForm();
    this.setPhase("report");
    await this.load();
  }

  signOut() {
    tokens.clear();
    this._request += 1;
    this.api = null;
    this.claims = {};
    this.report = null;
    this.loading = false;
    this.charts.render(null);
    this.table.render(null);
    $("token-input").value = "";
    this.setPhase("signin");
  }

  // -- the range -----------------------------------------------------------------

  today() {
    return dayIn(this.zone);
  }

  _readFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const since = fragment.get("since") || "";
    const until = fragment.get("until") || "";
    const by = fragment.get("by") || "day";
    this.query = {
      since: DAY.test(since) ? since : "",
      until: DAY.test(until) ? until : "",
      by: GROUPINGS.includes(by) ? by : "day",
    };
  }

  _writeFragment() {
    const fragment = new URLSearchParams(this.query).toString();
    history.replaceState(history.state, "", `${location.pathname}${location.search}#${fragment}`);
  }

  _fillForm() {
    $("q-since").value = this.query.since;
    $("q-until").value = this.query.until;
    $("q-by").value = this.query.by;
  }

  /** The form's range, checked; a problem is thrown as a form error naming the field. */
  _formQuery() {
    const query = { since: $("q-since").value.trim(), until: $("q-until").value.trim(), by: $("q-by").value };
    for (const id of ["q-since", "q-until"]) $(id).removeAttribute("aria-invalid");
    const problem = (field, id, message) => {
      $(id).setAttribute("aria-invalid", "true");
      $(id).focus();
      return Object.assign(new Error(message), { code: "form", field });
    };
    if (!DAY.test(query.since)) throw problem("since", "q-since", "give a day, such as 2026-03-01");
    if (!DAY.test(query.until)) throw problem("until", "q-until", "give a day, such as 2026-03-07");
    if (query.since > query.until) throw problem("until", "q-until", "“To” is before “From”");
    return query;
  }

  /** Apply the form (or the given range) and load its report. */
  async apply(query = null) {
    this.clearError();
    try {
      this.query = query ?? this._formQuery();
    } catch (error) {
      this.showError(error);
      return;
    }
    this._fillForm();
    this._writeFragment();
    await this.load();
  }

  quick(name) {
    const range = QUICK_RANGES[name]?.(this.today());
    if (range) this.apply({ ...range, by: $("q-by").value });
  }

  // -- the report ----------------------------------------------------------------

  /** Ask for the applied range's report; false if it failed (the error is shown). */
  async load() {
    if (!this.api) return false;
    const request = ++this._request;
    const query = { ...this.query };
    this.loading = true;
    this.render();
    try {
      const report = await this.api.report(query);
      if (request !== this._request) return false;
      this.report = { ...report, query };
      this.zone = report.timezone || this.zone;
      this.targetS = report.service_level_target_s ?? this.targetS;
      return true;
    } catch (error) {
      if (request !== this._request) return false;
      if (!this.signOutIfRefused(error)) {
        this.report = null;
        this.showError(error);
      }
      return false;
    } finally {
      if (request === this._request) {
        this.loading = false;
        this.charts.render(this.report);
        this.table.render(this.report);
        this.render();
      }
    }
  }

  /** The shown report as a CSV file: fetched with the token, saved through a link. */
  async download() {
    if (!this.report || this.downloading) return;
    this.downloading = true;
    this.clearError();
    try {
      const { blob, filename } = await this.api.csv(this.report.query);
      const url = URL.createObjectURL(blob);
      const link = Object.assign(document.createElement("a"), { href: url, download: filename, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      this.downloads += 1;
    } catch (error) {
      if (!this.signOutIfRefused(error)) this.showError(error);
    } finally {
      this.downloading = false;
      this.render();
    }
  }

  // -- drawing -------------------------------------------------------------------

  showError(error) {
    super.showError(error);
    if (this.error) $("error").scrollIntoView?.({ block: "nearest" });
  }

  render() {
    $("error").hidden = !this.error;
    $("error").textContent = this.error ? errorWords(this.error) : "";
    const signedIn = Boolean(this.api) && this.phase === "report";
    $("staff-bar").hidden = !signedIn;
    $("staff-name").textContent = this.claims.name || this.claims.sub || "";
    $("staff-role").textContent = ROLE_WORDS[this.claims.role] || this.claims.role || "";
    if (this.phase === "report") this._renderReport();
  }

  _renderReport() {
    const today = this.today();
    const pressed = quickRangeOf(this.query.since, this.query.until, today);
    for (const button of document.querySelectorAll(".rp-range")) {
      button.setAttribute("aria-pressed", String(button.dataset.range === pressed));
    }
    const zone = this.zone ? `the centre's time zone, ${this.zone}` : "your computer's time zone";
    $("range-hint").textContent =
      `Days are in ${zone}; “To” includes its day (today counts up to now). ` +
      `By hour a report covers at most 31 days, otherwise 400. A call counts on the day and hour it reached the queue.`;
    const report = this.report;
    let summary = "";
    if (this.loading) summary = "Loading…";
    else if (report) {
      const { since, until, by } = report.query;
      const calls = report.totals.offered;
      summary = `${rangeWords(since, until)}, ${BY_WORDS[by]}: ${calls} call${calls === 1 ? "" : "s"} reached the queue.`;
    }
    $("summary").textContent = summary;
    $("report").dataset.loading = String(this.loading);
    const totals = report?.totals ?? null;
    for (const tile of document.querySelectorAll("#totals .rp-tile")) this._drawTile(tile, totals);
    const download = $("download");
    download.disabled = !report || this.downloading;
    download.textContent = this.downloading ? "Preparing the file…" : "Download CSV";
    // Yesterday's button names the day it is (so nobody has to count back).
    $("report").querySelector('[data-range="yesterday"]').title = rangeWords(addDays(today, -1), addDays(today, -1));
  }

  _drawTile(tile, figures) {
    const key = tile.dataset.figure;
    const value = tile.querySelector(".rp-value");
    const detail = tile.querySelector(".rp-detail");
    if (!figures) {
      value.textContent = "—";
      value.title = "";
      detail.textContent = "";
      return;
    }
    fillFigure(value, key, figures);
    detail.textContent = tileDetail(key, figures, this.targetS);
  }

  // -- wiring ----------------------------------------------------------------------

  _bind() {
    this.bindSignIn((token) => this.signIn(token));
    $("query-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.apply();
    });
    for (const button of document.querySelectorAll(".rp-range")) {
      button.addEventListener("click", () => this.quick(button.dataset.range));
    }
    $("download").addEventListener("click", () => this.download());
  }

  snapshot() {
    const tiles = {};
    for (const tile of document.querySelectorAll("#totals .rp-tile")) {
      const detail = tile.querySelector(".rp-detail").textContent;
      tiles[tile.dataset.figure] = `${tile.querySelector(".rp-value").textContent}${detail ? ` ${detail}` : ""}`;
    }
    return {
      page: "reports",
      phase: this.phase,
      signedIn: Boolean(this.api) && this.phase === "report",
      role: this.claims.role ?? null,
      zone: this.zone,
      today: this.today(),
      loading: this.loading,
      query: { ...this.query },
      shown: this.report ? { ...this.report.query } : null,
      quick: document.querySelector('.rp-range[aria-pressed="true"]')?.dataset.range ?? null,
      summary: $("summary").textContent,
      tiles,
      table: this.table.snapshot(),
      charts: this.charts.snapshot(),
      downloads: this.downloads,
      error: this.error ? { code: this.error.code ?? null, field: this.error.field ?? null, text: errorWords(this.error) } : null,
    };
  }
}

/** The line under a headline figure. */
function tileDetail(key, figures, targetS) {
  switch (key) {
    case "offered":
      return `${figures.answered} answered, ${figures.handled} handled`;
    case "service_level":
      return `answered within ${targetWords(targetS)}`;
    case "average_speed_of_answer_s":
      return `over ${figures.answered} answered`;
    case "abandonment_rate":
      return figures.abandoned ? `${figures.abandoned} gave up, after ${figureText("abandoned_wait_s", figures)} on average` : "nobody gave up waiting";
    case "average_handle_time_s":
      return `over ${figures.handled} handled`;
    case "occupancy":
      return "on calls, of the time taking calls";
    case "mos_average":
      return "sound quality (1 to 4.4)";
    case "negative_share":
      return "customer's mood at the end";
    case "csat_average":
      return figures.csat_count ? `of 5, from ${ratingsWords(figures.csat_count)}` : "no ratings";
    default:
      return "";
  }
}

const page = new ReportsPage();
exposeForTests({ state: () => page.snapshot() });
page.start();
