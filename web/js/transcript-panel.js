// The agent console's live transcript: what the customer and the agent said,
// line by line, as the server's recognisers hear it (node/transcription.py).
//
// - A final utterance (`transcript_utterance`) is a line: who ("Customer",
//   "You"), when in the call (mm:ss of `start_ms`), the words with the
//   configured keywords marked, a sentiment mark on the customer's lines, and
//   a quiet mark when the speaker's line was poor while it was said.
// - Words still being spoken (`transcript_partial`) are one grey line per
//   speaker, replaced by their next partial and removed by their utterance.
// - The transcription's state (`transcription_state`) is said plainly: off or
//   unavailable (and why), paused with the recording, a microphone refused,
//   running behind live.
// - Keyword and mood alerts (`transcript_alert`) are short notices
//   (TranscriptAlerts, below).
//
// Every text from the server goes in with textContent, never as markup.

import { element, escapeRegExp, languageWords, sentence } from "./transcript-words.js";
import { clock } from "./ui.js";

// Whose words a line is. The console belongs to the agent, so the agent is "You";
// on the supervisors' dashboard (viewer "staff") the agent is "Agent".
const ROLE_WORDS = {
  agent: { customer: "Customer", agent: "You", supervisor: "Supervisor" },
  staff: { customer: "Customer", agent: "Agent", supervisor: "Supervisor" },
};
const SENTIMENT_WORDS = { positive: "positive", neutral: "neutral", negative: "negative" };
// A symbol as well as a colour, so the mark does not rest on colour alone.
const SENTIMENT_SYMBOLS = { positive: "+", neutral: "=", negative: "−" };
const POOR_LINE_WORDS = "words may have been lost: the line was poor";
// Below this the transcript keeps up well enough not to mention it.
const LAG_SHOWN_MS = 1500;
// Within this many pixels of the bottom the agent is "at the newest line".
const STICK_PX = 24;
// A keyword notice is a nudge, not a state: it goes after this long.
const KEYWORD_SHOWN_MS = 15000;
// A mood alert that cleared stays listed (as cleared) this long, so the agent sees it went away.
const CLEARED_SHOWN_MS = 8000;

// Bengali letters, vowel signs and marks are parts of a word, as Latin letters are
// (transcribe/keywords.py _WORD); Bengali nouns take case endings (its _BENGALI_ENDINGS).
const WORD_CHAR = "[\\p{L}\\p{M}\\p{N}_]";
const BENGALI = /[\u0980-\u09ff]/u;
const BENGALI_ENDINGS = "(?:ে|ের|কে|তে|য়|র|রা|দের|টা|টি)?";

/** Call time for people: mm:ss (h:mm:ss past an hour). */
export function callTime(ms) {
  return clock((Number.isFinite(ms) ? ms : 0) / 1000, { twoDigitMinutes: true });
}

/** Who said it, in words, for whoever reads the transcript ("agent" or "staff"). */
export function speakerWords(role, viewer = "agent") {
  const words = ROLE_WORDS[viewer] || ROLE_WORDS.agent;
  return words[role] || (role ? role[0].toUpperCase() + role.slice(1) : "Someone");
}

/**
 * `text` split around the keywords said in it: [{text, keyword}] where keyword is the
 * configured keyword a piece matched, or null. Whole words, ignoring case, as the server
 * spots them (a Bengali keyword with its case endings).
 */
export function splitKeywords(text, keywords) {
  const words = [...new Set((keywords || []).filter((k) => typeof k === "string" && k.trim()))];
  if (!text || words.length === 0) return [{ text: text || "", keyword: null }];
  // Longest first, so "cash back" wins over "cash" where both are configured.
  words.sort((a, b) => b.length - a.length);
  const alternatives = words.map((w) => `(${escapeRegExp(w.normalize("NFC"))}${BENGALI.test(w) ? BENGALI_ENDINGS : ""})`);
  let pattern;
  try {
    pattern = new RegExp(`(?<!${WORD_CHAR})(?:${alternatives.join("|")})(?!${WORD_CHAR})`, "giu");
  } catch {
    return [{ text, keyword: null }];
  }
  const normal = text.normalize("NFC");
  const pieces = [];
  let at = 0;
  for (const match of normal.matchAll(pattern)) {
    if (match[0] === "") continue;
    if (match.index > at) pieces.push({ text: normal.slice(at, match.index), keyword: null });
    const which = match.slice(1).findIndex((group) => group !== undefined);
    pieces.push({ text: match[0], keyword: words[which] ?? match[0] });
    at = match.index + match[0].length;
  }
  if (at < normal.length) pieces.push({ text: normal.slice(at), keyword: null });
  return pieces.length ? pieces : [{ text: normal, keyword: null }];
}

