// The reviewer's replay page: sign in with a reviewer (supervisor, admin)
// token, find recordings (also by the words said in them), play one with its
// timeline (who joined, paused stretches, supervisors' monitoring, the end of the call), its
// transcript in step with the audio, the customer's sentiment and each
// party's call quality second by second, watch its videos in step with the
// audio, and download its files. Playback and downloads are audited by the server.
//
// English only: this page is for staff.

import { QualityChart, qualityModel } from "./quality-chart.js";
import { RecordingsApi } from "./recordings-api.js";
import { TalkStrip, talkModel } from "./talk-strip.js";
import { SentimentStrip, TranscriptPanel, sentimentModel, transcriptModel } from "./replay-transcript.js";
import { VideoSync } from "./replay-videos.js";
import { Timeline, describeEvent, isStoryEvent, timelineModel } from "./timeline.js";
import { TokenStore, tokenClaims } from "./token-store.js";
import { Page } from "./page.js";
import { badges, chip, matchesRow, renderRating, resultRow } from "./replay-results.js";
import {
  DATE_FORMAT,
  END_WORDS,
  MEDIA_ERROR_WORDS,
  ROLE_WORDS,
  errorWords,
  heldWords,
  length,
  participantName,
} from "./replay-words.js";
import { $, clock, exposeForTests } from "./ui.js";
import { languageWords } from "./transcript-words.js";

const SECTIONS = ["loading", "signin", "browse", "player"];
const tokens = new TokenStore("kotha.replay.token");
const PAGE_SIZE = 50;
// Signed media URLs are renewed this long before they expire.
const URL_MARGIN_S = 60;
const SEARCH_FIELDS = [
  "since",
  "until",
  "agent",
  "customer",
  "tag",
  "text",
  "keyword",
  "min_duration",
  "max_mos",
  "alert",
  "max_sentiment",
  "min_interruptions",
  "min_silence",
];

class ReplayPage extends Page {
  constructor() {
    super(SECTIONS);
    this.api = null;
    this.claims = {};
    this.notice = "";
    this.results = [];
    this.query = {};
    this.more = false;
    this.searching = false;
    this.open = null; // {recording, timeline, urls, urlsAt, expiresIn}
    this.opening = null;
    this.pushed = false; // whether opening pushed a history entry (so Back can go back)
    this.audio = $("audio");
    this.videos = new VideoSync($("videos"), this.audio);
    this.timeline = new Timeline(
      {
        root: $("timeline"),
        top: $("tl-top"),
        bottom: $("tl-bottom"),
        track: $("tl-track"),
        pauses: $("tl-pauses"),
        ticks: $("tl-ticks"),
        played: $("tl-played"),
        head: $("tl-head"),
        monitor: $("tl-monitor"),
        monitorRows: $("tl-mon-rows"),
        monitorBands: $("tl-mon-bands"),
        monitorLegend: $("tl-mon-legend"),
      },
      (seconds) => this.seek(seconds),
    );
    this.qualityChart = new QualityChart(
      { root: $("quality"), summary: $("q-summary"), lanes: $("q-lanes") },
      (seconds) => this.seek(seconds),
    );
    this.talk = new TalkStrip(
      { root: $("talk"), summary: $("talk-summary"), sentiment: $("talk-sentiment"), lanes: $("talk-lanes") },
      (seconds) => this.seek(seconds),
    );
    this.transcript = new TranscriptPanel(
      {
        root: $("transcript"),
        summary: $("rt-summary"),
        notices: $("rt-notices"),
        empty: $("rt-empty"),
        scroller: $("rt-scroll"),
        list: $("rt-lines"),
      },
      (seconds) => this.seek(seconds),
    );
    this.sentiment = new SentimentStrip(
      { root: $("sentiment"), summary: $("st-summary"), strip: $("st-strip") },
      (seconds) => this.seek(seconds),
    );
    this._frame = null;
  }

  start() {
    this._bind();
    const token = tokens.take();
    if (token) this.signIn(token);
    else this.setPhase("signin");
  }

  // -- signing in ----------------------------------------------------------

  /** The first search checks the token: the server says whether it may see recordings. */
  async signIn(token) {
    this.api = new RecordingsApi(token);
    this.claims = tokenClaims(token);
    this.setPhase("loading");
    this.clearError();
    const found = await this.search({ quiet: true });
    if (!this.api) return; // refused: the sign-in form shows why
    tokens.save(token);
    if (!found) {
      this.setPhase("browse"); // e.g. the network failed: the error says so, Search retries
      return;
    }
    const wanted = hashParams().get("call");
    if (wanted) this.openRecording(wanted, { push: false });
    else this.setPhase("browse");
  }

