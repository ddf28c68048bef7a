// The replay page's transcript: what was said in a recorded call, beside the
// player (below it on a phone), and the customer's sentiment as a strip over
// the call, on the timeline's time axis.
//
// - One entry per utterance: who (Customer, Agent, or the speaker's name),
//   when (m:ss, like the rest of the page), the words with the configured
//   keywords marked, a sentiment mark on the customer's lines (none where the
//   language is not scored) and a warning mark where the speaker's line was
//   poor while they spoke. The entry being heard is highlighted (class
//   `current`, aria-current) and kept in view unless the reviewer is scrolling
//   the panel; within it, the word being said. Click or Enter plays from it.
// - No transcript (or no words in it): the panel says why, in words.
// - The sentiment strip: each scored customer utterance as a bar at its time
//   (up and green: positive; down and red: negative), the transcript alerts
//   (keyword said, customer negative, mood falling) as marks; click seeks.
// - Search snippets: the server marks the matched words with U+0002 and U+0003.
//
// Data: `transcript` of GET /api/recordings/{id} ({language, state, reason,
// utterances, alerts, summary} or null), `recording.transcription`, and the
// `transcription_refused` events of its `timeline` (docs/protocol.md).
// Every text from the server goes in with textContent, never as markup.

import { roleWords } from "./timeline.js";
import { clock } from "./ui.js";
import { element, escapeRegExp, languageWords, sentence } from "./transcript-words.js";

const SENTIMENT_WORDS = { positive: "positive", neutral: "neutral", negative: "negative" };
// A symbol as well as a colour (as the agent console marks them), so the mark does not rest on colour alone.
const SENTIMENT_SYMBOLS = { positive: "+", neutral: "=", negative: "−" };
const POOR_LINE_WORDS = "Words may have been lost to a bad line";
const ALERT_WORDS = { keyword: "keyword said", negative_streak: "customer negative", falling: "mood falling" };
// Once the reviewer scrolls the transcript, it stops following the audio for this long.
const HOLD_FOLLOW_MS = 4000;
// Two speakers can overlap: this many utterances before the last one started are
// checked for one still being said at the playhead.
const OVERLAP_LOOKBACK = 8;
// Where a followed entry is put in the box: a quarter of the way down, so what comes next shows.
const FOLLOW_AT = 0.25;
// Bengali letters and marks are parts of a word, as Latin letters are (transcribe/keywords.py
// _WORD); a Bengali keyword also matches with its case endings (its _BENGALI_ENDINGS).
const WORD_CHAR = "[\\p{L}\\p{M}\\p{N}_]";
const BENGALI = /[\u0980-\u09ff]/u;
const BENGALI_ENDINGS = "(?:ে|ের|কে|তে|য়|র|রা|দের|টা|টি)?";
// A sentiment score this close to 0 is drawn as a tick, not a bar (VADER's neutral band).
const NEUTRAL_BAND = 0.05;
// Alert marks closer than this (px) to the one before them go a row lower (two alerts of the
// same utterance share its time); the strip has room for this many rows.
const MARK_GAP_PX = 18;
const MARK_ROWS = 3;

function signed(score) {
  return `${score > 0 ? "+" : score < 0 ? "−" : ""}${Math.abs(score).toFixed(2)}`;
}

/**
 * Where the keywords were said in `text`: [[start, end, keyword]] (character offsets), whole
 * words, ignoring case, as the server spots them. `text` should be NFC.
 */
export function keywordRanges(text, keywords) {
  const words = [...new Set((keywords || []).filter((k) => typeof k === "string" && k.trim()))];
  if (!text || words.length === 0) return [];
  words.sort((a, b) => b.length - a.length); // "cash back" before "cash"
  const alternatives = words.map((w) => `(${escapeRegExp(w.normalize("NFC"))}${BENGALI.test(w) ? BENGALI_ENDINGS : ""})`);
  let pattern;
  try {
    pattern = new RegExp(`(?<!${WORD_CHAR})(?:${alternatives.join("|")})(?!${WORD_CHAR})`, "giu");
  } catch {
    return [];
  }
  const ranges = [];
  for (const match of text.matchAll(pattern)) {
    if (!match[0]) continue;
    const which = match.slice(1).findIndex((group) => group !== undefined);
    ranges.push([match.index, match.index + match[0].length, words[which] ?? match[0]]);
  }
  return ranges;
}