/**
 * The transcript panel. Elements (agent.html, in `section#transcript`): `.t-notices`,
 * `.t-scroll` (the scrolling box) holding `.t-empty`, `ol.t-lines` and `ul.t-partials`,
 * and the `button.t-new` that takes the agent back to the newest line.
 */
export class TranscriptPanel {
  /**
   * @param {HTMLElement} root
   * @param {{viewer?: "agent" | "staff"}} options whose view it is: the agent's console
   *   calls the agent "You" and speaks to them; a supervisor's says "Agent".
   */
  constructor(root, { viewer = "agent" } = {}) {
    this.root = root;
    this.viewer = viewer;
    this.noticeList = root.querySelector(".t-notices");
    this.scroller = root.querySelector(".t-scroll");
    this.empty = root.querySelector(".t-empty");
    this.lineList = root.querySelector(".t-lines");
    this.partialList = root.querySelector(".t-partials");
    this.newButton = root.querySelector(".t-new");
    this.stick = true; // follow the newest line (the agent has not scrolled up)
    this.scroller.addEventListener("scroll", () => {
      this.stick = this._atBottom();
      if (this.stick) this.newButton.hidden = true;
    });
    this.newButton.addEventListener("click", () => {
      this.stick = true;
      this.newButton.hidden = true;
      this._scrollToEnd();
    });
    this.clear();
  }

  /** Forget everything, and listen for `callId` (null: no call). */
  clear(callId = null) {
    this.callId = callId;
    this.status = null; // the last transcription_state (or the loaded view's)
    this.utterances = new Map(); // id -> utterance, in the order shown
    this.partials = new Map(); // participant id -> partial
    this.loadError = null; // why what was said before could not be loaded
    this.loaded = false;
    this._loading = null; // {state: bool, touched: Set} while a load is under way
    this.lineList.replaceChildren();
    this.partialList.replaceChildren();
    this.stick = true;
    this.newButton.hidden = true;
    this._drawNotices();
  }

  /** A `transcription_state`. */
  setStatus(status) {
    this.status = status;
    if (this._loading) this._loading.state = true;
    this._drawNotices();
  }

  /** A `transcript_partial`: the words a speaker has said so far in this utterance. */
  partial(partial) {
    const id = partial?.participant_id;
    if (!id) return;
    this._loading?.touched.add(id);
    if (partial.text?.trim()) this.partials.set(id, partial);
    else this.partials.delete(id);
    this._drawPartials();
    this._follow(false);
  }

  /** A `transcript_utterance`'s utterance: a final line; that speaker's partial goes. */
  utterance(utterance) {
    if (!utterance?.id) return;
    this._loading?.touched.add(utterance.participant_id);
    this.partials.delete(utterance.participant_id);
    const known = this.utterances.has(utterance.id);
    this.utterances.set(utterance.id, utterance);
    if (known) {
      this.lineList.querySelector(`[data-id="${CSS.escape(utterance.id)}"]`)?.replaceWith(lineOf(utterance, this.viewer));
    } else {
      this._insert(utterance);
    }
    this._drawPartials();
    this._drawNotices();
    this._follow(!known);
  }

  /** A load of GET /api/calls/{id}/transcript starts: live events from now on win over it. */
  beginLoad() {
    this._loading = { state: false, touched: new Set() };
    this.loadError = null;
    this._drawNotices();
  }