  signOut() {
    this.closeRecording();
    tokens.clear();
    this.api = null;
    this.claims = {};
    this.results = [];
    this.more = false;
    $("token-input").value = "";
    this.pushed = false;
    if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
    this.setPhase("signin");
  }

  // -- finding recordings --------------------------------------------------

  _formQuery() {
    const form = $("search-form");
    const data = new FormData(form);
    const query = {};
    for (const key of SEARCH_FIELDS) {
      const value = String(data.get(key) ?? "").trim();
      if (value) query[key] = value;
    }
    // Whole numbers in the API's range (a browser lets "1.5" or "-3" through a number field).
    for (const [key, most] of [["min_duration", 999999], ["min_interruptions", 9999], ["min_silence", 99999]]) {
      if (!query[key]) continue;
      const whole = Math.floor(Number(query[key]));
      query[key] = String(Number.isFinite(whole) ? Math.min(most, Math.max(0, whole)) : 0);
    }
    // "To" includes its day; the API's `until` is the first day left out.
    if (query.until) query.until = nextDay(query.until);
    return query;
  }

  /** Run the search in the form; `more` fetches the next page. Returns false if it failed. */
  async search({ more = false, quiet = false } = {}) {
    if (!this.api) return false;
    if (!quiet) this.clearError();
    if (!more) this.query = this._formQuery();
    const offset = more ? this.results.length : 0;
    this.searching = true;
    this.render();
    try {
      const reply = await this.api.search({ ...this.query, limit: PAGE_SIZE, offset: offset || "" });
      const rows = reply.recordings || [];
      this.results = more ? [...this.results, ...rows] : rows;
      this.more = rows.length === PAGE_SIZE;
      return true;
    } catch (error) {
      if (!this.signOutIfRefused(error)) this.showError(error);
      return false;
    } finally {
      this.searching = false;
      this.render();
    }
  }

  // -- one recording -------------------------------------------------------

  /** Open a recording; `at` (s): play from there (a search match's time). */
  async openRecording(callId, { push = true, at = null } = {}) {
    if (!this.api || this.opening) return;
    this.clearError();
    this.closeRecording();
    this.opening = callId;
    this.render();
    try {
      const detail = await this.api.get(callId);
      const playback = await this.api.playback(callId);
      this.open = {
        recording: detail.recording,
        timeline: detail.timeline || [],
        quality: detail.quality || [],
        transcript: detail.transcript ?? null,
        conversation: detail.conversation ?? null,
        rating: detail.rating ?? null,
        urls: playback.urls,
        urlsAt: Date.now(),
        expiresIn: playback.expires_in_s,
      };
      if (push) {
        history.pushState({ call: callId }, "", `${location.pathname}${location.search}#call=${encodeURIComponent(callId)}`);
        this.pushed = true;
      } else {
        history.replaceState(history.state, "", `${location.pathname}${location.search}#call=${encodeURIComponent(callId)}`);
      }
      this._load();
      this.setPhase("player");
      if (at !== null) this.seek(at);
      $("play").focus({ preventScroll: true });
    } catch (error) {
      if (this.signOutIfRefused(error)) return;
      if (hashParams().has("call")) history.replaceState(history.state, "", location.pathname + location.search);
      this.pushed = false;
      this.showError(error);
      if (this.phase !== "browse") this.setPhase("browse");
    } finally {
      this.opening = null;
      this.render();
    }
  }

  _load() {
    const { urls } = this.open;
    this.audio.src = urls.playback || urls.recording || "";
    this.audio.load();
    this.videos.load(urls.streams || []);
    this.transcript.render(transcriptModel(this.open.recording, this.open.transcript, this.open.timeline));
    this._drawTimeline();
    this._renderEvents();
  }

  closeRecording() {
    if (!this.open) return;
    this.audio.pause();
    this.audio.removeAttribute("src");
    this.audio.load();
    this.videos.clear();
    this.open = null;
    this.timeline.render({ duration: 0, markers: [], pauses: [], end: null, monitoring: [] });
    this.timeline.setPosition(0);
    this.qualityChart.render(null);
    this.talk.render(null);
    this.transcript.render(null);
    this.transcript.setPosition(0);
    this.sentiment.render(null);
  }

