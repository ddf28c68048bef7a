// The audit log in words: what each record's action means ("barged into"),
// its details ("Mode: whisper, was listen"), who and from where, and when
// (local date and time, and how long ago). No DOM here.

/**
 * The kinds an admin can filter by: the API's `action` for each, one action, a prefix
 * (`monitor` finds the three monitoring actions) or a comma-separated list of them.
 */
export const KINDS = [
  { id: "", words: "Everything", action: null },
  { id: "monitoring", words: "Monitoring: listen, whisper, barge", action: "monitor" },
  { id: "watching", words: "Watching a live call", action: "watch" },
  { id: "playback", words: "Playback and downloads", action: "playback,download" },
  { id: "recording", words: "Recording paused or resumed", action: "pause_recording,resume_recording" },
  { id: "purge", words: "Recordings deleted (purge)", action: "purge" },
];

const ROLE_WORDS = {
  admin: "Admin",
  supervisor: "Supervisor",
  reviewer: "Reviewer",
  agent: "Agent",
  customer: "Customer",
  operator: "Operator",
};

// What each mode means for who hears the supervisor (docs/protocol.md, "Monitoring").
export const MODE_MEANING = {
  listen: "nobody hears them",
  whisper: "only the agent hears them",
  barge: "the customer and the agent hear them",
};

const STARTED = {
  listen: "started listening to",
  whisper: "started whispering to the agent on",
  barge: "barged into",
};
const SWITCHED = {
  listen: "went back to only listening to",
  whisper: "switched to whispering to the agent on",
  barge: "barged into",
};
const ENDED = {
  stopped: "stopped monitoring",
  call_ended: "stopped monitoring (call ended)",
  disconnected: "stopped monitoring (their connection dropped)",
  failed: "could not monitor (the media failed)",
  agent_lost: "stopped monitoring (the agent's connection was lost)",
};
const END_REASON_WORDS = {
  stopped: "they stopped",
  call_ended: "the call ended",
  disconnected: "their connection dropped",
  failed: "the media failed",
  agent_lost: "the agent's connection was lost",
};
const DOWNLOADED = {
  recording: "downloaded the recording (WebM) of",
  dual_channel: "downloaded the dual-channel audio of",
  events: "downloaded the event log of",
  transcript: "downloaded the transcript of",
  transcript_vtt: "downloaded the captions of",
};
const FILE_WORDS = {
  recording: "recording, all tracks (WebM)",
  dual_channel: "dual-channel audio (WAV: customer left, agent right)",
  events: "event log (JSON)",
  transcript: "transcript (JSON)",
  transcript_vtt: "captions (WebVTT)",
};

const REVOKED_WORDS = {
  grant: (value) => `one sign-in (${value})`,
  subject: (value) => `every sign-in of ${value} until then`,
  role: (value) => `every ${value}'s sign-in until then`,
};

/** Which kind of record this is (for its colour stripe and the filter). */
export function kindOf(action) {
  const a = String(action || "");
  if (a.startsWith("monitor")) return "monitoring";
  if (a.startsWith("watch")) return "watching";
  if (a === "playback" || a === "download") return "playback";
  if (a === "pause_recording" || a === "resume_recording") return "recording";
  if (a.startsWith("purge")) return "purge";
  return "other";
}

const WATCH_ENDED = {
  stopped: "stopped watching",
  page_closed: "stopped watching (their page closed)",
  call_ended: "stopped watching (the call ended)",
};

/** What the person did, as the words between their name and the call ("barged into"). */
export function actionWords(record) {
  const details = record.details || {};
  const mode = details.mode;
  switch (record.action) {
    case "watch":
      return "started watching (transcript and quality, no sound)";
    case "watch_ended":
      return WATCH_ENDED[details.reason] || "stopped watching";
    case "monitor_started":
      return STARTED[mode] || `started monitoring (${mode || "unknown mode"})`;
    case "monitor_mode_changed":
      return SWITCHED[mode] || `switched to ${mode || "another mode"} on`;
    case "monitor_ended":
      return ENDED[details.reason] || `stopped monitoring (${details.reason || "no reason given"})`;
    case "playback":
      // Written when the recording is opened (its playback links handed out), played or not.
      return "opened the recording of";
    case "download": {
      // The server writes the file's key as `file` (docs/protocol.md says `key`): take either.
      const file = details.file ?? details.key;
      return DOWNLOADED[file] || "downloaded a file of";
    }
    case "revoke":
      return "revoked sign-ins";
    case "pause_recording":
      return "paused the recording of";
    case "resume_recording":
      return "resumed the recording of";
    case "purge":
    case "purge_recording":
      return "deleted the recording of";
    default:
      return String(record.action || "did something to").replaceAll("_", " ");
  }
}

