// The "Shop webhooks" panel of the audit page: whether the shop's backend is being told
// of calls. For each endpoint its URL (and node), its state in words, when it tries
// next, its counts, and the events it gave up, each with "Send again" (and "Send all
// again" for the endpoint). After a retry the panel reads the endpoints again at once
// (and once more a moment later, when the event has had time to go) and says how many
// were put back.
//
// Read from GET /api/webhooks every 10 s while the page is visible (poller.js): a hidden
// tab asks for nothing, and asks at once when it shows again. Cards and rows are kept by key
// across redraws (floor-dom.js), so a button keeps the keyboard focus.

import { drawIfChanged, setText, syncList } from "./floor-dom.js";
import { Poller } from "./poller.js";
import { element } from "./transcript-words.js";
import { WebhooksApi } from "./webhooks-api.js";
import { drawFailed, endpointCard, failedRow } from "./webhooks-dom.js";
import {
  POLL_S,
  adviceWords,
  countWords,
  droppedWords,
  givenUpWords,
  lastErrorWords,
  listErrorWords,
  nextWords,
  outcomeWords,
  retriedWords,
  retryErrorWords,
  stateWords,
  timeWords,
  unreachableWords,
} from "./webhooks-words.js";

// Given-up events listed before "Show all": a phone shows each as a card.
const SHOWN_AT_FIRST = 5;
// A retried event is usually delivered (or failed again) within this: read again then.
const FOLLOW_UP_MS = 1500;

/** An endpoint's key: its name, and its node when the server names one. */
function keyOf(endpoint) {
  return `${endpoint.node ?? ""}|${endpoint.name}`;
}

export class WebhooksPanel {
  /**
   * @param {HTMLElement} root the panel (#webhooks)
   * @param {HTMLElement} attention the line at the top of the page that says the webhooks need a look
   * @param {{onRefused: (error: Error) => boolean}} options `onRefused` ends the session when the
   *   server refused the token (true if it did)
   */
  constructor(root, attention, { onRefused }) {
    this.root = root;
    this.attention = attention;
    this.onRefused = onRefused;
    this.api = null;
    this.endpoints = null; // the latest reply; null until the first one
    this.unreachable = []; // nodes that did not answer it: {node, reason}
    this.checkedAt = null; // when it was read (Unix s)
    this.error = null;
    this.fetches = 0;
    // endpoint key -> what the last retry did: {kind: "done"|"failed", text, retried, eventId}
    this.notices = new Map();
    this.busy = new Map(); // endpoint key -> the event id being sent again, "*" for all
    this.expanded = new Set(); // endpoint keys whose whole list of given-up events shows
    this._followUp = null;
    this._generation = 0; // a retry's reply after stop() is dropped
    this.poller = new Poller(POLL_S * 1000, {
      read: () => this.api.list(),
      onRead: ({ endpoints, unreachable }) => {
        this.endpoints = endpoints;
        this.unreachable = unreachable;
        this.checkedAt = Date.now() / 1000;
        this.error = null;
        this.fetches += 1;
      },
      onError: (error) => {
        if (this.onRefused(error)) return; // signed out: stop() ran
        this.error = error;
      },
      onChange: () => this.render(),
    });
    this._bind();
  }

  /** Start reading the endpoints with this admin token; safe to call again. */
  start(token) {
    this.api = new WebhooksApi(token);
    this.root.hidden = false;
    if (this.poller.running) return;
    this.render();
    this.poller.start();
  }

  get polling() {
    return this.poller.running;
  }

  /** Stop (signed out): nothing more is asked, what was shown is cleared. */
  stop() {
    this.poller.stop();
    this._generation += 1;
    clearTimeout(this._followUp);
    this._followUp = null;
    this.api = null;
    this.endpoints = null;
    this.unreachable = [];
    this.checkedAt = null;
    this.error = null;
    this.notices.clear();
    this.busy.clear();
    this.expanded.clear();
    this.root.hidden = true;
    this.attention.hidden = true;
    this.root.querySelector(".wh-endpoints").replaceChildren();
  }

  /** Read the endpoints now (the timer starts again from here). */
  refresh() {
    return this.poller.now();
  }

  // -- sending again -------------------------------------------------------------

  /** Send one given-up event of an endpoint again (`eventId`), or all of them (null). */
  async retry(key, eventId = null) {
    const endpoint = this.endpoints?.find((e) => keyOf(e) === key);
    if (!endpoint || !this.api || this.busy.has(key)) return;
    const event = eventId ? endpoint.failed.find((f) => f.event_id === eventId) ?? null : null;
    if (eventId && !event) return;
    const generation = this._generation;
    this.busy.set(key, eventId ?? "*");
    this.notices.delete(key);
    this.render();
    try {
      const reply = await this.api.retry(endpoint.name, { eventId, node: endpoint.node ?? null });
      if (generation !== this._generation) return;
      this.notices.set(key, { kind: "done", text: retriedWords(reply, event), retried: reply.retried, eventId });
    } catch (error) {
      if (generation !== this._generation) return;
      if (this.onRefused(error)) return;
      this.notices.set(key, { kind: "failed", text: retryErrorWords(error, endpoint.name, event) });
    } finally {
      if (generation === this._generation) this.busy.delete(key);
    }
    await this.poller.now();
    this._focusNotice(key);
    clearTimeout(this._followUp);
    this._followUp = setTimeout(() => this.poller.now(), FOLLOW_UP_MS);
  }

