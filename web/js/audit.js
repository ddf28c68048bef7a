// The admins' audit page: sign in with an admin token, then read who watched,
// listened to, whispered into or barged into a live call, and who played,
// downloaded, paused or deleted a recording: newest first, filtered by call,
// person, kind and days, a page at a time. The server refuses every other role
// (403), and the page says so in the server's words. Below the log, the shop's
// webhooks: each endpoint's state and the events it gave up (webhooks-panel.js).
//
// English only: this page is for staff.

import { passingTroubleWords } from "./errors.js";
import { cardRow } from "./floor-dom.js";
import { AuditApi } from "./audit-api.js";
import {
  KINDS,
  actionWords,
  detailWords,
  formatWhen,
  kindOf,
  localZone,
  relativeWhen,
  roleWords,
  sourceWords,
} from "./audit-words.js";
import { TokenStore, tokenClaims } from "./token-store.js";
import { Page } from "./page.js";
import { $, exposeForTests } from "./ui.js";
import { WebhooksPanel } from "./webhooks-panel.js";

const SECTIONS = ["loading", "signin", "log"];
const tokens = new TokenStore("kotha.audit.token");
// The replay page's own key: a call link opened in this tab signs the replay page in too.
const replayTokens = new TokenStore("kotha.replay.token");
const PAGE_SIZE = 25;
// The filters, as the page and the fragment (#call=…&actor=…) name them.
const FILTERS = ["call", "actor", "kind", "since", "until"];
const FIELD_WORDS = {
  call: "Call",
  call_id: "Call",
  actor: "Person",
  kind: "Kind",
  action: "Kind",
  since: "From",
  until: "To",
  limit: "page size",
  offset: "page",
};
const CALL_ID = /^[A-Za-z0-9_-]{6,64}$/;
// A subject, as the API accepts it (Python's \w is Unicode letters, digits and _).
const SUBJECT = /^[\p{L}\p{N}_.@:+-]{1,128}$/u;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** An error of the API (or of the form) in words an admin can act on. */
function errorWords(error) {
  const code = error?.code || "unknown";
  const said = serverWords(error);
  switch (code) {
    case "token_missing":
      return "Sign in with an admin token to read the audit log.";
    case "token_expired":
      return "Your token has expired. Get a new one (kotha token --role admin) and sign in again.";
    case "token_invalid":
    case "unauthorized":
      return "That token is not valid here (cut short, or from another server). Check it and sign in again.";
    case "forbidden":
      return `The server refused this token${said ? `: ${said}` : ""}. Only admins may read the audit log; sign in with an admin token.`;
    case "invalid_message":
    case "form": {
      const field = FIELD_WORDS[error.field];
      const detail = said.replace(/^[\w.]+: /, "");
      return field ? `Check “${field}”: ${detail || "the value is not valid"}.` : `The request was not valid${detail ? `: ${detail}` : ""}.`;
    }
    default:
      return passingTroubleWords(code) ?? `Something went wrong${said ? `: ${said}` : ` (${code})`}.`;
  }
}

/** The server's own message, unless it is only a status line. */
function serverWords(error) {
  const message = String(error?.message || "").trim().replace(/\.$/, "");
  return /^HTTP \d+$/.test(message) ? "" : message;
}

function kindById(id) {
  return KINDS.find((k) => k.id === id) || KINDS[0];
}

class AuditPage extends Page {
  constructor() {
    super(SECTIONS);
    this.api = null;
    this.token = null;
    this.claims = {};
    this.filters = { call: "", actor: "", kind: "", since: "", until: "" };
    // Where the page shown starts, and where the pages before it started, so "Newer"
    // goes back exactly.
    this.offset = 0;
    this.before = [];
    this.records = [];
    this.total = 0;
    this.loading = false;
    this.loaded = false;
    this._request = 0;
    this.webhooks = new WebhooksPanel($("webhooks"), $("wh-attention"), {
      onRefused: (error) => this.signOutIfRefused(error),
    });
  }

  start() {
    this._fillKinds();
    this._bind();
    const token = tokens.take(); // strips #token=…, keeps the rest of the fragment
    this._readFragment();
    if (token) this.signIn(token);
    else this.setPhase("signin");
    // "3 minutes ago" stays true while the page is open.
    setInterval(() => this._renderAges(), 30_000);
  }

  // -- signing in ------------------------------------------------------------