  /** Back to the list (from the button, or the browser's back). */
  back() {
    if (this.pushed) {
      this.pushed = false;
      history.back(); // popstate closes the player
      return;
    }
    history.replaceState(history.state, "", location.pathname + location.search);
    this.closeRecording();
    this.setPhase("browse");
  }

  _onPopState() {
    const wanted = hashParams().get("call");
    if (!this.api) return;
    if (wanted && wanted !== this.open?.recording.call_id) this.openRecording(wanted, { push: false });
    else if (!wanted && this.open) {
      this.pushed = false;
      this.closeRecording();
      this.setPhase("browse");
    }
  }

  /** The audio's length once known, else the recording's. */
  duration() {
    const audio = this.audio.duration;
    if (Number.isFinite(audio) && audio > 0) return audio;
    return (this.open?.recording.duration_ms ?? 0) / 1000;
  }

  _drawTimeline() {
    if (!this.open) return;
    const { recording, timeline, quality } = this.open;
    this.timeline.render(timelineModel(recording, timeline, this.duration()));
    this.qualityChart.render(qualityModel(recording, quality, timeline, this.duration()));
    this.talk.render(talkModel(this.open.conversation, recording.pauses, this.duration()));
    this.sentiment.render(sentimentModel(this.open.transcript, this.duration()));
    this._renderTime();
  }

  // -- playing ---------------------------------------------------------------

  async togglePlay() {
    if (!this.open) return;
    if (!this.audio.paused && !this.audio.ended) {
      this.audio.pause();
      return;
    }
    this.clearError();
    if (this._urlsExpiring()) await this._renewUrls();
    if (this.audio.ended) this.audio.currentTime = 0;
    try {
      await this.audio.play();
    } catch (error) {
      if (error?.name === "AbortError") return; // paused or reloaded before it started
      if (error?.name === "NotAllowedError") this.notice = "The browser blocked playback; press Play again.";
      else this.showError({ code: "media", message: String(error?.message || error) });
      this.render();
    }
  }

  seek(seconds) {
    if (!this.open) return;
    const target = Math.min(Math.max(0, seconds), this.duration());
    this.audio.currentTime = target;
    this.timeline.setPosition(target);
    this.qualityChart.setPosition(target);
    this.talk.setPosition(target);
    this.transcript.setPosition(target, { jump: true });
    this.videos.sync();
    this._renderTime();
  }

  _urlsExpiring() {
    const open = this.open;
    if (!open?.expiresIn) return false;
    return Date.now() - open.urlsAt > (open.expiresIn - URL_MARGIN_S) * 1000;
  }

  /** The signed URLs expired (or nearly): ask for new ones and carry on from the same place. */
  async _renewUrls() {
    const open = this.open;
    const callId = open.recording.call_id;
    const reply = await this.api.playback(callId);
    if (this.open !== open) return false;
    Object.assign(open, { urls: reply.urls, urlsAt: Date.now(), expiresIn: reply.expires_in_s });
    const at = this.audio.currentTime;
    this.audio.src = reply.urls.playback || reply.urls.recording || "";
    this.audio.currentTime = at;
    this.videos.refreshUrls(reply.urls.streams || []);
    return true;
  }

  async _onAudioError() {
    if (!this.open || !this.audio.getAttribute("src")) return;
    const code = this.audio.error?.code;
    // An expired link is refused (401) and shows up as a load error: renew once.
    if (this._urlsExpiring() && !this.open.renewed) {
      this.open.renewed = true;
      try {
        if (await this._renewUrls()) return;
      } catch (error) {
        if (this.signOutIfRefused(error)) return;
      }
    }
    this.showError({ code: "media", message: MEDIA_ERROR_WORDS[code] || "the file could not be loaded" });
  }

  _tick() {
    this._frame = null;
    this._renderTime();
    this.videos.sync();
    if (!this.audio.paused && !this.audio.ended) this._frame = requestAnimationFrame(() => this._tick());
  }

  _startTicking() {
    if (this._frame === null) this._frame = requestAnimationFrame(() => this._tick());
  }

  // -- rendering ---------------------------------------------------------------

  showError(error) {
    super.showError(error);
    if (this.error) $("error").scrollIntoView?.({ block: "nearest" });
  }