  /**
   * The transcript so far (GET /api/calls/{id}/transcript), merged with whatever came
   * live while it loaded: utterances by id; the live state and partials are newer.
   */
  load(view) {
    const loading = this._loading ?? { state: false, touched: new Set() };
    this._loading = null;
    this.loaded = true;
    if (!loading.state) {
      const { utterances, partials, mood, ...status } = view;
      this.status = status;
    }
    for (const utterance of view.utterances || []) {
      if (!utterance?.id || this.utterances.has(utterance.id)) continue;
      this.utterances.set(utterance.id, utterance);
    }
    for (const partial of view.partials || []) {
      const id = partial?.participant_id;
      if (id && !loading.touched.has(id) && partial.text?.trim()) this.partials.set(id, partial);
    }
    // Redraw in call order: the loaded lines come before the live ones.
    const ordered = [...this.utterances.values()].sort((a, b) => (a.start_ms ?? 0) - (b.start_ms ?? 0));
    this.utterances = new Map(ordered.map((u) => [u.id, u]));
    this.lineList.replaceChildren(...ordered.map((u) => lineOf(u, this.viewer)));
    this._drawPartials();
    this._drawNotices();
    this.stick = true;
    this._scrollToEnd();
  }

  /** The load failed: live lines still come; say that earlier ones are missing. */
  loadFailed(error) {
    this._loading = null;
    this.loadError = error?.message || error?.code || "unknown error";
    this._drawNotices();
  }

  /** Whether a load of the transcript so far is under way. */
  get loading() {
    return this._loading !== null;
  }

  /** The customer's utterances, for the gauge (the newest last). */
  customerUtterances() {
    return [...this.utterances.values()].filter((u) => u.role === "customer");
  }

  // -- drawing -----------------------------------------------------------

  _insert(utterance) {
    const line = lineOf(utterance, this.viewer);
    // Two speakers' utterances can end out of order: keep the call's order by start time.
    const start = utterance.start_ms ?? 0;
    let before = null;
    for (let node = this.lineList.lastElementChild; node; node = node.previousElementSibling) {
      if (Number(node.dataset.start) <= start) break;
      before = node;
    }
    this.lineList.insertBefore(line, before);
    if (before) {
      // Keep the map in the order shown.
      const ordered = [...this.utterances.values()].sort((a, b) => (a.start_ms ?? 0) - (b.start_ms ?? 0));
      this.utterances = new Map(ordered.map((u) => [u.id, u]));
    }
  }

  _drawPartials() {
    const lines = [...this.partials.values()]
      .sort((a, b) => (a.t_ms ?? 0) - (b.t_ms ?? 0))
      .map((partial) => {
        const line = element("li", "t-line t-partial");
        line.dataset.role = partial.role || "";
        line.dataset.participant = partial.participant_id;
        const meta = element("span", "t-meta");
        meta.append(element("span", "t-who", speakerWords(partial.role, this.viewer)), element("span", "t-speaking", "speaking…"));
        line.append(meta, element("span", "t-text", partial.text));
        return line;
      });
    this.partialList.replaceChildren(...lines);
  }

  _drawNotices() {
    const notices = this._notices();
    this.noticeList.replaceChildren(
      ...notices.map(({ kind, severity, text }) => {
        const item = element("li", "t-notice", text);
        item.dataset.kind = kind;
        item.dataset.severity = severity;
        return item;
      }),
    );
    this.noticeList.hidden = notices.length === 0;
    const transcribing = !this.status || this.status.state === "active" || this.status.state === "starting";
    this.empty.hidden = this.utterances.size > 0 || this.partials.size > 0 || !transcribing;
    this.root.dataset.state = this.status?.state ?? "starting";
  }

