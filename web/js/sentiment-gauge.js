// The agent console's view of the customer's mood: a gauge from negative (-1)
// to positive (+1) at the mood "now" (the server's recency-weighted score of
// the customer's last few utterances, transcribe/mood.py), its label in words,
// which way it is heading (rising, falling, steady) and a small line of the
// scores so far. Fed by the `mood` of each `transcript_utterance`, or of
// GET /api/calls/{id}/transcript when the console opens mid-call.
//
// A language whose sentiment the server cannot score says so, rather than
// showing a neutral it never measured.

import { languageWords } from "./transcript-words.js";

const SVG = "http://www.w3.org/2000/svg";
// The sparkline's drawing box; CSS stretches it (lines keep their width).
const BOX_W = 100;
const BOX_H = 24;
const LABEL_WORDS = { positive: "Positive", neutral: "Neutral", negative: "Negative" };
// An arrow as well as the word, so the direction reads at a glance.
const DIRECTION_WORDS = {
  rising: ["↗", "Rising"],
  falling: ["↘", "Falling"],
  steady: ["→", "Steady"],
};

/** A score for people: a sign and two decimals ("+0.35", "−0.42", "0.00"). */
export function scoreWords(score) {
  if (typeof score !== "number" || !Number.isFinite(score)) return "—";
  const text = Math.abs(score).toFixed(2);
  if (text === "0.00") return text;
  return `${score > 0 ? "+" : "−"}${text}`;
}

/** Where a score sits along the gauge, 0-100 %. */
function position(score) {
  return ((Math.max(-1, Math.min(1, score)) + 1) / 2) * 100;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/**
 * The gauge. Elements (agent.html, in `section#mood`): `.mood-word`, `.mood-value`,
 * `.mood-gauge` (role meter) with `.mood-marker`, `.mood-trend` and `svg.mood-spark`.
 */
export class SentimentGauge {
  constructor(root) {
    this.root = root;
    this.word = root.querySelector(".mood-word");
    this.value = root.querySelector(".mood-value");
    this.gauge = root.querySelector(".mood-gauge");
    this.marker = root.querySelector(".mood-marker");
    this.trend = root.querySelector(".mood-trend");
    this.spark = root.querySelector(".mood-spark");
    this.clear();
  }

  /** No call, or a new one: no mood yet. */
  clear() {
    this.mood = null;
    this.sentiment = null; // the newest customer utterance's sentiment
    this.transcribing = true; // false: the call has no live transcript, so no mood either
    this._draw();
  }

  /** Whether the call is transcribed at all (transcription_state off or unavailable: no). */
  setTranscribing(transcribing) {
    this.transcribing = Boolean(transcribing);
    this._draw();
  }

  /**
   * A `transcript_utterance`: its `mood`, and the utterance (a customer's tells whether
   * their language's sentiment can be scored at all).
   */
  update(mood, utterance = null) {
    if (mood && typeof mood === "object") this.mood = mood;
    if (utterance?.role === "customer" && utterance.sentiment) this.sentiment = utterance.sentiment;
    this._draw();
  }

  /** The mood so far and the customer's utterances so far (the console opened mid-call). */
  load(mood, customerUtterances = []) {
    const newest = customerUtterances.at(-1);
    // The live mood can be newer than the loaded one; the one with more scores wins.
    if (mood && (!this.mood || (mood.scored ?? 0) >= (this.mood.scored ?? 0))) this.mood = mood;
    if (newest?.sentiment) this.sentiment = newest.sentiment;
    this._draw();
  }

  /** "no mood yet", or why there will not be one. */
  _waiting() {
    if (!this.transcribing && !this.mood?.scored) return "No mood: this call has no live transcript";
    if (this.sentiment?.label === "not_supported") {
      return `Sentiment not supported for ${languageWords(this.sentiment.language)}`;
    }
    return "No mood yet";
  }

  _draw() {
    const now = typeof this.mood?.now === "number" ? this.mood.now : null;
    const label = now === null ? "none" : this.mood.label in LABEL_WORDS ? this.mood.label : labelOf(now);
    this.root.dataset.label = label;
    this.root.dataset.direction = now === null ? "unknown" : this.mood.direction || "unknown";
    if (now === null) {
      const words = this._waiting();
      this.word.textContent = words;
      this.value.textContent = "";
      this.marker.hidden = true;
      this.gauge.removeAttribute("aria-valuenow");
      this.gauge.setAttribute("aria-valuetext", words);
      this.trend.replaceChildren();
      this.trend.hidden = true;
      this._drawSpark([]);
      return;
    }
    const words = LABEL_WORDS[label];
    this.word.textContent = words;
    this.value.textContent = scoreWords(now);
    this.marker.hidden = false;
    this.marker.style.left = `${position(now)}%`;
    this.gauge.setAttribute("aria-valuenow", String(now));
    this.gauge.setAttribute("aria-valuetext", `${words}, ${scoreWords(now)}`);
    const direction = DIRECTION_WORDS[this.mood.direction];
    this.trend.hidden = false;
    if (direction) {
      const [arrow, text] = direction;
      const arrowNode = document.createElement("span");
      arrowNode.className = "mood-arrow";
      arrowNode.setAttribute("aria-hidden", "true");
      arrowNode.textContent = arrow;
      const trend = typeof this.mood.trend === "number" ? ` (${scoreWords(this.mood.trend)} since earlier)` : "";
      this.trend.replaceChildren(arrowNode, ` ${text}${trend}`);
    } else {
      this.trend.replaceChildren("Trend: not enough said yet");
    }
    this._drawSpark(Array.isArray(this.mood.history) ? this.mood.history : []);
  }

  /** The scores so far as a line: -1 at the bottom, +1 at the top, the newest at the right. */
  _drawSpark(history) {
    const scores = history.filter((s) => typeof s === "number" && Number.isFinite(s));
    this.spark.replaceChildren();
    // An SVG element has no `hidden` property: the attribute itself (css [hidden]).
    this.spark.toggleAttribute("hidden", scores.length === 0);
    if (scores.length === 0) return;
    const y = (s) => (((1 - Math.max(-1, Math.min(1, s))) / 2) * BOX_H).toFixed(2);
    const step = scores.length > 1 ? BOX_W / (scores.length - 1) : 0;
    // One score is a short flat line (a polyline needs two points to show).
    const points = scores.length > 1 ? scores.map((s, i) => `${(i * step).toFixed(2)},${y(s)}`) : [`0,${y(scores[0])}`, `${BOX_W},${y(scores[0])}`];
    this.spark.append(
      svg("line", { class: "mood-spark-zero", x1: 0, x2: BOX_W, y1: BOX_H / 2, y2: BOX_H / 2 }),
      svg("polyline", { class: "mood-spark-line", points: points.join(" ") }),
    );
  }

  /** What the tests read (window.kotha.state().mood). */
  snapshot() {
    const now = typeof this.mood?.now === "number" ? this.mood.now : null;
    return {
      now,
      label: now === null ? null : this.root.dataset.label,
      direction: this.mood?.direction ?? null,
      history: this.mood?.history ?? [],
      words: this.word.textContent,
    };
  }
}

/** The server's bands (transcribe/sentiment.py), for a mood that came without its label. */
function labelOf(score) {
  if (score >= 0.05) return "positive";
  if (score <= -0.05) return "negative";
  return "neutral";
}