  /** The first page checks the token: only an admin's is accepted. */
  async signIn(token) {
    this.api = new AuditApi(token);
    this.token = token;
    this.claims = tokenClaims(token);
    this.setPhase("loading");
    this.clearError();
    const ok = await this.load(0);
    if (!this.api) return; // refused: the sign-in form shows why
    tokens.save(token);
    this.setPhase("log");
    this.webhooks.start(token);
    if (!ok) this.render(); // e.g. a network failure: the error says so, Refresh retries
  }

  signOut() {
    tokens.clear();
    this.webhooks.stop();
    this.api = null;
    this.token = null;
    this.claims = {};
    this.records = [];
    this.total = 0;
    this.loaded = false;
    $("token-input").value = "";
    this.setPhase("signin");
  }

  // -- filters ---------------------------------------------------------------

  _fillKinds() {
    $("f-kind").replaceChildren(
      ...KINDS.map((kind) => {
        const option = document.createElement("option");
        option.value = kind.id;
        option.textContent = kind.words;
        return option;
      }),
    );
    $("filter-hint").textContent =
      `Times are in your time zone (${localZone()}); “From” and “To” are UTC days, and “To” includes its day. ` +
      "“Person” is the id in their token (such as sumi), not their display name. " +
      "Tap a person or “only this call” in the list to filter by it.";
  }