  /** What the agent must know about the transcription, in words: [{kind, severity, text}]. */
  _notices() {
    const status = this.status;
    const notices = [];
    if (!status || status.state === "starting") {
      if (this.callId) notices.push({ kind: "starting", severity: "info", text: "Live transcript starting…" });
    } else if (status.state === "unavailable" || status.state === "off") {
      // The server's reason already starts "no live transcript for Bengali: …" when it is the model.
      const why = sentence(status.reason);
      const text = /^no live transcript\b/i.test(why) ? why : `Live transcript is off for this call: ${why || "no reason was given"}`;
      notices.push({ kind: status.state, severity: "error", text });
    }
    if (status?.paused) {
      notices.push({ kind: "paused", severity: "warn", text: "Recording paused: nothing is being transcribed" });
    }
    for (const [, stream] of Object.entries(status?.streams || {})) {
      if (stream?.state !== "refused") continue;
      const yours = stream.role === "agent" && this.viewer === "agent";
      const whose = yours ? "Your microphone" : `The ${stream.role || "other"}'s microphone`;
      const why = stream.reason ? `: ${stream.reason}` : "";
      notices.push({ kind: "refused", severity: "warn", text: `${whose} is not being transcribed${why}` });
    }
    const transcribing = status && status.state !== "off" && status.state !== "unavailable";
    if (transcribing && status.lag_ms > LAG_SHOWN_MS) {
      const seconds = Math.round(status.lag_ms / 1000);
      notices.push({ kind: "lag", severity: "warn", text: `Transcript running ${seconds} s behind` });
    }
    if (this.loadError) {
      notices.push({
        kind: "load_failed",
        severity: "warn",
        text: `The transcript so far could not be loaded (${this.loadError}); new lines still appear.`,
      });
    }
    return notices;
  }

  /** Keep the newest line in view, unless the agent scrolled up to read (then offer the way back). */
  _follow(newLine) {
    if (this.stick) this._scrollToEnd();
    else if (newLine) this.newButton.hidden = false;
  }

  _scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  _atBottom() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight <= STICK_PX;
  }

  /** What the tests read (window.kotha.state().transcript). */
  snapshot() {
    return {
      callId: this.callId,
      state: this.status?.state ?? null,
      reason: this.status?.reason ?? null,
      paused: Boolean(this.status?.paused),
      lagMs: this.status?.lag_ms ?? null,
      loaded: this.loaded,
      following: this.stick,
      lines: [...this.utterances.values()].map((u) => ({
        id: u.id,
        role: u.role,
        text: u.text,
        startMs: u.start_ms,
        sentiment: u.sentiment?.label ?? null,
        keywords: u.keywords || [],
        poor: u.quality?.rating === "poor",
      })),
      partials: [...this.partials.values()].map((p) => ({ participantId: p.participant_id, role: p.role, text: p.text })),
      notices: this._notices(),
    };
  }
}

/** One final utterance as a line of the transcript. */
function lineOf(utterance, viewer = "agent") {
  const line = element("li", "t-line");
  line.dataset.id = utterance.id;
  line.dataset.role = utterance.role || "";
  line.dataset.start = String(utterance.start_ms ?? 0);
  const meta = element("span", "t-meta");
  meta.append(element("span", "t-who", speakerWords(utterance.role, viewer)));
  const time = element("time", "t-time", callTime(utterance.start_ms));
  time.dateTime = `PT${Math.max(0, Math.floor((utterance.start_ms ?? 0) / 1000))}S`;
  time.title = "Time in the call";
  meta.append(time);
  const label = utterance.sentiment?.label;
  // Customer lines only, and only a real score: "not_supported" shows nothing rather than a fake neutral.
  if (utterance.role === "customer" && label in SENTIMENT_WORDS) {
    const score = utterance.sentiment.score;
    const mark = element("span", "t-sentiment", SENTIMENT_SYMBOLS[label]);
    mark.dataset.sentiment = label;
    mark.setAttribute("role", "img");
    const words = `Sentiment: ${SENTIMENT_WORDS[label]}${typeof score === "number" ? ` (${score > 0 ? "+" : ""}${score.toFixed(2)})` : ""}`;
    mark.setAttribute("aria-label", words);
    mark.title = words;
    line.dataset.sentiment = label;
    meta.append(mark);
  }
  if (utterance.quality?.rating === "poor") {
    const mark = element("span", "t-poor", "≈");
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", POOR_LINE_WORDS);
    mark.title = POOR_LINE_WORDS;
    line.dataset.quality = "poor";
    meta.append(mark);
  }
  const text = element("span", "t-text");
  for (const piece of splitKeywords(utterance.text || "", utterance.keywords)) {
    if (piece.keyword === null) {
      text.append(piece.text);
    } else {
      const mark = element("mark", "t-keyword", piece.text);
      mark.title = `Keyword: ${piece.keyword}`;
      text.append(mark);
    }
  }
  line.append(meta, text);
  return line;
}