/**
 * The record's details in words: a list of `{label, value, mode?}` (a mode is shown as a
 * chip with its name beside the words of what it means).
 */
export function detailWords(record) {
  const d = record.details || {};
  const out = [];
  const mode = (label, value) => out.push({ label, mode: value, value: MODE_MEANING[value] || "" });
  switch (record.action) {
    case "monitor_started":
      mode("Mode", d.mode || "unknown");
      break;
    case "monitor_mode_changed":
      mode("Mode", d.mode || "unknown");
      if (d.previous) out.push({ label: "Before", mode: d.previous, value: "" });
      break;
    case "monitor_ended":
      if (d.mode) out.push({ label: "Last mode", mode: d.mode, value: "" });
      if (typeof d.duration_s === "number") out.push({ label: "Lasted", value: duration(d.duration_s) });
      if (d.reason && !(d.reason in ENDED)) out.push({ label: "Why", value: END_REASON_WORDS[d.reason] || d.reason });
      break;
    case "watch":
      break;
    case "watch_ended":
      if (typeof d.duration_s === "number") out.push({ label: "Lasted", value: duration(d.duration_s) });
      break;
    case "playback":
    case "download": {
      const file = d.file ?? d.key;
      if (file) out.push({ label: "File", value: FILE_WORDS[file] || file });
      break;
    }
    case "revoke":
      out.push({ label: "Ended", value: REVOKED_WORDS[d.kind] ? REVOKED_WORDS[d.kind](d.value) : String(d.value) });
      if (d.reason) out.push({ label: "Why", value: String(d.reason) });
      break;
    case "purge":
    case "purge_recording":
      if (d.retention_days !== undefined) out.push({ label: "Kept for", value: `${d.retention_days} days` });
      if (typeof d.started_at === "number") out.push({ label: "Call of", value: formatWhen(d.started_at) });
      break;
    default:
      break;
  }
  if (d.participant_id && String(record.action).startsWith("monitor")) {
    out.push({ label: "Session", value: d.participant_id, code: true });
  }
  // Anything else the server wrote, so nothing in a record is hidden from the admin.
  for (const [key, value] of Object.entries(d)) {
    if (SHOWN_DETAILS.has(key)) continue;
    const text = value !== null && typeof value === "object" ? JSON.stringify(value) : String(value);
    out.push({ label: key.replaceAll("_", " "), value: text });
  }
  return out;
}

const SHOWN_DETAILS = new Set([
  "mode",
  "previous",
  "duration_s",
  "reason",
  "file",
  "key",
  "participant_id",
  "retention_days",
  "started_at",
  "kind",
  "value",
]);

/** A role in words ("Supervisor"). */
export function roleWords(role) {
  return ROLE_WORDS[role] || (role ? role[0].toUpperCase() + role.slice(1) : "Unknown role");
}

/** Where the request came from, as the server saw it. */
export function sourceWords(source) {
  if (!source) return "unknown";
  if (source === "cli") return "command line";
  return source;
}

/** 3 s, 2 min 5 s, 1 h 4 min. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
}

const WHEN_FORMAT = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** Local date and time of a Unix time (s): "12 Nov 2026, 14:32:58". */
export function formatWhen(at) {
  return WHEN_FORMAT.format(new Date(at * 1000));
}

/** How long ago, in words: "now", "3 minutes ago", "yesterday", "in 2 minutes" (a clock ahead). */
export function relativeWhen(at, now = Date.now() / 1000) {
  const diff = at - now; // negative: in the past
  const abs = Math.abs(diff);
  if (abs < 10) return "just now";
  const units = [
    ["second", 60],
    ["minute", 3600],
    ["hour", 86400],
    ["day", 86400 * 30],
    ["month", 86400 * 365],
  ];
  const sizes = { second: 1, minute: 60, hour: 3600, day: 86400, month: 86400 * 30 };
  for (const [unit, below] of units) {
    if (abs < below) return RELATIVE.format(Math.round(diff / sizes[unit]), unit);
  }
  return RELATIVE.format(Math.round(diff / (86400 * 365)), "year");
}

/** The local time zone's name, for saying which clock the times are on. */
export function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
  } catch {
    return "your time zone";
  }
}