  /** The button pressed may be gone (its event is no longer given up): the focus goes to what happened. */
  _focusNotice(key) {
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const card = [...this.root.querySelectorAll(".wh-endpoint")].find((c) => c.dataset.key === key);
    card?.querySelector(".wh-notice")?.focus({ preventScroll: true });
  }

  _bind() {
    this.root.querySelector(".wh-check").addEventListener("click", () => this.refresh());
    this.root.addEventListener("click", (event) => {
      const card = event.target.closest(".wh-endpoint");
      if (!card) return;
      const retry = event.target.closest("button[data-retry]");
      if (retry) {
        this.retry(card.dataset.key, retry.dataset.retry === "*" ? null : retry.dataset.retry);
        return;
      }
      if (event.target.closest(".wh-more")) {
        const key = card.dataset.key;
        if (this.expanded.has(key)) this.expanded.delete(key);
        else this.expanded.add(key);
        this.render();
      }
    });
    this.attention.querySelector("button").addEventListener("click", () => {
      this.root.scrollIntoView?.({ block: "start" });
      this.root.querySelector("h2").focus({ preventScroll: true });
    });
  }

  // -- drawing -------------------------------------------------------------------

  render() {
    const now = Date.now() / 1000;
    const endpoints = this.endpoints ?? [];
    setText(this.root.querySelector(".wh-status"), this._statusWords());
    this.root.querySelector(".wh-status").dataset.error = String(Boolean(this.error));
    this.root.querySelector(".wh-check").disabled = this.poller.inFlight;
    this.root.querySelector(".wh-none").hidden = !(this.endpoints && endpoints.length === 0 && !this.unreachable.length);
    const missing = this.root.querySelector(".wh-unreachable");
    missing.hidden = this.unreachable.length === 0;
    syncList(
      missing,
      this.unreachable,
      (u) => String(u.node ?? ""),
      () => element("li"),
      (li, u) => setText(li, unreachableWords(u)),
    );
    syncList(
      this.root.querySelector(".wh-endpoints"),
      endpoints,
      keyOf,
      () => endpointCard(),
      (card, endpoint) => this._drawEndpoint(card, endpoint, now),
    );
    this._drawAttention(endpoints);
  }

  _statusWords() {
    const at = this.checkedAt ? timeWords(this.checkedAt) : "";
    if (this.error) {
      const why = listErrorWords(this.error);
      return at ? `${why} What is shown is from ${at}.` : why;
    }
    if (!this.endpoints) return "Checking the webhooks…";
    if (!this.endpoints.length) return `Checked at ${at}.`;
    return `Checked at ${at}; checked again every ${POLL_S} s while this page is open.`;
  }

  _drawEndpoint(card, endpoint, now) {
    const key = keyOf(endpoint);
    const state = stateWords(endpoint, now);
    card.dataset.state = state.state;
    setText(card.querySelector(".wh-name"), endpoint.name);
    const chip = card.querySelector(".wh-state");
    chip.dataset.state = state.state;
    setText(chip, state.label);
    // A long URL wraps after a slash, not in the middle of a word.
    drawIfChanged(card.querySelector(".wh-url"), String(endpoint.url), () =>
      String(endpoint.url)
        .split(/(?<=\/)/)
        .flatMap((part) => [document.createTextNode(part), document.createElement("wbr")]),
    );
    const node = card.querySelector(".wh-node");
    node.hidden = !endpoint.node;
    setText(node.querySelector("code"), endpoint.node ? String(endpoint.node) : "");
    setText(card.querySelector(".wh-headline"), state.headline);
    fillOptional(card.querySelector(".wh-error"), lastErrorWords(endpoint, now));
    setText(card.querySelector(".wh-next"), nextWords(endpoint, now));
    fillOptional(card.querySelector(".wh-advice"), adviceWords(endpoint));
    fillOptional(card.querySelector(".wh-dropped"), droppedWords(endpoint));

    for (const count of countWords(endpoint)) {
      const box = card.querySelector(`.wh-count[data-count="${count.key}"]`);
      box.dataset.alert = String(count.alert);
      setText(box.querySelector("dt"), count.label);
      setText(box.querySelector(".wh-num"), count.value.toLocaleString("en-US"));
      setText(box.querySelector(".wh-count-detail"), count.detail);
    }

    const notice = this.notices.get(key);
    const noticeLine = card.querySelector(".wh-notice");
    noticeLine.hidden = !notice;
    noticeLine.dataset.kind = notice?.kind ?? "";
    setText(noticeLine, notice ? noticeWords(notice, endpoint) : "");

    const failed = Array.isArray(endpoint.failed) ? endpoint.failed : [];
    const total = Math.max(Number(endpoint.failed_count) || 0, failed.length);
    const busy = this.busy.get(key);
    card.querySelector(".wh-failed").hidden = total === 0;
    setText(card.querySelector(".wh-failed-title"), `Given up (${total.toLocaleString("en-US")})`);
    setText(card.querySelector(".wh-failed-hint"), givenUpWords(endpoint));
    const all = card.querySelector(".wh-retry-all");
    all.disabled = Boolean(busy);
    setText(all, busy === "*" ? "Sending…" : "Send all again");
    all.setAttribute("aria-label", `${busy === "*" ? "Sending" : "Send all again"}: the given-up events of ${endpoint.name}`);

    const expanded = this.expanded.has(key);
    const shown = expanded ? failed : failed.slice(0, SHOWN_AT_FIRST);
    syncList(
      card.querySelector(".wh-rows"),
      shown,
      (f) => f.event_id,
      () => failedRow(),
      (row, f) => drawFailed(row, f, busy, now),
    );
    const more = card.querySelector(".wh-more");
    more.hidden = failed.length <= SHOWN_AT_FIRST;
    setText(more, expanded ? `Show only the newest ${SHOWN_AT_FIRST}` : `Show all ${failed.length} listed`);
    more.setAttribute("aria-expanded", String(expanded));
  }

