// The shop's webhooks in words, for the admin: each endpoint's state ("Failing: nothing
// delivered since 14:30"), when it tries next, its counts, its given-up events, and what
// a retry did or why it could not. No DOM here.

import { duration, formatWhen, relativeWhen } from "./audit-words.js";

export const POLL_S = 10;

const EVENT_WORDS = {
  "call.queued": "Call queued",
  "call.answered": "Call answered",
  "call.ended": "Call ended",
  "call.abandoned": "Call abandoned",
  "recording.ready": "Recording ready",
};

/** An event's type in words ("Call queued"); an unknown one as it is. */
export function eventWords(type) {
  return EVENT_WORDS[type] || String(type || "an event");
}

/** The server's words ("the receiver answered 500 ...") as a sentence. */
export function sentence(text) {
  const said = String(text || "").trim();
  if (!said) return "No reason was recorded.";
  return `${said[0].toUpperCase()}${said.slice(1)}${/[.!?]$/.test(said) ? "" : "."}`;
}

/** "12 Nov 2026, 14:32:58 (3 minutes ago)". */
export function whenWords(at, now = Date.now() / 1000) {
  return `${formatWhen(at)} (${relativeWhen(at, now)})`;
}

/** How an endpoint is doing: `{state, label, headline}` ("failing", "Failing", "Nothing delivered since …"). */
export function stateWords(endpoint, now = Date.now() / 1000) {
  const failing = endpoint.state === "failing";
  const since = endpoint.last_success_at;
  if (failing) {
    return {
      state: "failing",
      label: "Failing",
      headline: since ? `Nothing delivered since ${whenWords(since, now)}.` : "Nothing delivered yet.",
    };
  }
  return {
    state: "delivering",
    label: "Delivering",
    headline: since ? `Last delivered ${whenWords(since, now)}.` : "Nothing delivered yet: no event has been sent.",
  };
}

/** The last error, when the endpoint is failing: "Last error, at …: The receiver answered 500 …". */
export function lastErrorWords(endpoint, now = Date.now() / 1000) {
  if (endpoint.state !== "failing" || !endpoint.last_error) return "";
  const at = endpoint.last_error_at ? `, ${whenWords(endpoint.last_error_at, now)}` : "";
  return `Last error${at}: ${sentence(endpoint.last_error)}`;
}

/** When it is tried next: "Tries again in 40 s (at 14:33:05).", "Sending now.", "Nothing is waiting.". */
export function nextWords(endpoint, now = Date.now() / 1000) {
  const pending = Number(endpoint.pending) || 0;
  const next = endpoint.next_attempt_at;
  if (next) {
    const wait = next - now;
    if (wait < 1.5) return "Tries again any moment now.";
    return `Tries again in ${duration(wait)} (at ${timeWords(next)}).`;
  }
  if (Number(endpoint.in_flight) > 0) return "Sending now.";
  const held = Number(endpoint.held) || 0;
  if (held > 0) {
    return `${plural(held, "call waits", "calls wait")} for another node to deliver an earlier event of the call first.`;
  }
  if (pending > 0) return "Sending the waiting events now.";
  return "Nothing is waiting to be sent.";
}

/** What the admin can do about it, or "" when nothing needs doing. */
export function adviceWords(endpoint) {
  const given = Number(endpoint.failed_count) || 0;
  if (endpoint.state === "failing") {
    return (
      "What to do: check that the shop's backend at this URL is up and answers 2xx within 10 s " +
      "(its own log shows what it refused). kotha keeps retrying the waiting events by itself for a day; " +
      "given-up events go out only when you send them again."
    );
  }
  if (given > 0) {
    return "The endpoint takes events again: send the given-up events again so the shop gets them.";
  }
  return "";
}

/** The four counts: `[{key, label, value, detail, alert}]`. */
export function countWords(endpoint) {
  const n = (value) => Math.max(0, Number(value) || 0);
  const pending = n(endpoint.pending);
  const inFlight = n(endpoint.in_flight);
  const given = n(endpoint.failed_count);
  const refused = n(endpoint.refused);
  const held = n(endpoint.held);
  let waiting = pending ? "retried with backoff" : "none";
  if (held) waiting = `${plural(held, "call", "calls")} held for another node`;
  if (inFlight) waiting = `${inFlight} being sent now`;
  return [
    { key: "waiting", label: "Waiting", value: pending, detail: waiting, alert: false },
    { key: "delivered", label: "Delivered", value: n(endpoint.delivered), detail: "in all", alert: false },
    {
      key: "given_up",
      label: "Given up",
      value: given,
      detail: given ? "kept until sent again" : "none",
      alert: given > 0,
    },
    {
      key: "dropped",
      label: "Dropped",
      value: refused,
      detail: refused ? "outbox full: not kept" : "none since the server started",
      alert: refused > 0,
    },
  ];
}

