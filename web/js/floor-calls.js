// The floor's list of live calls, in the server's order (most in need of
// attention first, node/floor.py). Each row says who talks to whom and
// for how long, the language, each party's line (MOS with its rating in
// words), the customer's mood, the recording state, whether the customer is
// on hold (and for how long, ticking), why the call needs
// attention (alerts are links to the call) and who is monitoring it; with more
// than one server, the one that carries the call (its words from i18n.js).
//
// Every text from the server goes in with textContent, never as markup.

import { drawIfChanged, syncList, setText } from "./floor-dom.js";
import {
  ALERT_SOURCE_WORDS,
  ATTENTION_WORDS,
  MEDIA_WORDS,
  MODE_VERBS,
  RECORDING_SYMBOLS,
  RECORDING_WORDS,
  element,
  languageWords,
  moodParts,
  mosBadge,
  videoBadge,
  sentence,
} from "./floor-words.js";
import { t } from "./i18n.js";
import { clock } from "./ui.js";
import { scoreWords } from "./sentiment-gauge.js";

// A row lists this many reasons at most; the call's panel has them all.
const ROW_REASONS = 3;

/** The link that opens a call's panel (the fragment makes it linkable). */
export function callHref(callId) {
  return `#call=${encodeURIComponent(callId)}`;
}

/** Whether a participant's microphone sends nothing (a no_audio alert): their MOS says nothing then. */
export function isSilent(row, participantId) {
  return (row.alerts || []).some((a) => a.kind === "no_audio" && a.participant_id === participantId);
}

/** The customer's and the agent's line badges of a row (supervisors barging in are not rated). */
export function partyBadges(row) {
  const parties = (row.participants || []).filter((p) => p.role === "customer" || p.role === "agent");
  parties.sort((a, b) => (a.role === "customer" ? -1 : 1) - (b.role === "customer" ? -1 : 1));
  return parties.flatMap((p) => [
    mosBadge({ ...p, silent: isSilent(row, p.participant_id) }),
    ...(p.video ? [videoBadge(p)] : []),
  ]);
}

/** The recording state as a symbol and a word. */
export function recordingBadge(state) {
  const known = state in RECORDING_WORDS ? state : "off";
  const badge = element("span", "fc-recording");
  badge.dataset.state = known;
  const symbol = element("span", "fc-recording-symbol", RECORDING_SYMBOLS[known]);
  symbol.setAttribute("aria-hidden", "true");
  badge.append(symbol, ` ${RECORDING_WORDS[known]}`);
  return badge;
}

/**
 * "On hold 0:42" while the customer is on hold (counted on the server's clock), else "".
 * @param {{on: boolean, since: number|null}|null|undefined} hold a call's or a floor row's `hold`
 * @param {import("./floor-clock.js").ServerClock} serverClock
 */
export function holdText(hold, serverClock) {
  return hold?.on ? `On hold ${clock(serverClock.since(hold.since))}` : "";
}

/** The chip's tooltip: what a hold means, and the holds before this one ("Held 3 times, 2:05 in all"). */
export function holdTitle(hold, serverClock) {
  if (!hold?.on) return "";
  const meaning = "The customer and the agent cannot hear each other";
  if (!(hold.count > 1)) return meaning;
  const total = (hold.total_s || 0) + serverClock.since(hold.since);
  return `${meaning}. Held ${hold.count} times, ${clock(total)} in all`;
}

/** Draw the hold chip `node` (a `.fc-hold` span): shown and ticking while on hold. */
export function drawHold(node, hold, serverClock) {
  node.hidden = !hold?.on;
  setText(node.querySelector(".fc-hold-words"), holdText(hold, serverClock));
  node.title = holdTitle(hold, serverClock);
}

/** A hold chip, empty: a pause sign (not colour alone) and the words drawHold() puts in. */
export function holdChip() {
  const chip = element("span", "fc-hold");
  const symbol = element("span", "fc-hold-symbol", "❚❚");
  symbol.setAttribute("aria-hidden", "true");
  chip.append(symbol, element("span", "fc-hold-words"));
  chip.hidden = true;
  return chip;
}

/** Who monitors a call, in words ("Sumi · listening"); the signed-in supervisor is "You". */
export function monitorWords(monitor, myMonitorId) {
  const who = monitor.participant_id === myMonitorId ? "You" : monitor.name || "A supervisor";
  return `${who} · ${MODE_VERBS[monitor.mode] || monitor.mode}`;
}

/**
 * Why a call needs attention, heaviest first, each in words: the row's alerts (links to the
 * call, labelled by what they are about) and the other reasons (a fair line, a long call).
 * The server raises an alert per stream, so one slow connection can say the same words for
 * audio and video, both ways: the same words are listed once.
 */
