// The customer's rating of a call they had: "How was your call?", 1 to 5 (five big
// stars, each a radio button with its words for screen readers), an optional
// comment (up to 500 characters, counted), Send and "No thanks".
//
// Asked only after a call an agent answered, once per call: rated (or "rated
// already", 409), declined or no longer possible, the call's id is remembered in
// sessionStorage and the form never comes back for it. Until then the question
// (the call's id and its customer token, which alone may rate it) survives a
// reload of the ended page. A failure is said in words, in the page's language,
// and Send becomes "Try again". POST /api/calls/{call_id}/rating (docs/protocol.md).

import { request } from "./api.js";
import * as i18n from "./i18n.js";
import { tokenClaims } from "./token-store.js";
import { $ } from "./ui.js";

const PENDING_KEY = "kotha.customer.rating"; // the question still open: {call_id, token, answered_at, ended_at, context}
const DONE_KEY = "kotha.customer.rated"; // ids of the calls not to ask about again
const REMEMBERED = 20;
export const MAX_COMMENT = 500;
// What the server refuses in a comment (control and direction-override characters), removed
// before sending; runs of spaces and line breaks become one space, as the server keeps them.
const REFUSED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// States in which the form shows; the others show a sentence (or nothing).
const ASKING = new Set(["asking", "sending", "failed"]);
const SAID = { thanks: "rating_thanks", already: "rating_already", closed: "rating_closed" };

