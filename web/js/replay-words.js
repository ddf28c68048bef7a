// The replay page's words: its fields, how calls ended, what failed (in words a reviewer
// can act on), and a recording's length, parties and time on hold.

import { passingTroubleWords } from "./errors.js";
import { clock } from "./ui.js";

export const ROLE_WORDS = { reviewer: "Reviewer", supervisor: "Supervisor", admin: "Admin" };
const FIELD_WORDS = {
  since: "From",
  until: "To",
  agent: "Agent",
  customer: "Customer",
  tag: "Tag",
  text: "Words said",
  min_duration: "At least (seconds)",
  max_mos: "Sounded bad",
  alert: "Quality alert",
  keyword: "Keyword said",
  max_sentiment: "Customer sounded negative",
  min_interruptions: "Interruptions, at least",
  min_silence: "A silence of (seconds)",
};
export const END_WORDS = {
  hung_up: "hung up",
  cancelled: "cancelled",
  abandoned: "abandoned",
  disconnected: "connection lost",
  expired: "link expired",
  shutdown: "server shut down",
  interrupted: "server stopped unexpectedly",
};
export const MEDIA_ERROR_WORDS = {
  1: "playback was stopped",
  2: "the network failed while loading it",
  3: "the file could not be decoded",
  4: "the file could not be loaded",
};
export const DATE_FORMAT = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** An error of the API (or of the page) in words a reviewer can act on. */
export function errorWords(error) {
  const code = error?.code || "unknown";
  const detail = error?.message && !/^HTTP \d+$/.test(error.message) ? ` (${error.message})` : "";
  switch (code) {
    case "token_missing":
      return "Sign in with a reviewer token to see recordings.";
    case "token_expired":
      return "Your token has expired. Get a new one and sign in again.";
    case "token_invalid":
    case "unauthorized":
      return "That token is not valid here (cut short, or from another server). Check it and sign in again.";
    case "forbidden":
      return "This token is not allowed to see recordings: only reviewers, supervisors and admins are. Sign in with a reviewer token.";
    case "not_found":
      return `That recording was not found; it may have been purged${detail}.`;
    case "invalid_message": {
      const field = FIELD_WORDS[error.field];
      return field ? `Check the “${field}” field${detail}.` : `The request was not valid${detail}.`;
    }
    case "audit_unavailable":
      return "Playback and downloads are refused right now because the audit log cannot be written. Try again later, or tell an admin.";
    case "media":
      return `The recording could not be played: ${error.message}.`;
    default:
      return passingTroubleWords(code) ?? `Something went wrong${detail || ` (${code})`}.`;
  }
}

/** A recording's length, rounded to the nearest second (5.9 s is 0:06, as the player says). */
export function length(ms) {
  return clock(Math.round((ms ?? 0) / 1000));
}

export function participantName(recording, role) {
  return (recording.participants || []).find((p) => p.role === role)?.name || "";
}

/** "on hold 1:05 (2 holds)" for a call that was held; "" otherwise (or not measured). */
export function heldWords(conversation) {
  const count = conversation?.holds;
  if (!(count > 0)) return "";
  const ms = typeof conversation.hold_ms === "number" ? conversation.hold_ms : null;
  const times = count === 1 ? "1 hold" : `${count} holds`;
  return ms === null ? `on hold (${times})` : `on hold ${length(ms)} (${times})`;
}