  /** Filters from the address (#call=…&actor=…&kind=…&since=…&until=…), so a link can share a view. */
  _readFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    for (const name of FILTERS) this.filters[name] = (fragment.get(name) || "").trim();
    if (!KINDS.some((k) => k.id === this.filters.kind)) this.filters.kind = "";
    this._fillForm();
  }

  _writeFragment() {
    const fragment = new URLSearchParams();
    for (const [name, value] of Object.entries(this.filters)) if (value) fragment.set(name, value);
    const rest = fragment.toString();
    history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }

  _fillForm() {
    $("f-call").value = this.filters.call;
    $("f-actor").value = this.filters.actor;
    $("f-kind").value = this.filters.kind;
    $("f-since").value = this.filters.since;
    $("f-until").value = this.filters.until;
  }

  /** The form's filters, checked; a problem is thrown as a form error naming the field. */
  _formFilters() {
    const value = (id) => $(id).value.trim();
    const filters = {
      call: value("f-call"),
      actor: value("f-actor"),
      kind: value("f-kind"),
      since: value("f-since"),
      until: value("f-until"),
    };
    for (const id of ["f-call", "f-actor", "f-since", "f-until"]) $(id).removeAttribute("aria-invalid");
    const problem = (field, id, message) => {
      $(id).setAttribute("aria-invalid", "true");
      $(id).focus();
      return Object.assign(new Error(message), { code: "form", field });
    };
    if (filters.call && !CALL_ID.test(filters.call)) {
      throw problem("call", "f-call", "a call id is 6 to 64 letters, digits, “_” or “-”, such as c_8f2a41b9e0d3c7f6");
    }
    if (filters.actor && !SUBJECT.test(filters.actor)) {
      throw problem("actor", "f-actor", "a person's id has letters, digits and “_ . @ : + -” only, no spaces (such as sumi)");
    }
    if (filters.since && !DAY.test(filters.since)) throw problem("since", "f-since", "give a day, such as 2026-03-01");
    if (filters.until && !DAY.test(filters.until)) throw problem("until", "f-until", "give a day, such as 2026-03-31");
    if (filters.since && filters.until && filters.since > filters.until) {
      throw problem("until", "f-until", "“To” is before “From”");
    }
    return filters;
  }

  /** Apply the form (or the given filters) and show the newest page. */
  async apply(filters = null) {
    this.clearError();
    try {
      this.filters = filters ?? this._formFilters();
    } catch (error) {
      this.showError(error);
      return;
    }
    this._fillForm();
    this._writeFragment();
    this.before = [];
    await this.load(0);
  }

  /** Filter by one value taken from a row (a person, a call), keeping the other filters. */
  narrow(name, value) {
    this.apply({ ...this.filters, [name]: value });
  }

  // -- pages -----------------------------------------------------------------

  /** Fetch the page of records that starts at `offset`; false if it failed (the error is shown). */
  async load(offset) {
    if (!this.api) return false;
    const request = ++this._request;
    this.loading = true;
    this.render();
    try {
      const reply = await this.api.list({
        call_id: this.filters.call,
        actor: this.filters.actor,
        action: kindById(this.filters.kind).action ?? "",
        since: this.filters.since,
        until: this.filters.until,
        limit: PAGE_SIZE,
        offset: offset || "",
      });
      if (request !== this._request) return false; // a newer request is on its way
      this.offset = offset;
      this.records = reply.records;
      this.total = reply.total;
      this.loaded = true;
      return true;
    } catch (error) {
      if (request !== this._request) return false;
      if (!this.signOutIfRefused(error)) this.showError(error);
      return false;
    } finally {
      if (request === this._request) {
        this.loading = false;
        this.render();
      }
    }
  }

  async older() {
    if (!this._hasOlder() || this.loading) return;
    const from = this.offset;
    if (await this.load(this.offset + this.records.length)) {
      this.before.push(from);
      this.render();
      $("rows").querySelector("a, button")?.focus({ preventScroll: true });
      $("summary").scrollIntoView?.({ block: "nearest" });
    }
  }

  async newer() {
    if (!this.before.length || this.loading) return;
    if (await this.load(this.before.at(-1))) {
      this.before.pop();
      this.render();
      $("summary").scrollIntoView?.({ block: "nearest" });
    }
  }

  /** Start again from the newest records (new ones may have been written). */
  refresh() {
    this.clearError();
    this.before = [];
    return this.load(0);
  }

  _index() {
    return this.offset;
  }

  _hasOlder() {
    return this._index() + this.records.length < this.total;
  }

  // -- rendering ---------------------------------------------------------------

  showError(error) {
    super.showError(error);
    if (this.error) $("error").scrollIntoView?.({ block: "nearest" });
  }

  render() {
    $("error").hidden = !this.error;
    $("error").textContent = this.error ? errorWords(this.error) : "";
    const signedIn = Boolean(this.api) && this.phase === "log";
    $("staff-bar").hidden = !signedIn;
    $("staff-name").textContent = this.claims.name || this.claims.sub || "";
    $("staff-role").textContent = roleWords(this.claims.role);
    if (this.phase === "log") this._renderLog();
  }

  _renderLog() {
    const count = this.records.length;
    const index = this._index();
    const filtered = Object.values(this.filters).some(Boolean);
    let summary = "";
    if (this.loading) summary = "Loading…";
    else if (this.loaded && count) {
      const range = `${index + 1}–${index + count}`;
      summary = `${range} of ${this.total} record${this.total === 1 ? "" : "s"}${this._filterWords()}, newest first.`;
    }
    $("summary").textContent = summary;
    const empty = this.loaded && !this.loading && count === 0;
    $("empty").hidden = !empty;
    $("empty").textContent = filtered
      ? "No records match these filters."
      : "No records yet: nobody has watched or monitored a call, or played, downloaded, paused or deleted a recording.";
    $("records").hidden = count === 0;
    $("rows").replaceChildren(...this.records.map((record) => recordRow(record)));
    $("newer").disabled = this.loading || !this.before.length;
    $("older").disabled = this.loading || !this._hasOlder();
    const pages = Math.max(1, Math.ceil(this.total / PAGE_SIZE));
    const page = Math.floor(index / PAGE_SIZE) + 1;
    $("page-info").textContent = this.loaded && count ? `Page ${Math.min(page, pages)} of ${pages}` : "";
    $("refresh").disabled = this.loading;
  }

  /** The filters in force, in words, for the summary (", for call c_…, by sumi"). */
  _filterWords() {
    const f = this.filters;
    const parts = [];
    if (f.kind) parts.push(kindById(f.kind).words.toLowerCase());
    if (f.call) parts.push(`for call ${f.call}`);
    if (f.actor) parts.push(`by ${f.actor}`);
    if (f.since && f.until) parts.push(`from ${f.since} to ${f.until}`);
    else if (f.since) parts.push(`from ${f.since}`);
    else if (f.until) parts.push(`up to ${f.until}`);
    return parts.length ? ` (${parts.join(", ")})` : "";
  }

  _renderAges() {
    for (const age of document.querySelectorAll("#rows .au-ago[data-at]")) {
      age.textContent = relativeWhen(Number(age.dataset.at));
    }
  }

  // -- wiring ------------------------------------------------------------------

  _bind() {
    this.bindSignIn((token) => this.signIn(token));
    $("filter-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.apply();
    });
    $("filter-form").addEventListener("reset", (event) => {
      event.preventDefault();
      this.apply({ call: "", actor: "", kind: "", since: "", until: "" });
    });
    $("refresh").addEventListener("click", () => this.refresh());
    $("older").addEventListener("click", () => this.older());
    $("newer").addEventListener("click", () => this.newer());
    $("rows").addEventListener("click", (event) => {
      const narrow = event.target.closest("button[data-filter]");
      if (narrow) {
        this.narrow(narrow.dataset.filter, narrow.dataset.value);
        return;
      }
      const link = event.target.closest("a.au-call-link");
      // Opened in this tab: the replay page finds this token and opens the recording
      // (unless it already has a token of its own). Playing it is audited too.
      const sameTab = !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) && event.button === 0;
      if (link && sameTab && this.token && !replayTokens.load()) replayTokens.save(this.token);
    });
  }

  snapshot() {
    return {
      page: "audit",
      phase: this.phase,
      signedIn: Boolean(this.api) && this.phase === "log",
      role: this.claims.role ?? null,
      loading: this.loading,
      filters: { ...this.filters },
      records: this.records.map((r) => ({
        action: r.action,
        actor: r.actor,
        role: r.role,
        call_id: r.call_id,
        source: r.source,
        at: r.at,
        what: actionWords(r),
      })),
      total: this.total,
      first: this.records.length ? this._index() + 1 : 0,
      last: this._index() + this.records.length,
      hasNewer: this.before.length > 0,
      hasOlder: this._hasOlder(),
      error: this.error ? { code: this.error.code ?? null, field: this.error.field ?? null, text: errorWords(this.error) } : null,
      webhooks: this.webhooks.snapshot(),
    };
  }
}