export function reasonItems(row) {
  const alerts = [...(row.alerts || [])];
  const items = [];
  const byText = new Map();
  const add = (text, alert) => {
    const key = text.toLowerCase();
    const known = byText.get(key);
    if (known) {
      known.count += 1;
      known.alert ??= alert;
      return;
    }
    const item = { text, alert, count: 1 };
    byText.set(key, item);
    items.push(item);
  };
  for (const reason of row.attention?.reasons || []) {
    const at = alerts.findIndex((a) => a.message === reason);
    add(sentence(reason), at >= 0 ? alerts.splice(at, 1)[0] : null);
  }
  for (const alert of alerts) add(sentence(alert.message), alert);
  return items;
}

export class FloorCalls {
  /**
   * @param {HTMLOListElement} list `ol#call-rows`
   * @param {HTMLElement} empty shown when no call is in progress
   * @param {import("./floor-clock.js").ServerClock} serverClock
   */
  constructor(list, empty, serverClock) {
    this.list = list;
    this.empty = empty;
    this.clock = serverClock;
    this.calls = [];
  }

  /** A floor snapshot's calls. */
  update(calls, { openCallId = null, myMonitorId = null, showNodes = false } = {}) {
    this.calls = calls || [];
    this.openCallId = openCallId;
    this.myMonitorId = myMonitorId;
    this.showNodes = showNodes;
    syncList(
      this.list,
      this.calls,
      (row) => row.call_id,
      () => this._createRow(),
      (node, row) => this._drawRow(node, row),
    );
    this.empty.hidden = this.calls.length > 0;
  }

  /** Once a second: the durations count up. */
  tick() {
    for (const node of this.list.children) {
      const row = this.calls.find((c) => c.call_id === node.dataset.key);
      if (!row) continue;
      setText(node.querySelector(".fc-duration"), clock(this.clock.since(row.answered_at)));
      drawHold(node.querySelector(".fc-hold"), row.hold, this.clock);
    }
  }

  _createRow() {
    const node = element("li", "fc-row");
    const top = element("div", "fc-top");
    const link = element("a", "fc-open");
    link.append(element("span", "fc-customer"), element("span", "fc-with", " with "), element("span", "fc-agent"));
    const duration = element("span", "fc-duration timer");
    duration.title = "Time since the agent answered";
    top.append(link, duration);
    const attention = element("div", "fc-attention");
    attention.append(element("span", "fc-level"), element("ul", "fc-reasons"));
    const facts = element("div", "fc-facts");
    facts.append(
      element("span", "fc-lang tag"),
      element("span", "fc-parties"),
      element("span", "fc-mood"),
      element("span", "fc-rec"),
      holdChip(),
      element("span", "fc-node tag"),
      element("span", "fc-cats"),
    );
    const monitors = element("p", "fc-monitors");
    node.append(top, attention, facts, monitors);
    return node;
  }

