// The supervisors' dashboard in words: what each code of the floor snapshot
// (node/floor.py) and of monitoring (docs/protocol.md) means to a person,
// and the small formats the floor modules share (a MOS badge; the clock is ui.js clock()).
//
// English only, like the agent console.

import { describeError } from "./i18n.js";
import { RATING_WORDS, figure } from "./quality-indicator.js";
import { element, languageWords, sentence } from "./transcript-words.js";

export { element, languageWords, sentence };

export const ROLE_WORDS = { customer: "Customer", agent: "Agent", supervisor: "Supervisor" };
export const MEDIA_WORDS = { audio: "Voice", video: "Video" };

// "Offline" is not a server state: an agent whose socket is gone (connected: false).
export const AGENT_STATE_WORDS = {
  available: "Available",
  on_call: "On a call",
  ringing: "Ringing",
  away: "Away",
  offline: "Offline",
};

// The server's attention levels: "high" at a score of 4 or more (node/floor.py).
export const ATTENTION_WORDS = {
  high: "Needs attention",
  medium: "Worth a look",
  low: "Minor issue",
  none: "All fine",
};

export const RECORDING_WORDS = {
  recording: "Recording",
  paused: "Recording paused",
  stopped: "Recording stopped",
  off: "Not recorded",
};
// A shape beside the word, so the state does not rest on colour alone.
export const RECORDING_SYMBOLS = { recording: "●", paused: "❚❚", stopped: "■", off: "○" };

// What each monitoring mode means, said to the supervisor.
export const MODE_NAMES = { listen: "Listening", whisper: "Whispering", barge: "Barged in" };
export const MODE_VERBS = { listen: "listening", whisper: "whispering", barge: "barged in" };
export const MODE_MEANING = {
  none: "You are not listening to this call.",
  listen: "Only you hear the call. The agent can see that you are listening; the customer is not told.",
  whisper: "The agent hears you, the customer does not.",
  barge: "Everyone hears you. The customer is told that a supervisor joined.",
};

export const ALERT_SOURCE_WORDS = {
  quality: "Line",
  sentiment: "Mood",
  keyword: "Keyword",
  connection: "Connection",
  category: "Category",
};

export const MONITOR_END_WORDS = {
  stopped: "You stopped listening.",
  disconnected: "Your listening stopped: your connection to the server dropped.",
  call_ended: "The call ended, so your listening stopped.",
  failed: "Listening stopped: the audio connection to the server failed.",
  agent_lost: "Your listening stopped: the agent's connection was lost and the call went back to the queue. Monitor it again once another agent takes it.",
};

export const CALL_END_WORDS = {
  hung_up: "hung up",
  cancelled: "cancelled",
  abandoned: "abandoned",
  disconnected: "a connection was lost",
  expired: "the link expired",
  shutdown: "the server shut down",
  interrupted: "the server stopped unexpectedly",
};

// The dashboard's own words for errors a supervisor meets; others come from i18n.js.
const ERROR_WORDS = {
  token_missing: "Sign in with a supervisor's or an admin's token.",
  token_expired: "This token has expired: sign in with a new one.",
  token_invalid: "This token is not valid: check that it was copied whole, or ask for a new one.",
  forbidden: "This token may not do that.",
  audit_unavailable:
    "Refused: the audit log cannot be written just now, and watching or listening in is only allowed when it is recorded.",
  call_state: "The call is not in a state that allows this.",
  not_found: "That call is not in progress any more.",
  media_error: "The audio connection to the server had a problem.",
};

// Codes whose server message adds nothing a supervisor can use (audit_unavailable carries the
// OS error, with a path on the server).
const OWN_WORDS_ONLY = new Set(["audit_unavailable"]);

/** An error in words, with the server's own (English) explanation when it gave one. */
export function errorWords(error) {
  const code = error?.code || "unknown";
  const words = ERROR_WORDS[code] || describeError(error, "en");
  const useful = error?.message && error.message !== code && !OWN_WORDS_ONLY.has(code);
  const detail = useful && !words.includes(error.message) ? ` (${error.message})` : "";
  return words + detail;
}

/** A short "for how long" (state_for_s): "12 s", "4 min", "1 h 5 min". */
export function howLong(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// Shape as well as colour (the agent console's quality symbols).
export const RATING_SYMBOLS = { good: "✓", fair: "!", poor: "✕", unknown: "…" };

/**
 * A MOS badge: a symbol, who, the figure and the rating word ("✓ Customer MOS 4.4 Good").
 * `silent`: no audio arrives from them, so the server's MOS (of the other direction) says
 * nothing about how they sound.
 */
export function mosBadge({ role, mos, rating, silent = false, reason = "" }) {
  const known = rating in RATING_WORDS ? rating : "unknown";
  const badge = element("span", "mos-badge");
  badge.dataset.rating = known;
  badge.dataset.role = role || "";
  const word = known === "unknown" ? "not measured yet" : RATING_WORDS[known];
  const value = silent ? "no audio" : `MOS ${figure(mos, "mos")}`;
  badge.append(
    element("span", "q-symbol", RATING_SYMBOLS[known]),
    element("span", "mos-who", ROLE_WORDS[role] || sentence(role || "someone")),
    element("span", "mos-value", value),
    element("span", "mos-word", word),
  );
  badge.querySelector(".q-symbol").setAttribute("aria-hidden", "true");
  badge.title = reason ? sentence(reason) : `${ROLE_WORDS[role] || role}'s line: ${word}`;
  return badge;
}

/**
 * A video badge beside the MOS one ("✓ Customer video Good"): the party's video rated on its
 * own, so a camera's trouble never reads as the voice's ("MOS 4.4 Poor").
 */
export function videoBadge({ role, video }) {
  const known = video?.rating in RATING_WORDS ? video.rating : "unknown";
  const badge = element("span", "mos-badge video-badge");
  badge.dataset.rating = known;
  badge.dataset.role = role || "";
  const word = known === "unknown" ? "not measured yet" : RATING_WORDS[known];
  badge.append(
    element("span", "q-symbol", RATING_SYMBOLS[known]),
    element("span", "mos-who", ROLE_WORDS[role] || sentence(role || "someone")),
    element("span", "mos-value", "video"),
    element("span", "mos-word", word),
  );
  badge.querySelector(".q-symbol").setAttribute("aria-hidden", "true");
  badge.title = video?.reason ? sentence(video.reason) : `${ROLE_WORDS[role] || role}'s video: ${word}`;
  return badge;
}

/** The customer's mood as words: "Negative −0.42, falling" (null: none to show). */
export function moodParts(mood) {
  if (!mood || typeof mood.now !== "number") return null;
  const label = mood.label in { positive: 1, neutral: 1, negative: 1 } ? mood.label : mood.now >= 0.05 ? "positive" : mood.now <= -0.05 ? "negative" : "neutral";
  const arrows = { rising: "↗", falling: "↘", steady: "→" };
  return {
    label,
    word: sentence(label),
    score: mood.now,
    arrow: arrows[mood.direction] || "",
    direction: mood.direction in arrows ? mood.direction : null,
  };
}