/** Why events were dropped, when some were, and what to do. */
export function droppedWords(endpoint) {
  const refused = Number(endpoint.refused) || 0;
  if (!refused) return "";
  return (
    `${plural(refused, "event was", "events were")} not kept for this endpoint since the server started: it ` +
    "already held its maximum of waiting and given-up events. Get the receiver to take events again and " +
    "send the given-up ones again, so there is room."
  );
}

/** "2 events were given up: kotha stopped retrying …", or the newest of many. */
export function givenUpWords(endpoint) {
  const count = Number(endpoint.failed_count) || 0;
  const listed = Array.isArray(endpoint.failed) ? endpoint.failed.length : 0;
  const head =
    `kotha stopped retrying ${count === 1 ? "this event" : "these events"} (after a day of failures, or 500 ` +
    `attempts) and keeps ${count === 1 ? "it" : "them"}. Sending again puts an event back in the queue; it may then reach the ` +
    "shop after the call's later events (its seq says where it belongs).";
  return listed < count ? `${head} The newest ${listed} of ${count} are listed; “Send all again” sends all ${count}.` : head;
}

/** What a retry did: how many were put back. */
export function retriedWords(reply, event = null) {
  const count = reply.retried;
  if (event) {
    return count
      ? `Put 1 event back in the queue (${eventWords(event.type)}, call ${event.call_id}).`
      : "That event was not put back: it is no longer given up.";
  }
  if (!count) return `Nothing to send again: “${reply.endpoint}” has no given-up events now.`;
  return `Put ${plural(count, "given-up event", "given-up events")} back in the queue.`;
}

/**
 * What became of what a retry put back, as the endpoint is now: delivered, still failing
 * (kotha retries it by itself), given up again, or on its way.
 */
export function outcomeWords(endpoint, { retried, eventId = null }) {
  if (!retried) return "";
  const it = retried === 1 ? "It" : "They";
  if (eventId && (endpoint.failed ?? []).some((f) => f.event_id === eventId)) {
    return "It was given up again: see the list below.";
  }
  if (endpoint.state === "failing") {
    return `The receiver still fails (see the last error above): kotha keeps retrying ${retried === 1 ? "it" : "them"} by itself.`;
  }
  if ((Number(endpoint.pending) || 0) === 0) return `${it} ${retried === 1 ? "was" : "were"} delivered.`;
  return `${it} ${retried === 1 ? "is" : "are"} being sent now.`;
}

/** Why a retry failed, and what to do (the page's own words for a refused token). */
export function retryErrorWords(error, name, event = null) {
  const code = error?.code || "unknown";
  switch (code) {
    case "not_found":
      return event
        ? `“${name}” has no such given-up event now: it was sent again from another page, or delivered. The list is up to date.`
        : `There is no webhook endpoint named “${name}” any more: the configuration changed. The list is up to date.`;
    case "network":
      return "Nothing was sent again: the server could not be reached. Check the connection and try again.";
    case "rate_limited":
      return "Nothing was sent again: too many requests. Wait a moment and try again.";
    case "internal_error":
      return "Nothing was sent again: the server failed. Try again in a moment; if it keeps failing, the server's log says why.";
    case "invalid_message":
      return "Nothing was sent again: the server did not accept the request. Reload the page and try again.";
    default: {
      const said = serverWords(error) || "the server's answer was not one this page understands";
      return `Nothing was sent again: ${said}. Reload the page and try again.`;
    }
  }
}

/** Why the endpoints could not be read (the page's own words for a refused token). */
export function listErrorWords(error) {
  const code = error?.code || "unknown";
  const again = `The panel tries again every ${POLL_S} s.`;
  switch (code) {
    case "network":
      return `Could not check the webhooks: the server could not be reached. Check the connection. ${again}`;
    case "rate_limited":
      return `Could not check the webhooks: too many requests. ${again}`;
    case "internal_error":
      return `Could not check the webhooks: the server failed. ${again}`;
    default: {
      const said = serverWords(error) || "the server's answer was not one this page understands";
      return `Could not check the webhooks: ${said}. ${again}`;
    }
  }
}

/** A node that did not say how its endpoints are doing: which, why, and what then. */
export function unreachableWords(unreachable) {
  const why = String(unreachable.reason || "it did not answer").trim().replace(/\.$/, "");
  const again = `the panel asks again every ${POLL_S} s.`;
  return unreachable.node
    ? `Node ${unreachable.node}'s endpoints are not shown: ${why}. Check that the node is running; ${again}`
    : `Other nodes' endpoints are not shown: ${why}. Check that the nodes and Redis are running; ${again}`;
}

/** The time of day of a Unix time (s): "14:32:58". */
export function timeWords(at) {
  return TIME_FORMAT.format(new Date(at * 1000));
}

const TIME_FORMAT = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

/** The server's own message, unless it is only a status line. */
function serverWords(error) {
  const message = String(error?.message || "").trim().replace(/\.$/, "");
  return /^HTTP \d+$/.test(message) ? "" : message;
}