// -- alerts ---------------------------------------------------------------

const MOOD_ALERT_WORDS = {
  negative_streak: "the customer has sounded negative several times in a row",
  falling: "the customer's mood is falling",
};

// Transcript alerts listed at once (active and newest first); the rest are counted.
const TRANSCRIPT_ALERTS_SHOWN = 3;

/**
 * Keyword and mood alerts (`transcript_alert`), as short notices in the console's
 * alert style. A keyword alert is shown for a while; a mood alert until it clears,
 * then briefly as cleared. Element: `ul#transcript-alerts` (agent.html).
 */
export class TranscriptAlerts {
  constructor(list) {
    this.list = list;
    this.entries = new Map(); // key -> {alert, active, shownAt, clearedAt}
    this.clear();
  }

  clear() {
    this.entries.clear();
    this._draw();
  }

  /** A `transcript_alert`'s alert. */
  add(alert) {
    if (!alert?.kind) return;
    const now = performance.now();
    if (alert.kind === "keyword") {
      const key = `keyword|${alert.utterance_id}|${alert.keyword}`;
      this.entries.set(key, { alert, active: true, shownAt: now, clearedAt: null });
    } else {
      const key = `mood|${alert.kind}`;
      if (alert.active) {
        this.entries.set(key, { alert, active: true, shownAt: now, clearedAt: null });
      } else if (this.entries.has(key)) {
        // Shown as its own words struck through (as quality alerts are): the server's
        // "the customer sounds better" is the same for every kind, so it would not say which.
        Object.assign(this.entries.get(key), { active: false, clearedAt: now });
      }
    }
    this._draw();
  }

  /** Mood alerts active when the console (re)opened (the loaded mood's `alerts`). */
  restore(kinds) {
    for (const kind of kinds || []) {
      const key = `mood|${kind}`;
      if (this.entries.get(key)?.active) continue;
      const message = MOOD_ALERT_WORDS[kind] || kind.replace(/_/g, " ");
      this.entries.set(key, { alert: { kind, message, active: true }, active: true, shownAt: performance.now(), clearedAt: null });
    }
    this._draw();
  }

  /** Once a second: keyword notices and cleared mood alerts go after a while. */
  tick() {
    const now = performance.now();
    let changed = false;
    for (const [key, entry] of this.entries) {
      const old =
        entry.alert.kind === "keyword" ? now - entry.shownAt > KEYWORD_SHOWN_MS : !entry.active && now - entry.clearedAt > CLEARED_SHOWN_MS;
      if (old) {
        this.entries.delete(key);
        changed = true;
      }
    }
    if (changed) this._draw();
  }

  _draw() {
    const entries = [...this.entries.values()].sort((a, b) => Number(b.active) - Number(a.active) || b.shownAt - a.shownAt);
    // The newest few: a burst of keywords must not push the call out of view.
    const hidden = entries.length - TRANSCRIPT_ALERTS_SHOWN;
    this.list.replaceChildren(
      ...entries.slice(0, TRANSCRIPT_ALERTS_SHOWN).map((entry) => {
        const { alert, active } = entry;
        // The console's quality alerts look the same (css q-alert): one style for "look at this".
        const item = element("li", "q-alert t-alert");
        item.dataset.active = String(active);
        item.dataset.kind = alert.kind;
        const chip = alert.kind === "keyword" ? "Keyword" : active ? "Mood" : "Cleared";
        item.append(element("span", "q-alert-state", chip), element("span", "q-alert-text", sentence(alert.message)));
        return item;
      }),
      ...(hidden > 0 ? [element("li", "t-alerts-more hint", `and ${hidden} earlier alert${hidden === 1 ? "" : "s"}`)] : []),
    );
    this.list.hidden = entries.length === 0;
  }

  snapshot() {
    return [...this.entries.values()].map(({ alert, active }) => ({
      kind: alert.kind,
      keyword: alert.keyword ?? null,
      active,
      message: alert.message,
    }));
  }
}