function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** One record as a table row; on a phone the row is a card (audit.css). */
function recordRow(record) {
  const { row, cell } = cardRow(); // see audit.html: the roles stay when it is a card
  row.dataset.action = String(record.action || "");
  row.dataset.kind = kindOf(record.action);

  const at = Number(record.at) || 0;
  const when = cell("When", "au-when");
  const time = element("time", "au-at", formatWhen(at));
  time.dateTime = new Date(at * 1000).toISOString();
  const age = element("span", "au-ago", relativeWhen(at));
  age.dataset.at = String(at);
  when.append(time, " ", age);

  const who = cell("Who", "au-who");
  const actor = String(record.actor || "unknown");
  const person = element("button", "link au-person", actor);
  person.type = "button";
  person.dataset.filter = "actor";
  person.dataset.value = actor;
  person.title = `Show only ${actor}'s records`;
  const role = element("span", "au-role", roleWords(record.role));
  role.dataset.role = String(record.role || "");
  who.append(person, " ");
  // The display name from their token, when it says more than the id (records from before
  // names were kept have none).
  if (record.name && record.name !== actor) who.append(element("span", "au-name", record.name), " ");
  who.append(role);

  cell("From", "au-source").textContent = sourceWords(record.source);

  const what = cell("What", "au-what");
  what.textContent = actionWords(record);

  const call = cell("Call", "au-call");
  if (record.call_id) {
    const purged = kindOf(record.action) === "purge";
    const id = element(purged ? "span" : "a", purged ? "au-call-id" : "au-call-id au-call-link", record.call_id);
    if (!purged) {
      id.href = `/replay#call=${encodeURIComponent(record.call_id)}`;
      id.title = `Open the recording of call ${record.call_id} (playing it writes a playback record)`;
    }
    call.append(id);
    if (purged) call.append(" ", element("span", "au-muted", "(deleted)"));
    const only = element("button", "link au-only", "only this call");
    only.type = "button";
    only.dataset.filter = "call";
    only.dataset.value = record.call_id;
    only.setAttribute("aria-label", `Show only the records of call ${record.call_id}`);
    call.append(" ", only);
  } else {
    call.textContent = "—";
    call.dataset.empty = "true";
  }

  const details = cell("Details", "au-details");
  const items = detailWords(record);
  details.dataset.empty = String(items.length === 0);
  if (items.length) {
    const list = element("ul", "au-detail-list");
    for (const item of items) {
      const li = element("li");
      li.append(element("span", "au-detail-label", `${item.label}:`), " ");
      if (item.mode) {
        const chip = element("span", "au-mode", item.mode);
        chip.dataset.mode = item.mode;
        li.append(chip);
        if (item.value) li.append(" ", item.value);
      } else {
        li.append(element(item.code ? "code" : "span", "au-detail-value", item.value));
      }
      list.append(li);
    }
    details.append(list);
  } else {
    details.textContent = "—";
  }
  return row;
}

const page = new AuditPage();
exposeForTests({ state: () => page.snapshot() });
page.start();