function read(key, fallback) {
  try {
    return JSON.parse(sessionStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Without storage a reload may ask again; the rating itself still works.
  }
}

function isDone(callId) {
  const done = read(DONE_KEY, []);
  return Array.isArray(done) && done.includes(callId);
}

export class RatingForm {
  /** @param {(() => void)|null} onChange redraws the page (which draws the form) on every change */
  constructor(onChange = null) {
    this.onChange = onChange;
    this.callId = null;
    this.token = null;
    this.state = "none"; // none, asking, sending, failed, thanks, already, closed, declined
    this.score = null;
    this.problem = null; // a key of i18n, or {error} of a failed send
    this._bind();
  }

  /**
   * A call ended: ask about it if an agent answered it and it was not rated or declined.
   * @param {object|null} call the server's call (`call_id`, `answered_at`, `ended_at`)
   * @param {string|null} token the customer's token for that call
   * @param {object} context what the page wants back after a reload (how the call ended)
   */
  offer(call, token, context = {}) {
    // Told twice of the same end (call_ended, then the call's own state): keep what is there.
    if (call?.call_id && call.call_id === this.callId && this.state !== "none") return ASKING.has(this.state);
    this.state = "none";
    if (!call?.call_id || !call.answered_at || !token || isDone(call.call_id)) {
      write(PENDING_KEY, null); // after a later call's end, an earlier one is not asked about
      return false;
    }
    this.callId = call.call_id;
    this.token = token;
    this.score = null;
    this.problem = null;
    this.state = "asking";
    $("rating-comment").value = "";
    const { call_id: callId, answered_at: answeredAt, ended_at: endedAt = null } = call;
    write(PENDING_KEY, { call_id: callId, token, answered_at: answeredAt, ended_at: endedAt, context });
    return true;
  }

  /** The question left open by a reload of the ended page (with its call and context), or null. */
  static pending() {
    const pending = read(PENDING_KEY, null);
    if (!pending?.call_id || !pending.token || isDone(pending.call_id)) return null;
    const expires = Number(tokenClaims(pending.token).exp) || 0;
    if (expires && expires * 1000 < Date.now()) {
      write(PENDING_KEY, null); // the token can no longer rate it
      return null;
    }
    return pending;
  }

  /** The question goes away without an answer (the customer calls again). */
  dismiss() {
    write(PENDING_KEY, null);
    this.state = "none";
    this.token = null;
  }

  choose(score) {
    this.score = score;
    if (this.problem === "rating_pick_first") this.problem = null;
    this._changed();
  }

  async send() {
    if (this.state === "sending" || !ASKING.has(this.state)) return;
    if (!this.score) {
      this.problem = "rating_pick_first";
      this._changed();
      document.querySelector('#rating input[name="score"]')?.focus();
      return;
    }
    const comment = $("rating-comment").value.replace(REFUSED, "").replace(/\s+/g, " ").trim().slice(0, MAX_COMMENT);
    this.state = "sending";
    this.problem = null;
    this._changed();
    try {
      const body = comment ? { score: this.score, comment } : { score: this.score };
      await request("POST", `/api/calls/${encodeURIComponent(this.callId)}/rating`, { token: this.token, body });
      this._finish("thanks");
    } catch (error) {
      if (error?.status === 409) {
        // Rated already (another tab), or a call that cannot be rated: either way, not again.
        this._finish(/rated already/i.test(error.message || "") ? "already" : "closed");
      } else if ([401, 403, 404].includes(error?.status)) {
        this._finish("closed"); // the link ran out, or the call is gone: nothing to retry
      } else {
        this.state = "failed";
        this.problem = { error };
        this._changed();
      }
    }
  }

  decline() {
    if (this.state !== "sending") this._finish("declined");
  }

  _finish(state) {
    this.state = state;
    this.problem = null;
    const done = read(DONE_KEY, []);
    write(DONE_KEY, [...(Array.isArray(done) ? done : []).filter((id) => id !== this.callId), this.callId].slice(-REMEMBERED));
    write(PENDING_KEY, null);
    this.token = null;
    this._changed();
    if (SAID[state]) $("rating-done").focus({ preventScroll: true });
  }

  _changed() {
    if (this.onChange) this.onChange();
    else this.render();
  }

  // -- drawing ---------------------------------------------------------------------

  render() {
    const asking = ASKING.has(this.state);
    $("rating").hidden = !asking;
    const done = $("rating-done");
    done.hidden = !SAID[this.state];
    done.textContent = SAID[this.state] ? i18n.t(SAID[this.state]) : "";
    done.dataset.state = this.state;
    if (!asking) return;
    for (const star of document.querySelectorAll("#rating .rating-star")) {
      const score = Number(star.dataset.score);
      star.dataset.on = String(Boolean(this.score) && score <= this.score);
      star.querySelector("input").checked = score === this.score;
      star.querySelector(".rating-number").textContent = i18n.formatNumber(score);
      star.querySelector(".rating-word").textContent = i18n.t(`rating_${score}`);
    }
    $("rating-chosen").textContent = this.score
      ? i18n.t("rating_chosen", { score: this.score, words: i18n.t(`rating_${this.score}`) })
      : "";
    const length = $("rating-comment").value.length;
    $("rating-count").textContent = i18n.t("rating_count", { n: length, max: MAX_COMMENT });
    const problem = $("rating-problem");
    let words = "";
    if (this.problem === "rating_pick_first") words = i18n.t("rating_pick_first");
    else if (this.problem?.error) words = i18n.t("rating_failed", { reason: i18n.describeError(this.problem.error) });
    problem.hidden = !words;
    problem.textContent = words;
    const send = $("rating-send");
    send.disabled = this.state === "sending";
    send.textContent = i18n.t(this.state === "sending" ? "rating_sending" : this.state === "failed" ? "rating_retry" : "rating_send");
    $("rating-skip").disabled = this.state === "sending";
    $("rating-skip").textContent = i18n.t("rating_skip");
  }

  _bind() {
    $("rating").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("rating").addEventListener("change", (event) => {
      if (event.target.name === "score") this.choose(Number(event.target.value));
    });
    $("rating-comment").addEventListener("input", () => this._changed());
    $("rating-skip").addEventListener("click", () => this.decline());
  }

  /** The form is asking (the page plays down its other buttons meanwhile). */
  get asking() {
    return ASKING.has(this.state);
  }

  /** What the tests read (window.kotha.state().rating). */
  snapshot() {
    return {
      state: this.state,
      callId: this.callId,
      shown: !$("rating").hidden,
      score: this.score,
      said: $("rating-done").hidden ? null : $("rating-done").textContent,
      problem: $("rating-problem").hidden ? null : $("rating-problem").textContent,
      count: $("rating-count").textContent,
    };
  }
}