  _drawRow(node, row) {
    const href = callHref(row.call_id);
    const level = row.attention?.level in ATTENTION_WORDS ? row.attention.level : "none";
    node.dataset.attention = level;
    node.dataset.open = String(row.call_id === this.openCallId);
    const link = node.querySelector(".fc-open");
    link.href = href;
    if (row.call_id === this.openCallId) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
    setText(link.querySelector(".fc-customer"), row.customer?.name || "A customer");
    setText(link.querySelector(".fc-agent"), row.agent?.name || "no agent");
    setText(node.querySelector(".fc-duration"), clock(this.clock.since(row.answered_at)));

    const badge = node.querySelector(".fc-level");
    badge.dataset.level = level;
    setText(badge, ATTENTION_WORDS[level]);
    const reasons = reasonItems(row);
    const shown = reasons.slice(0, ROW_REASONS);
    const more = reasons.length - shown.length;
    drawIfChanged(node.querySelector(".fc-reasons"), [href, shown.map((r) => [r.text, r.alert?.kind, r.alert?.source]), more], () => [
      ...shown.map(({ text, alert }) => {
        const item = element("li");
        if (alert) {
          const chip = element("a", "fc-alert");
          chip.href = href;
          chip.dataset.kind = alert.kind;
          chip.dataset.source = alert.source;
          chip.append(element("span", "fc-alert-source", ALERT_SOURCE_WORDS[alert.source] || "Alert"), element("span", "fc-alert-text", text));
          item.append(chip);
        } else {
          item.append(element("span", "fc-reason", text));
        }
        return item;
      }),
      ...(more > 0 ? [moreLink(href, more)] : []),
    ]);

    const language = node.querySelector(".fc-lang");
    setText(language, [languageWords(row.language, "Language unknown"), MEDIA_WORDS[row.media]].filter(Boolean).join(" · "));
    const lines = (row.participants || []).map((p) => [p.role, p.mos, p.rating, p.reason, isSilent(row, p.participant_id), p.video]);
    drawIfChanged(node.querySelector(".fc-parties"), lines, () => partyBadges(row));
    const mood = row.sentiment;
    drawIfChanged(node.querySelector(".fc-mood"), [mood?.now, mood?.label, mood?.direction, row.transcription], () => moodNodes(row));
    drawIfChanged(node.querySelector(".fc-rec"), String(row.recording), () => [recordingBadge(row.recording)]);
    drawHold(node.querySelector(".fc-hold"), row.hold, this.clock);
    // The operator's categories the call met so far (those that alert are reasons above too).
    const categories = (row.categories || []).map((c) => c.category);
    drawIfChanged(node.querySelector(".fc-cats"), categories, () =>
      categories.map((name) => {
        const chip = element("span", "tag fc-category", name);
        chip.title = (row.categories || []).find((c) => c.category === name)?.evidence || "";
        return chip;
      }),
    );
    const server = node.querySelector(".fc-node");
    server.hidden = !(this.showNodes && row.node);
    setText(server, server.hidden ? "" : t("floor_call_node", { node: row.node }));
    server.title = server.hidden ? "" : t("floor_call_node_hint");

    const monitors = node.querySelector(".fc-monitors");
    const watchers = (row.monitors || []).map((m) => monitorWords(m, this.myMonitorId));
    monitors.hidden = watchers.length === 0;
    // The heaviest mode colours the line: anyone barging in, else whispering, else listening.
    const modes = (row.monitors || []).map((m) => m.mode);
    monitors.dataset.mode = ["barge", "whisper", "listen"].find((mode) => modes.includes(mode)) || "none";
    const words = watchers.length ? `Monitored by ${watchers.join(", ")}` : "";
    if (monitors.textContent !== words) monitors.replaceChildren(...(words ? [headphones(), words] : []));
  }

  /** What the tests read (window.kotha.state().floor.calls). */
  snapshot() {
    return this.calls.map((row) => ({
      callId: row.call_id,
      customer: row.customer?.name ?? null,
      agent: row.agent?.name ?? null,
      language: row.language,
      node: row.node ?? null,
      nodeShown: Boolean(this.showNodes && row.node),
      attention: row.attention?.level ?? null,
      reasons: row.attention?.reasons ?? [],
      alerts: (row.alerts || []).map((a) => a.kind),
      categories: (row.categories || []).map((c) => c.category),
      recording: row.recording,
      hold: row.hold ?? null,
      holdShown: holdText(row.hold, this.clock),
      durationS: Math.floor(this.clock.since(row.answered_at)),
      lines: (row.participants || []).map((p) => ({
        role: p.role,
        mos: isSilent(row, p.participant_id) ? null : p.mos,
        rating: p.rating,
        video: p.video?.rating ?? null,
      })),
      mood: row.sentiment?.now ?? null,
      monitors: (row.monitors || []).map((m) => monitorWords(m, this.myMonitorId)),
    }));
  }
}

/** "+2 more": the rest of a row's reasons are in the call's panel. */
function moreLink(href, count) {
  const item = element("li");
  const link = element("a", "fc-more", `+${count} more`);
  link.href = href;
  link.setAttribute("aria-label", `${count} more reason${count === 1 ? "" : "s"}: open the call`);
  item.append(link);
  return item;
}

/** The headphones of the dashboard's icons (dashboard.html #d-listen), as decoration. */
function headphones() {
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("class", "icon");
  icon.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", "#d-listen");
  icon.append(use);
  return icon;
}

/** The customer's mood on a row: label, score and which way it goes, or why there is none. */
function moodNodes(row) {
  const parts = moodParts(row.sentiment);
  const label = element("span", "fc-mood-label", "Mood ");
  if (!parts) {
    const transcribed = row.transcription === "active" || row.transcription === "starting";
    const none = element("span", "fc-mood-none", transcribed ? "not known yet" : "not measured (no live transcript)");
    return [label, none];
  }
  const word = element("span", "fc-mood-word", `${parts.word} ${scoreWords(parts.score)}`);
  word.dataset.label = parts.label;
  const nodes = [label, word];
  if (parts.direction) {
    const arrow = element("span", "fc-mood-arrow", ` ${parts.arrow} `);
    arrow.setAttribute("aria-hidden", "true");
    arrow.dataset.direction = parts.direction;
    nodes.push(arrow, element("span", "fc-mood-direction", parts.direction));
  }
  return nodes;
}