/**
 * A search snippet ("… the \u0002parcel\u0003 has …": matched words between U+0002 and
 * U+0003, characters no transcript holds) as DOM nodes: text, and a
 * <mark> per match. Built from text nodes only: nothing in a snippet is markup.
 */
export function snippetNodes(snippet) {
  const nodes = [];
  const text = String(snippet ?? "");
  let at = 0;
  for (const match of text.matchAll(/\u0002([^\u0002\u0003]*)\u0003/g)) {
    if (match.index > at) nodes.push(document.createTextNode(text.slice(at, match.index)));
    nodes.push(element("mark", "rt-hit", match[1]));
    at = match.index + match[0].length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/**
 * What the panel shows.
 * @param {object} recording the `recording` of the reply (with `transcription` and `participants`)
 * @param {object|null} transcript the `transcript` of the reply
 * @param {object[]} events the `timeline` of the reply (for `transcription_refused`)
 */
export function transcriptModel(recording, transcript, events = []) {
  const utterances = (transcript?.utterances || [])
    .filter((u) => u && typeof u.start_ms === "number")
    .map((u) => ({ ...u, end_ms: Math.max(u.start_ms, typeof u.end_ms === "number" ? u.end_ms : u.start_ms) }))
    .sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
  const status = transcript ?? recording?.transcription ?? null;
  const refused = (events || [])
    .filter((e) => e?.type === "transcription_refused")
    .map((e) => ({ role: e.role || "", reason: e.reason || "", t: (e.t_ms ?? 0) / 1000 }));
  return {
    language: status?.language ?? null,
    state: status?.state ?? null,
    reason: utterances.length ? null : emptyReason(transcript, recording?.transcription),
    utterances,
    summary: transcript?.summary ?? null,
    refused,
  };
}

/** Why there is nothing to read, as the panel says it ("No transcript: …"). */
function emptyReason(transcript, transcription) {
  const reason = String(transcript?.reason || transcription?.reason || "").trim();
  if (reason) return reason;
  const state = transcript?.state ?? transcription?.state;
  if (state === "active") return "no words were recognised in this call";
  if (state === "off") return "transcription was off for this call";
  if (!transcript && !transcription) return "this call was not transcribed (transcription was off, or the call was recorded before calls were transcribed)";
  return "nothing was transcribed";
}

/**
 * The transcript panel. Elements: root (the section), summary (a line about the transcript),
 * notices (a list: microphones that were not transcribed), empty (the "No transcript" line),
 * scroller (the scrolling box) and list (the <ol> of entries). `onSeek(seconds)` plays from there.
 */
export class TranscriptPanel {
  constructor({ root, summary, notices, empty, scroller, list }, onSeek) {
    Object.assign(this, { root, summaryEl: summary, noticesEl: notices, emptyEl: empty, scroller, list });
    this.onSeek = onSeek;
    this.model = null;
    this.entries = []; // the <li> of each utterance, in the model's order
    this.current = -1; // index of the highlighted utterance
    this.currentWord = null; // the highlighted word's element
    this._wordKey = null; // which word that is: "utterance index:word index"
    this.position = 0;
    this._holdUntil = 0; // the reviewer is scrolling: do not follow until then
    this._scrolledTo = null; // where the panel last scrolled itself
    this._bind();
  }

  /** Show a model from transcriptModel(), or nothing (null: no recording open). */
  render(model) {
    this.model = model;
    this.current = -1;
    this.currentWord = null;
    this._wordKey = null;
    this._holdUntil = 0;
    const utterances = model?.utterances ?? [];
    this.entries = utterances.map((u, n) => entryOf(u, n));
    this.list.replaceChildren(...this.entries);
    this.list.hidden = this.entries.length === 0;
    this.emptyEl.hidden = !model || this.entries.length > 0;
    this.emptyEl.textContent = model && !this.entries.length ? `No transcript: ${model.reason}` : "";
    this.summaryEl.textContent = model ? summaryWords(model) : "";
    this.summaryEl.hidden = !this.summaryEl.textContent;
    const notices = (model?.refused ?? []).map(({ role, reason }) => {
      const whose = role ? `The ${roleWords(role).toLowerCase()}'s microphone` : "A microphone";
      return element("li", "rt-notice", `${whose} was not transcribed${reason ? `: ${reason}` : ""}.`);
    });
    this.noticesEl.replaceChildren(...notices);
    this.noticesEl.hidden = notices.length === 0;
    this.scroller.scrollTop = 0;
    this._scrolledTo = this.scroller.scrollTop;
    this.setPosition(this.position, { jump: true });
  }

  /**
   * The playhead is at `seconds`: highlight the utterance (and word) being heard. `jump`: the
   * reviewer moved the playhead, so the panel follows again even if they had scrolled it.
   */
  setPosition(seconds, { jump = false } = {}) {
    this.position = seconds;
    if (jump) this._holdUntil = 0;
    const utterances = this.model?.utterances ?? [];
    if (!utterances.length) return;
    const ms = Math.round(seconds * 1000);
    const index = currentIndex(utterances, ms);
    if (index !== this.current) {
      this.entries[this.current]?.classList.remove("current");
      this.entries[this.current]?.removeAttribute("aria-current");
      this.current = index;
      const entry = this.entries[index];
      if (entry) {
        entry.classList.add("current");
        entry.setAttribute("aria-current", "true");
        this._follow(entry);
      }
    } else if (jump && this.entries[index]) {
      this._follow(this.entries[index]);
    }
    this._highlightWord(utterances[index], ms);
  }

  /** What the tests read (window.kotha.state().transcript). */
  snapshot() {
    const model = this.model;
    return {
      shown: Boolean(model),
      empty: model ? this.emptyEl.textContent : null,
      language: model?.language ?? null,
      entries: (model?.utterances ?? []).map((u) => ({ id: u.id, role: u.role, text: u.text, startMs: u.start_ms, endMs: u.end_ms })),
      current: this.current >= 0 ? (model?.utterances[this.current]?.id ?? null) : null,
      highlighted: this.entries.filter((e) => e.classList.contains("current")).map((e) => e.dataset.id),
      ariaCurrent: this.entries.filter((e) => e.getAttribute("aria-current") === "true").map((e) => e.dataset.id),
      word: this.currentWord?.textContent ?? null,
      following: Date.now() >= this._holdUntil,
    };
  }

  _highlightWord(utterance, ms) {
    const entry = this.entries[this.current];
    // The word being said, or the last one begun (between two words, the one just said).
    let n = -1;
    if (utterance && entry && ms < utterance.end_ms && Array.isArray(utterance.words)) {
      for (let i = 0; i < utterance.words.length && utterance.words[i][1] <= ms; i += 1) n = i;
    }
    const key = n >= 0 ? `${this.current}:${n}` : null;
    if (key === this._wordKey) return; // called every frame while playing: touch the page only on a change
    this._wordKey = key;
    const word = key ? entry.querySelector(`.rt-word[data-n="${n}"]`) : null;
    this.currentWord?.classList.remove("rt-now");
    word?.classList.add("rt-now");
    this.currentWord = word;
  }

  /** Bring `entry` into the panel's view, unless the reviewer is scrolling it. */
  _follow(entry) {
    const box = this.scroller;
    if (Date.now() < this._holdUntil || box.clientHeight === 0) return;
    const top = entry.offsetTop;
    const bottom = top + entry.offsetHeight;
    if (top >= box.scrollTop && bottom <= box.scrollTop + box.clientHeight) return;
    box.scrollTop = Math.max(0, top - box.clientHeight * FOLLOW_AT);
    this._scrolledTo = box.scrollTop;
  }

  _bind() {
    const play = (entry) => {
      const utterance = this.model?.utterances[Number(entry.dataset.index)];
      if (!utterance) return;
      this._holdUntil = 0;
      this.onSeek(utterance.start_ms / 1000);
    };
    this.list.addEventListener("click", (event) => {
      const entry = event.target.closest?.(".rt-entry");
      if (entry) play(entry);
    });
    this.list.addEventListener("keydown", (event) => {
      const entry = event.target.closest?.(".rt-entry");
      // Enter plays from the entry; Space stays the page's play/pause.
      if (!entry || event.target !== entry || event.key !== "Enter") return;
      event.preventDefault();
      play(entry);
    });
    // The reviewer scrolls the panel (wheel, touch, keys, the scroll bar): stop following
    // for a while. The panel's own scrolling is told apart by where it left the box.
    const hold = () => {
      this._holdUntil = Date.now() + HOLD_FOLLOW_MS;
    };
    this.scroller.addEventListener("wheel", hold, { passive: true });
    this.scroller.addEventListener("touchmove", hold, { passive: true });
    this.scroller.addEventListener("scroll", () => {
      if (this._scrolledTo === null || Math.abs(this.scroller.scrollTop - this._scrolledTo) > 1) hold();
      this._scrolledTo = null;
    });
  }
}

/** The utterance heard at `ms`: one being said then (the latest begun), else the last one begun; -1 before the first. */
function currentIndex(utterances, ms) {
  let low = 0;
  let high = utterances.length - 1;
  let last = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (utterances[mid].start_ms <= ms) {
      last = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  for (let n = last; n >= 0 && n >= last - OVERLAP_LOOKBACK; n -= 1) {
    if (ms < utterances[n].end_ms) return n;
  }
  return last;
}

function summaryWords(model) {
  const parts = [];
  const count = model.utterances.length;
  if (count) {
    const words = model.summary?.words ?? model.utterances.reduce((sum, u) => sum + (u.words?.length ?? 0), 0);
    parts.push(`${count} utterance${count === 1 ? "" : "s"}, ${words} word${words === 1 ? "" : "s"}.`);
  }
  if (model.language && count) parts.push(`Heard with the ${languageWords(model.language, "")} speech model.`);
  const keywords = Object.entries(model.summary?.keywords ?? {}).filter(([, n]) => n > 0);
  if (keywords.length) parts.push(`Keywords: ${keywords.map(([k, n]) => `${k} ×${n}`).join(", ")}.`);
  return parts.join(" ");
}

/** One utterance as an entry of the panel. */
function entryOf(utterance, index) {
  const entry = element("li", "rt-entry");
  entry.tabIndex = 0;
  entry.dataset.index = String(index);
  entry.dataset.id = utterance.id ?? "";
  entry.dataset.role = utterance.role || "";
  entry.dataset.start = String(utterance.start_ms);
  entry.title = `Play from ${clock(utterance.start_ms / 1000)}`;

  const meta = element("div", "rt-meta");
  const known = utterance.role === "customer" || utterance.role === "agent";
  meta.append(element("span", "rt-who", known || !utterance.name ? roleWords(utterance.role) : utterance.name));
  if (known && utterance.name) meta.append(element("span", "rt-name", utterance.name));
  const time = element("time", "rt-time", clock(utterance.start_ms / 1000));
  time.dateTime = `PT${Math.floor(utterance.start_ms / 1000)}S`;
  meta.append(time);
  const label = utterance.sentiment?.label;
  // Customer lines only, and only a real score: "not_supported" shows nothing rather than a fake neutral.
  if (utterance.role === "customer" && label in SENTIMENT_WORDS) {
    const score = utterance.sentiment.score;
    const words = `Sentiment: ${SENTIMENT_WORDS[label]}${typeof score === "number" ? ` (${signed(score)})` : ""}`;
    const mark = element("span", "rt-sentiment", SENTIMENT_SYMBOLS[label]);
    mark.dataset.sentiment = label;
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", words);
    mark.title = words;
    entry.dataset.sentiment = label;
    meta.append(mark);
  }
  const quality = utterance.quality;
  if (quality?.rating === "poor") {
    const figures = [
      typeof quality.mos === "number" ? `MOS ${quality.mos.toFixed(1)}` : "",
      typeof quality.loss_pct === "number" ? `${quality.loss_pct.toFixed(1).replace(/\.0$/, "")}% of packets lost` : "",
    ].filter(Boolean);
    const words = `${POOR_LINE_WORDS}${figures.length ? ` (${figures.join(", ")})` : ""}`;
    const mark = element("span", "rt-poor", "⚠");
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", words);
    mark.title = words;
    entry.dataset.quality = "poor";
    meta.append(mark);
  }
  entry.append(meta, textOf(utterance));
  return entry;
}

/**
 * The words of an utterance: one span per timed word (so the word being said can be lit),
 * keyword hits as <mark>; plain text when the words do not spell the text.
 */
function textOf(utterance) {
  const text = String(utterance.text || "").normalize("NFC");
  const out = element("p", "rt-text");
  const ranges = keywordRanges(text, utterance.keywords);
  const words = Array.isArray(utterance.words) ? utterance.words.map((w) => String(w?.[0] ?? "").normalize("NFC")) : [];
  const keywordAt = (start, end) => ranges.find(([s, e]) => start < e && s < end)?.[2] ?? null;
  if (words.length && words.join(" ") === text) {
    let at = 0;
    words.forEach((word, n) => {
      if (n) out.append(" ");
      const keyword = keywordAt(at, at + word.length);
      const span = element(keyword ? "mark" : "span", keyword ? "rt-word rt-keyword" : "rt-word", word);
      span.dataset.n = String(n);
      if (keyword) span.title = `Keyword: ${keyword}`;
      out.append(span);
      at += word.length + 1;
    });
    return out;
  }
  let at = 0;
  for (const [start, end, keyword] of ranges) {
    if (start > at) out.append(text.slice(at, start));
    const mark = element("mark", "rt-keyword", text.slice(start, end));
    mark.title = `Keyword: ${keyword}`;
    out.append(mark);
    at = end;
  }
  if (at < text.length) out.append(text.slice(at));
  return out;
}

// -- the customer's sentiment over the call ----------------------------------

/**
 * What the sentiment strip shows, or null when there is nothing to draw (no scored customer
 * utterance and no transcript alert).
 * @param {object|null} transcript the `transcript` of the reply
 * @param {number} duration the length of the audio (s)
 */
export function sentimentModel(transcript, duration) {
  if (!transcript || !(duration > 0)) return null;
  const at = (ms) => Math.min(Math.max(0, (Number.isFinite(ms) ? ms : 0) / 1000), duration);
  const customer = (transcript.utterances || []).filter((u) => u?.role === "customer" && typeof u.start_ms === "number");
  const points = customer
    .filter((u) => typeof u.sentiment?.score === "number")
    .map((u) => ({
      id: u.id,
      start: at(u.start_ms),
      end: at(Math.max(u.start_ms, u.end_ms ?? u.start_ms)),
      score: Math.max(-1, Math.min(1, u.sentiment.score)),
      label: u.sentiment.label,
      text: u.text || "",
    }));
  const alerts = [];
  for (const alert of transcript.alerts || []) {
    if (typeof alert?.t_ms !== "number") continue;
    if (alert.active === false) {
      const open = alerts.findLast((a) => a.kind === alert.kind && a.cleared === null);
      if (open) open.cleared = at(alert.t_ms);
      continue;
    }
    alerts.push({ t: at(alert.t_ms), kind: alert.kind || "alert", message: alert.message || "", keyword: alert.keyword ?? null, cleared: null });
  }
  if (!points.length && !alerts.length) return null;
  alerts.sort((a, b) => a.t - b.t);
  const scores = points.map((p) => p.score);
  const mean = transcript.summary?.customer_sentiment ?? (scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null);
  return {
    duration,
    points,
    alerts,
    mean,
    negative: points.filter((p) => p.label === "negative").length,
    unscored: customer.length - points.length,
    language: transcript.language ?? null,
  };
}

function sentimentWords(model) {
  const parts = [];
  if (model.points.length) {
    const label = model.mean <= -NEUTRAL_BAND ? "negative" : model.mean >= NEUTRAL_BAND ? "positive" : "neutral";
    parts.push(
      `On average ${label} (${signed(model.mean)}); ${model.negative} of ${model.points.length} scored utterance${model.points.length === 1 ? "" : "s"} negative.`,
    );
  } else {
    const language = languageWords(model.language, "");
    parts.push(`Sentiment is not measured${language ? ` in ${language}` : " in this language"}; the marks are alerts.`);
  }
  const count = model.alerts.length;
  parts.push(count ? `${count} alert${count === 1 ? "" : "s"}.` : "No alerts.");
  return parts.join(" ");
}

/**
 * The strip. Elements: root (the section, hidden without data), summary (a paragraph), strip
 * (the drawing, as wide as the timeline's bar). `onSeek(seconds)` on a click, drag or a mark.
 */
export class SentimentStrip {
  constructor({ root, summary, strip }, onSeek) {
    Object.assign(this, { root, summaryEl: summary, strip });
    this.onSeek = onSeek;
    this.model = null;
    this.position = 0;
    this._dragging = false;
    this._bind();
    if (typeof ResizeObserver === "function") new ResizeObserver(() => this._layoutMarks()).observe(strip);
  }

  /** Draw a model from sentimentModel(), or hide the strip (null). */
  render(model) {
    this.model = model;
    this.root.hidden = !model;
    if (!model) {
      this.summaryEl.textContent = "";
      this.strip.replaceChildren();
      return;
    }
    this.summaryEl.textContent = sentimentWords(model);
    const pct = (t) => `${(t / model.duration) * 100}%`;
    const nodes = [element("div", "st-zero")];
    for (const point of model.points) {
      const bar = element("div", "st-bar");
      const label = Math.abs(point.score) < NEUTRAL_BAND ? "neutral" : point.score > 0 ? "positive" : "negative";
      bar.dataset.sentiment = label;
      bar.style.left = pct(point.start);
      bar.style.width = pct(Math.max(0, point.end - point.start));
      bar.style.setProperty("--size", String(Math.abs(point.score)));
      const excerpt = point.text.length > 60 ? `${point.text.slice(0, 59)}…` : point.text;
      bar.title = `${clock(point.start)}: ${SENTIMENT_WORDS[point.label] || label} (${signed(point.score)})${excerpt ? ` “${excerpt}”` : ""}`;
      nodes.push(bar);
    }
    for (const alert of model.alerts) {
      const mark = element("button", "st-alert");
      mark.type = "button";
      mark.dataset.kind = alert.kind;
      mark.dataset.t = String(alert.t);
      mark.style.left = pct(alert.t);
      const cleared = alert.cleared !== null ? ` (cleared at ${clock(alert.cleared)})` : "";
      const words = `${sentence(ALERT_WORDS[alert.kind] || alert.kind.replaceAll("_", " "))} at ${clock(alert.t)}: ${sentence(alert.message)}${cleared}`;
      mark.title = words;
      mark.setAttribute("aria-label", `${words}. Play from there.`);
      nodes.push(mark);
    }
    nodes.push(element("div", "st-playhead"));
    this.strip.replaceChildren(...nodes);
    this.strip.setAttribute("aria-label", `The customer's sentiment over the call: ${this.summaryEl.textContent}`);
    this._layoutMarks();
    this.setPosition(this.position);
  }

  /** Move the playhead to `seconds`. */
  setPosition(seconds) {
    this.position = seconds;
    if (!this.model) return;
    const head = this.strip.querySelector(".st-playhead");
    if (head) head.style.left = `${Math.min(1, Math.max(0, seconds / this.model.duration)) * 100}%`;
  }

  /** What the tests read (window.kotha.state().sentiment). */
  counts() {
    if (!this.model) return { shown: false, points: 0, alerts: [], summary: "" };
    return {
      shown: !this.root.hidden,
      points: this.model.points.length,
      alerts: this.model.alerts.map((a) => ({ kind: a.kind, t: a.t })),
      summary: this.summaryEl.textContent,
    };
  }

  /** Put each alert mark in the first row where it does not touch the one before it. */
  _layoutMarks() {
    const width = this.strip.clientWidth;
    if (!width || !this.model) return;
    const ends = [];
    for (const mark of this.strip.querySelectorAll(".st-alert")) {
      const x = (Number(mark.dataset.t) / this.model.duration) * width;
      let row = ends.findIndex((end) => x >= end + MARK_GAP_PX);
      if (row === -1) row = ends.length < MARK_ROWS ? ends.push(x) - 1 : ends.indexOf(Math.min(...ends));
      ends[row] = x;
      mark.style.setProperty("--row", String(row));
    }
  }

  _bind() {
    const seekTo = (event) => {
      const rect = this.strip.getBoundingClientRect();
      if (rect.width <= 0 || !this.model) return;
      const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
      this.onSeek(fraction * this.model.duration);
    };
    this.strip.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || !this.model) return;
      if (event.target.closest?.(".st-alert")) return; // a mark plays from its own time (click)
      this._dragging = true;
      this.strip.setPointerCapture?.(event.pointerId);
      seekTo(event);
      event.preventDefault();
    });
    this.strip.addEventListener("pointermove", (event) => {
      if (this._dragging) seekTo(event);
    });
    const stop = () => {
      this._dragging = false;
    };
    this.strip.addEventListener("pointerup", stop);
    this.strip.addEventListener("pointercancel", stop);
    this.strip.addEventListener("click", (event) => {
      const mark = event.target.closest?.(".st-alert");
      if (mark) this.onSeek(Number(mark.dataset.t));
    });
  }
}