  /** At the top of the page: a failing endpoint, or events given up or dropped, need a look. */
  _drawAttention(endpoints) {
    const failing = endpoints
      .filter((e) => e.state === "failing")
      .map((e) => (e.node ? `“${e.name}” on ${e.node}` : `“${e.name}”`));
    const given = endpoints.reduce((sum, e) => sum + (Number(e.failed_count) || 0), 0);
    const dropped = endpoints.reduce((sum, e) => sum + (Number(e.refused) || 0), 0);
    const parts = [];
    if (failing.length) parts.push(`${listWords(failing)} ${failing.length === 1 ? "is" : "are"} failing`);
    if (given) parts.push(`${given.toLocaleString("en-US")} event${given === 1 ? "" : "s"} given up`);
    if (dropped) parts.push(`${dropped.toLocaleString("en-US")} dropped`);
    const silent = this.unreachable.length;
    if (silent) parts.push(`${silent} node${silent === 1 ? "" : "s"} did not answer`);
    this.attention.hidden = parts.length === 0;
    setText(this.attention.querySelector(".wh-attention-text"), parts.length ? `Shop webhooks need a look: ${parts.join("; ")}.` : "");
  }

  /** What the tests read (window.kotha.state().webhooks). */
  snapshot() {
    const cards = [...this.root.querySelectorAll(".wh-endpoint")];
    return {
      shown: !this.root.hidden,
      polling: this.polling,
      fetches: this.fetches,
      loading: this.poller.inFlight,
      loaded: this.endpoints !== null,
      checkedAt: this.checkedAt,
      status: this.root.querySelector(".wh-status").textContent,
      error: this.error ? { code: this.error.code ?? null, text: listErrorWords(this.error) } : null,
      none: !this.root.querySelector(".wh-none").hidden,
      unreachable: [...this.root.querySelectorAll(".wh-unreachable > li")].map((li) => li.textContent),
      attention: this.attention.hidden ? null : this.attention.querySelector(".wh-attention-text").textContent,
      endpoints: (this.endpoints ?? []).map((endpoint) => {
        const card = cards.find((c) => c.dataset.key === keyOf(endpoint));
        const text = (selector) => (card?.querySelector(selector)?.hidden ? "" : card?.querySelector(selector)?.textContent ?? "");
        return {
          key: keyOf(endpoint),
          name: endpoint.name,
          url: endpoint.url,
          node: endpoint.node ?? null,
          state: endpoint.state,
          pending: endpoint.pending,
          delivered: endpoint.delivered,
          failed_count: endpoint.failed_count,
          refused: endpoint.refused,
          failed: (endpoint.failed ?? []).map((f) => ({ event_id: f.event_id, type: f.type, call_id: f.call_id })),
          shown: {
            label: text(".wh-state"),
            headline: text(".wh-headline"),
            error: text(".wh-error"),
            next: text(".wh-next"),
            rows: card ? card.querySelectorAll(".wh-rows > tr").length : 0,
          },
          notice: this.notices.has(keyOf(endpoint))
            ? { kind: this.notices.get(keyOf(endpoint)).kind, text: text(".wh-notice") }
            : null,
          busy: this.busy.get(keyOf(endpoint)) ?? null,
        };
      }),
    };
  }
}

/** "a", "a and b", "a, b and c". */
function listWords(items) {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** A retry's notice, with what became of it since. */
function noticeWords(notice, endpoint) {
  const outcome = notice.kind === "done" ? outcomeWords(endpoint, notice) : "";
  return outcome ? `${notice.text} ${outcome}` : notice.text;
}

function fillOptional(node, text) {
  node.hidden = !text;
  setText(node, text);
}
