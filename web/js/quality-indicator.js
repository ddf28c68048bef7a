// The agent console's call-quality indicator: the customer's connection and
// the agent's own, each rated good / fair / poor (colour, symbol and word),
// with the reason and, when poor, what to do, in words; the key figures (MOS,
// loss, jitter, round trip) fold out under each. Fed by the server's
// `quality_updated` (every second) and `quality_alert` (an alert fired or
// cleared) events; see node/quality_monitor.py.
//
// Also the words and MOS bands the replay page's quality chart shares.

// The MOS bands of the server's rating (node/quality_monitor.py GOOD_MOS, FAIR_MOS).
export const GOOD_MOS = 4.0;
export const FAIR_MOS = 3.6;

export const RATING_WORDS = { good: "Good", fair: "Fair", poor: "Poor", unknown: "Measuring…" };
// Shape as well as colour, so the rating does not rest on colour alone.
const RATING_SYMBOLS = { good: "✓", fair: "!", poor: "✕", unknown: "…" };
// Without an update for this long the figures are old news (the socket, or the server, is away).
const STALE_MS = 4000;
// A cleared alert stays listed (as cleared) this long, so the agent sees it went away.
const CLEARED_SHOWN_MS = 8000;
// The list shows this many alerts (active first) before "Show all": the call stays in view.
const ALERTS_SHOWN = 3;

const SOURCE_WORDS = {
  inbound: { microphone: "Microphone", camera: "Camera", screen: "Screen share" },
  outbound: { audio: "Audio", video: "Video" },
};
// The server's suggestion is what to ask of the customer; for the agent's own line it is this.
const SELF_SUGGESTION = "check your headset and network (a cable or a stronger Wi-Fi signal), and close anything else using the network";

/** The rating of a MOS as the server draws its bands; "unknown" without one. */
export function mosRating(mos) {
  if (typeof mos !== "number") return "unknown";
  if (mos < FAIR_MOS) return "poor";
  if (mos < GOOD_MOS) return "fair";
  return "good";
}

/** A figure for people: MOS with one decimal, loss to 0.1 % below 10 %, times in whole ms. */
export function figure(value, unit) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  if (unit === "mos") return value.toFixed(1);
  if (unit === "%") return `${value > 0 && value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)}%`;
  if (unit === "kb/s") return `${Math.round(value)} kb/s`;
  return `${Math.round(value)} ${unit}`;
}

/** Words from the server start in lower case (they read inside a sentence); a line starts with a capital. */
export function sentence(text) {
  const words = String(text || "").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "";
}

/** The worst of the values that were measured (null if none was). */
function worst(values, pick = Math.max) {
  const measured = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  return measured.length ? pick(...measured) : null;
}

/** MOS, loss, jitter and round trip of a participant's audio, the worse of both directions. */
function keyFigures(participant) {
  const mic = participant.inbound?.microphone ?? {};
  const heard = participant.outbound?.audio ?? {};
  // The server's MOS is the worst direction measured; a microphone that sends
  // nothing is not measured at all, and "MOS 4.4" beside "no audio" would mislead.
  const silent = participant.inbound?.microphone?.packets === 0;
  return {
    mos: typeof participant.mos === "number" && !silent ? participant.mos : null,
    lossPct: worst([mic.loss_pct, heard.loss_pct]),
    jitterMs: worst([mic.jitter_ms, heard.jitter_ms]),
    rttMs: worst([mic.rtt_ms, heard.rtt_ms]),
  };
}

