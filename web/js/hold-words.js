// The agent console's words about a hold: what it means for the customer, how long the
// customer was held, and why a hold or resume failed (what happened and what to do).
// English only, like the console.

import { clock } from "./ui.js";

// Said once (a live region) when the hold starts: what the customer gets, and who still hears.
export const HOLD_SAID = {
  audio: "The customer is on hold: they cannot hear you, and you cannot hear them.",
  video: "The customer is on hold: they cannot hear or see you, and you cannot hear or see them.",
};
export const HOLD_STILL = "A supervisor listening still hears you both, and the recording goes on.";
// Why a hold or a resume failed, and what to do, by the server's error code.
const HOLD_ERROR_WORDS = {
  // The server says why in a sentence of its own ("the customer is on hold already").
  call_state: (holding, message) =>
    `The customer could not be ${holding ? "put on hold" : "taken off hold"}: ` +
    `${message || "the call is not live at the moment"}. The button shows the call as it is now; press it again if you still need to.`,
  not_found: () => "The call is over, so there is no hold to change.",
  forbidden: () => "Only the agent of the call can put the customer on hold.",
  timeout: (holding) =>
    `The server did not answer in time, so the customer may ${holding ? "not be on hold" : "still be on hold"}. ` +
    "Check your connection, then press the button again.",
  network: (holding) =>
    `The server could not be reached, so the customer may ${holding ? "not be on hold" : "still be on hold"}. ` +
    "Check your connection, then press the button again.",
};

/** An ended call's time on hold ("On hold 1:20 in 2 holds"); "" when the customer was never held. */
export function holdWords(hold) {
  if (!hold?.count) return "";
  const times = hold.count === 1 ? "once" : `in ${hold.count} holds`;
  return `On hold ${clock(hold.total_s || 0)} ${times}`;
}

/** A failed hold or resume in words: what happened and what to do (never the raw error). */
export function holdError(error, holding) {
  const words = HOLD_ERROR_WORDS[error?.code];
  // The server's own sentence, when it wrote one (a bare code is not words).
  const said = error?.message && error.message !== error.code ? error.message : "";
  if (words) return { code: error.code, words: words(holding, said) };
  const what = holding ? "The customer could not be put on hold" : "The customer could not be taken off hold";
  return { code: error?.code || "unknown", words: `${what}. Press the button again; if it fails again, tell your supervisor.` };
}