  clearError() {
    this.notice = "";
    super.clearError();
  }

  render() {
    $("error").hidden = !this.error;
    $("error").textContent = this.error ? errorWords(this.error) : "";
    $("notice").hidden = !this.notice;
    $("notice").textContent = this.notice;
    const signedIn = Boolean(this.api) && this.phase !== "loading" && this.phase !== "signin";
    $("staff-bar").hidden = !signedIn;
    $("staff-name").textContent = this.claims.name || this.claims.sub || "";
    $("staff-role").textContent = ROLE_WORDS[this.claims.role] || this.claims.role || "";
    if (this.phase === "browse") this._renderResults();
    if (this.phase === "player") this._renderPlayer();
  }

  _renderResults() {
    const count = this.results.length;
    $("results-summary").textContent = this.searching
      ? "Searching…"
      : count
        ? `${count}${this.more ? "+" : ""} recording${count === 1 ? "" : "s"}, newest first.`
        : "";
    $("results-empty").hidden = this.searching || count > 0;
    $("load-more").hidden = !this.more;
    $("load-more").disabled = this.searching;
    $("result-rows").replaceChildren(
      ...this.results.flatMap((row) => [resultRow(row, this.opening), ...matchesRow(row, this.opening)]),
    );
  }

  _renderPlayer() {
    const rec = this.open?.recording;
    if (!rec) return;
    const call = rec.call || {};
    const customer = call.customer?.name || participantName(rec, "customer") || "—";
    const agent = call.agent?.name || participantName(rec, "agent") || "—";
    $("p-customer").textContent = customer;
    $("p-agent").textContent = agent;
    const details = [
      rec.started_at ? DATE_FORMAT.format(new Date(rec.started_at * 1000)) : "",
      length(rec.duration_ms),
      languageWords(call.language, ""),
      rec.end_reason ? `ended: ${END_WORDS[rec.end_reason] || rec.end_reason}` : "",
      heldWords(this.open.conversation),
    ];
    $("p-details").textContent = details.filter(Boolean).join(" · ");
    const sources = (this.open.urls.streams || []).map((stream) => stream.source);
    $("p-badges").replaceChildren(...badges({ recovered: rec.recovered, media: rec.call?.media ?? rec.media, sources }));
    $("p-tags").replaceChildren(...(rec.tags || []).map((tag) => chip(tag, "tag")));
    renderRating($("p-rating"), this.open.rating);
    this._renderCategories(rec.categories || []);
    const downloads = new Set(rec.downloads || []);
    for (const button of document.querySelectorAll("button.download")) {
      button.hidden = !downloads.has(button.dataset.key);
    }
    this._renderTime();
  }