function alertKey(alert) {
  return [alert.participant_id, alert.direction, alert.kind_of_media, alert.kind].join("|");
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * One party's card (`article.q-card[data-party]` in agent.html, filled here).
 * `party` is "customer" or "self".
 */
class QualityCard {
  constructor(root, party) {
    this.root = root;
    this.party = party;
    this.rating = root.querySelector(".q-rating");
    this.symbol = root.querySelector(".q-symbol");
    this.word = root.querySelector(".q-word");
    this.reason = root.querySelector(".q-reason");
    this.suggestion = root.querySelector(".q-suggestion");
    this.figures = root.querySelector(".q-figures");
    this.streams = root.querySelector(".q-streams");
    this.video = root.querySelector(".q-video");
    this.state = null;
  }

  /** Show one participant of a quality view (or nothing, while not measured). */
  show(participant) {
    const rating = participant?.rating in RATING_WORDS ? participant.rating : "unknown";
    const figures = participant ? keyFigures(participant) : { mos: null, lossPct: null, jitterMs: null, rttMs: null };
    let reason = "";
    if (rating === "good") reason = this.party === "self" ? "You sound clear." : "The customer sounds clear.";
    else if (rating !== "unknown") reason = sentence(participant.reason);
    let suggestion = "";
    if (rating === "poor") suggestion = this.party === "self" ? SELF_SUGGESTION : participant.suggestion || "";
    this.state = {
      participantId: participant?.participant_id ?? null,
      name: participant?.name ?? null,
      rating,
      ratingText: RATING_WORDS[rating],
      reason,
      suggestion,
      // The video on its own (the rating above is the voice's, with its MOS).
      video: participant?.video?.rating in RATING_WORDS ? participant.video.rating : null,
      videoReason: sentence(participant?.video?.reason),
      ...figures,
    };
    this._draw(participant);
  }

  clear() {
    this.state = null;
    this._draw(null);
  }

  _draw(participant) {
    const state = this.state;
    const rating = state?.rating ?? "unknown";
    this.root.dataset.rating = rating;
    this.rating.dataset.rating = rating;
    this.symbol.textContent = RATING_SYMBOLS[rating];
    // Only a change is written: the word is a live region, read out when it changes.
    if (this.word.textContent !== RATING_WORDS[rating]) this.word.textContent = RATING_WORDS[rating];
    this.reason.textContent = state?.reason ?? "";
    this.reason.hidden = !state?.reason;
    const tip = state?.suggestion ? `${state.suggestion.replace(/\.$/, "")}.` : "";
    this.suggestion.replaceChildren(...(tip ? [element("strong", "", "Try: "), tip] : []));
    this.suggestion.hidden = !tip;
    this.video.hidden = !state?.video;
    if (state?.video) {
      const why = state.video === "good" ? "" : ` ${state.videoReason.replace(/\.$/, "")}.`;
      this.video.dataset.rating = state.video;
      this.video.replaceChildren(
        element("span", "q-video-word", `${RATING_SYMBOLS[state.video]} Video ${RATING_WORDS[state.video].toLowerCase()}.`),
        why,
      );
    }
    this.figures.textContent = [
      `MOS ${figure(state?.mos, "mos")}`,
      `loss ${figure(state?.lossPct, "%")}`,
      `jitter ${figure(state?.jitterMs, "ms")}`,
      `RTT ${figure(state?.rttMs, "ms")}`,
    ].join(" · ");
    this.streams.replaceChildren(...(participant ? this._streamLines(participant) : []));
  }

  /** One line per measured stream: which way it goes and its figures. */
  _streamLines(participant) {
    const whom = this.party === "self" ? "you" : `the ${participant.role || "customer"}`;
    const lines = [];
    for (const direction of ["inbound", "outbound"]) {
      for (const [source, sample] of Object.entries(participant[direction] || {})) {
        const what = SOURCE_WORDS[direction][source] || source;
        const way = direction === "inbound" ? `from ${whom}` : `to ${whom}`;
        const parts = [];
        if (sample.kind === "audio") parts.push(`MOS ${figure(sample.mos, "mos")}`);
        parts.push(`loss ${figure(sample.loss_pct, "%")}`, `jitter ${figure(sample.jitter_ms, "ms")}`);
        if (typeof sample.bitrate_kbps === "number") parts.push(figure(sample.bitrate_kbps, "kb/s"));
        if (typeof sample.frame_rate === "number") parts.push(`${Math.round(sample.frame_rate)} fps`);
        if (sample.width && sample.height) parts.push(`${sample.width}×${sample.height}`);
        if (sample.freezes) parts.push(`${sample.freezes} freeze${sample.freezes === 1 ? "" : "s"}`);
        if (sample.kind === "audio" && direction === "inbound" && sample.packets === 0) parts.push("no packets");
        const line = element("li");
        line.append(element("span", "q-stream-name", `${what} ${way}`), element("span", "q-stream-figures", parts.join(" · ")));
        lines.push(line);
      }
    }
    // What their browser itself says (report_quality), beside the server's figures.
    const reported = participant.reported || {};
    const browser = [];
    const audio = reported.audio || {};
    if (typeof audio.jitter_buffer_delay_ms === "number") browser.push(`jitter buffer ${figure(audio.jitter_buffer_delay_ms, "ms")}`);
    if (typeof audio.concealed_pct === "number") browser.push(`concealed ${figure(audio.concealed_pct, "%")}`);
    if (typeof audio.round_trip_ms === "number") browser.push(`RTT ${figure(audio.round_trip_ms, "ms")}`);
    const video = reported.video || {};
    if (typeof video.frames_per_second === "number") browser.push(`${Math.round(video.frames_per_second)} fps shown`);
    if (typeof video.frames_dropped === "number") browser.push(`${video.frames_dropped} frames dropped`);
    if (browser.length) {
      const line = element("li", "q-reported");
      const whose = this.party === "self" ? "Your browser says" : "Their browser says";
      line.append(element("span", "q-stream-name", whose), element("span", "q-stream-figures", browser.join(" · ")));
      lines.push(line);
    }
    return lines;
  }
}

/**
 * The indicator: two cards and the list of alerts.
 * Elements (agent.html): the section `#quality` holding `article.q-card[data-party=customer|self]`,
 * `.q-alerts` and `.q-stale`.
 */
export class QualityIndicator {
  constructor(root) {
    this.root = root;
    this.cards = {
      customer: new QualityCard(root.querySelector('[data-party="customer"]'), "customer"),
      self: new QualityCard(root.querySelector('[data-party="self"]'), "self"),
    };
    this.alertList = root.querySelector(".q-alerts");
    this.staleNote = root.querySelector(".q-stale");
    this.callId = null;
    this.updatedAt = null; // performance.now() of the last quality_updated
    this.updates = 0;
    this.alerts = new Map(); // key -> {alert, active, clearedAt}
    this.alertsExpanded = false;
    this.alertsDrawn = null; // what the list shows, so an unchanged list is not redrawn each second
    this.clear();
  }

  /**
   * A `quality_updated` view of our call.
   * @param {object} view the payload
   * @param {string|null} selfId our participant id (the agent's own line)
   */
  update(view, selfId) {
    if (this.callId !== view.call_id) this.clear();
    this.callId = view.call_id;
    this.updatedAt = performance.now();
    this.updates += 1;
    const participants = view.participants || [];
    const self =
      participants.find((p) => p.participant_id === selfId) ?? participants.find((p) => p.role === "agent") ?? null;
    const customer = participants.find((p) => p.role === "customer") ?? null;
    this.cards.customer.show(customer);
    this.cards.self.show(self);
    // The view lists the alerts active now: the authority (a quality_alert can be missed in a reconnect).
    const active = new Set();
    for (const alert of view.alerts || []) {
      const key = alertKey(alert);
      active.add(key);
      if (!this.alerts.get(key)?.active) this.alerts.set(key, { alert, active: true, clearedAt: null });
    }
    for (const [key, entry] of this.alerts) {
      if (entry.active && !active.has(key)) Object.assign(entry, { active: false, clearedAt: performance.now() });
    }
    this.tick();
  }

  /** A `quality_alert`: an alert fired or cleared. */
  alert({ call_id: callId, alert, active }) {
    if (this.callId && callId !== this.callId) return;
    this.callId = callId;
    const key = alertKey(alert);
    if (active) this.alerts.set(key, { alert, active: true, clearedAt: null });
    else if (this.alerts.has(key)) Object.assign(this.alerts.get(key), { active: false, clearedAt: performance.now() });
    this._drawAlerts();
  }

  /** Forget the call (it ended, or another starts). */
  clear() {
    this.callId = null;
    this.updatedAt = null;
    this.updates = 0;
    this.alerts.clear();
    this.alertsExpanded = false;
    for (const card of Object.values(this.cards)) card.clear();
    this.staleNote.hidden = true;
    this.root.dataset.stale = "false";
    this._drawAlerts();
  }

  /** Once a second: drop old cleared alerts, say when the figures stopped coming. */
  tick() {
    const now = performance.now();
    for (const [key, entry] of this.alerts) {
      if (!entry.active && now - entry.clearedAt > CLEARED_SHOWN_MS) this.alerts.delete(key);
    }
    const age = this.updatedAt === null ? 0 : now - this.updatedAt;
    const stale = age > STALE_MS;
    this.root.dataset.stale = String(stale);
    this.staleNote.hidden = !stale;
    if (stale) this.staleNote.textContent = `Not measured for ${Math.round(age / 1000)} s: these figures are old.`;
    this._drawAlerts();
  }

  _drawAlerts() {
    const entries = [...this.alerts.values()].sort((a, b) => Number(b.active) - Number(a.active));
    // An active alert a card already gives as its reason is not said twice (a phone has
    // little room); the list has the others, and those that cleared.
    const reasons = new Set(Object.values(this.cards).map((card) => card.state?.reason));
    const listed = entries.filter(({ alert, active }) => !active || !reasons.has(sentence(alert.message)));
    const shown = this.alertsExpanded ? listed : listed.slice(0, ALERTS_SHOWN);
    const drawn = JSON.stringify([this.alertsExpanded, listed.map(({ alert, active }) => [alert.message, active])]);
    if (drawn !== this.alertsDrawn) this._listAlerts(shown, listed.length);
    this.alertsDrawn = drawn;
    this.alertList.hidden = listed.length === 0;
    for (const card of Object.values(this.cards)) {
      const id = card.state?.participantId;
      card.root.dataset.alert = String(Boolean(id) && entries.some((e) => e.active && e.alert.participant_id === id));
    }
  }

  /** The alerts shown, and past the first few a button for the rest (or for fewer again). */
  _listAlerts(shown, total) {
    const more = [];
    if (total > ALERTS_SHOWN) {
      const toggle = element("button", "link q-alerts-more", this.alertsExpanded ? "Show fewer alerts" : `Show all ${total} alerts`);
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", String(this.alertsExpanded));
      toggle.addEventListener("click", () => {
        this.alertsExpanded = !this.alertsExpanded;
        this._drawAlerts();
        this.alertList.querySelector(".q-alerts-more")?.focus();
      });
      more.push(element("li", "q-alerts-toggle"));
      more[0].append(toggle);
    }
    this.alertList.replaceChildren(
      ...shown.map(({ alert, active }) => {
        const item = element("li", "q-alert");
        item.dataset.active = String(active);
        item.dataset.kind = alert.kind;
        item.dataset.role = alert.role;
        item.append(
          element("span", "q-alert-state", active ? "Alert" : "Cleared"),
          element("span", "q-alert-text", sentence(alert.message)),
        );
        return item;
      }),
      ...more,
    );
  }

  /** What the tests read (window.kotha.state().quality). */
  snapshot() {
    const card = (c) => (c.state ? { ...c.state } : null);
    return {
      callId: this.callId,
      updates: this.updates,
      stale: this.root.dataset.stale === "true",
      customer: card(this.cards.customer),
      self: card(this.cards.self),
      alerts: [...this.alerts.values()].map(({ alert, active }) => ({
        kind: alert.kind,
        role: alert.role,
        active,
        message: alert.message,
      })),
    };
  }
}