  /** The operator's categories the call met, each a button that plays from its moment. */
  _renderCategories(categories) {
    const list = $("p-categories");
    list.hidden = categories.length === 0;
    list.replaceChildren(
      ...categories.map((match) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "p-category";
        button.dataset.severity = match.severity || "info";
        const at = Math.max(0, (match.at_ms || 0) / 1000);
        button.textContent = `${match.category} · ${clock(at)}`;
        button.title = match.evidence || "";
        button.addEventListener("click", () => this.seek(at));
        item.append(button);
        return item;
      }),
    );
  }

  _renderTime() {
    const playing = Boolean(this.open) && !this.audio.paused && !this.audio.ended;
    const play = $("play");
    play.disabled = !this.open;
    play.setAttribute("aria-pressed", String(playing));
    play.querySelector(".label").textContent = playing ? "Pause" : "Play";
    const now = this.open ? this.audio.currentTime : 0;
    $("current-time").textContent = clock(now);
    $("duration").textContent = clock(this.open ? Math.round(this.duration()) : 0);
    this.timeline.setPosition(now);
    this.qualityChart.setPosition(now);
    this.talk.setPosition(now);
    this.sentiment.setPosition(now);
    this.transcript.setPosition(now);
  }

  _renderEvents() {
    const rec = this.open.recording;
    const items = this.open.timeline.filter(isStoryEvent).map((event) => {
      const item = document.createElement("li");
      const t = (event.t_ms ?? 0) / 1000;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "event";
      button.dataset.t = String(t);
      button.dataset.type = String(event.type || "");
      const time = document.createElement("span");
      time.className = "event-time";
      time.textContent = clock(t);
      const words = document.createElement("span");
      words.textContent = describeEvent(event, rec.participants || []);
      button.append(time, words);
      item.append(button);
      return item;
    });
    $("events").replaceChildren(...items);
  }

  // -- downloads ---------------------------------------------------------------

  async download(key, button) {
    if (!this.open) return;
    this.clearError();
    button.disabled = true;
    try {
      const { url } = await this.api.download(this.open.recording.call_id, key);
      // The URL answers with Content-Disposition: attachment, so the page stays.
      const link = document.createElement("a");
      link.href = url;
      link.download = "";
      link.rel = "noopener";
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      if (!this.signOutIfRefused(error)) this.showError(error);
    } finally {
      button.disabled = false;
    }
  }

  // -- wiring ------------------------------------------------------------------

  _bind() {
    this.bindSignIn((token) => this.signIn(token));
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    $("search-form").addEventListener("reset", () => setTimeout(() => this.search(), 0));
    $("load-more").addEventListener("click", () => this.search({ more: true }));
    $("result-rows").addEventListener("click", (event) => {
      const match = event.target.closest("button.rt-match");
      if (match) {
        this.openRecording(match.dataset.callId, { at: Number(match.dataset.t) });
        return;
      }
      const row = event.target.closest("tr[data-call-id]");
      if (row) this.openRecording(row.dataset.callId);
    });
    $("result-rows").addEventListener("keydown", (event) => {
      const row = event.target.closest("tr[data-call-id]");
      if (row && event.target === row && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.openRecording(row.dataset.callId);
      }
    });
    $("back").addEventListener("click", () => this.back());
    window.addEventListener("popstate", () => this._onPopState());
    $("play").addEventListener("click", () => this.togglePlay());
    $("events").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-t]");
      if (button) this.seek(Number(button.dataset.t));
    });
    for (const button of document.querySelectorAll("button.download")) {
      button.addEventListener("click", () => this.download(button.dataset.key, button));
    }
    const audio = this.audio;
    audio.addEventListener("play", () => {
      this._renderTime();
      this.videos.sync();
      this._startTicking();
    });
    for (const name of ["pause", "ended", "seeked", "timeupdate"]) {
      audio.addEventListener(name, () => {
        this._renderTime();
        this.videos.sync();
      });
    }
    audio.addEventListener("durationchange", () => this._drawTimeline());
    audio.addEventListener("loadedmetadata", () => this._drawTimeline());
    audio.addEventListener("error", () => this._onAudioError());
    // Space plays and pauses while the player is open (not while typing or on a button).
    document.addEventListener("keydown", (event) => {
      if (this.phase !== "player" || event.key !== " ") return;
      if (event.target.closest?.("input, textarea, button, select, a, summary")) return;
      event.preventDefault();
      this.togglePlay();
    });
  }

  snapshot() {
    const audio = this.audio;
    return {
      page: "replay",
      phase: this.phase,
      signedIn: Boolean(this.api) && this.phase !== "signin" && this.phase !== "loading",
      name: this.claims.name ?? null,
      role: this.claims.role ?? null,
      searching: this.searching,
      results: this.results.map((r) => r.call_id),
      open: this.open?.recording.call_id ?? null,
      opening: this.opening,
      ready: Boolean(this.open) && audio.readyState >= 1,
      currentTime: this.open ? audio.currentTime : 0,
      duration: this.open ? this.duration() : 0,
      playing: Boolean(this.open) && !audio.paused && !audio.ended,
      timeline: this.timeline.counts(),
      monitoring: this.timeline.monitoringSnapshot(),
      quality: this.qualityChart.counts(),
      talk: this.talk.counts(),
      transcript: this.transcript.snapshot(),
      sentiment: this.sentiment.counts(),
      videos: this.videos.snapshot(),
      downloads: this.open?.recording.downloads ?? [],
      rating: this.open?.rating ?? null,
      categories: (this.open?.recording.categories || []).map((m) => ({ category: m.category, at_ms: m.at_ms })),
      error: this.error
        ? { code: this.error.code ?? null, message: this.error.message ?? null, text: errorWords(this.error) }
        : null,
    };
  }
}

function hashParams() {
  return new URLSearchParams(location.hash.slice(1));
}

/** The day after a YYYY-MM-DD day, as YYYY-MM-DD (UTC). */
function nextDay(day) {
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

const page = new ReplayPage();
exposeForTests({ state: () => page.snapshot() });
page.start();
