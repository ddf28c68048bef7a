// The supervisors' dashboard: every live call on one screen, the queue and
// the agents, kept live by the server's `floor_updated` (node/floor.py).
// Opening a call (a row, or one of its alerts: #call=<id>, so it can be
// linked) shows its transcript, mood and quality up close, and lets a
// supervisor listen in, whisper to the agent or barge in.
//
// With more than one server (node), a strip shows each one and its load, and each
// call's card names the server that carries it (floor-nodes.js).
//
// The floor's numbers (service level, waits, handle time, ratings; today and the last
// 15 minutes, and per agent) are read every 5 s while the page shows (floor-figures.js);
// the header links to the reports page, signed in with the same token.
//
// Signs in with a supervisor's or an admin's token from the fragment
// (#token=…) or pasted into the form. Admins see everything but do not monitor.

import { CallPanel, WATCHED_EVENTS } from "./floor-call-panel.js";
import { FloorAgents } from "./floor-agents.js";
import { FloorCalls } from "./floor-calls.js";
import { FloorFigures } from "./floor-figures.js";
import { ServerClock } from "./floor-clock.js";
import { setText } from "./floor-dom.js";
import { FloorNodes } from "./floor-nodes.js";
import { FloorQueue } from "./floor-queue.js";
import { errorWords } from "./floor-words.js";
import { onLanguageChange } from "./i18n.js";
import { Page } from "./page.js";
import { openPageSignal } from "./signal.js";
import { TokenStore } from "./token-store.js";
import { $, clock, everySecond, exposeForTests } from "./ui.js";
import { ClientEvent, ServerEvent } from "./events.js";

const SECTIONS = ["loading", "signin", "floor"];
const STAFF_ROLES = new Set(["supervisor", "admin"]);
const ROLE_WORDS = { supervisor: "Supervisor", admin: "Admin" };
const tokens = new TokenStore("kotha.dashboard.token");
// The reports page's own key: opened from here in this tab, it is signed in already.
const reportsTokens = new TokenStore("kotha.reports.token");
// An opened call's panel is scrolled to unless this much of it already shows at the top.
const PANEL_IN_VIEW_PX = 160;

class Dashboard extends Page {
  constructor() {
    super(SECTIONS);
    this.signal = null;
    this.role = null;
    this.name = "";
    this.notice = null;
    this.floor = null; // the latest floor snapshot
    this.floorUpdates = 0;
    this.clock = new ServerClock();
    this.calls = new FloorCalls($("call-rows"), $("calls-empty"), this.clock);
    this.queue = new FloorQueue({ rows: $("queue-rows"), empty: $("queue-empty"), count: $("queue-count"), longest: $("queue-longest") });
    this.agents = new FloorAgents({ rows: $("agent-rows"), empty: $("agents-empty"), count: $("agents-count") });
    this.nodes = new FloorNodes({ section: $("nodes"), rows: $("node-rows") });
    this.figures = new FloorFigures($("figures"), () => tokens.load());
    onLanguageChange(() => this._drawFloor());
    this.panel = new CallPanel($("call-panel"), this.clock);
    this.panel.addEventListener("change", () => this._drawFloor());
    this.panel.addEventListener("notice", (event) => this.showNotice(event.detail.text));
    this.panel.addEventListener("error", (event) => this.showError(event.detail.error));
    this.panel.addEventListener("refused", ({ detail }) => {
      if (detail.error?.code === "call_state") {
        this.showNotice("That call is not in progress any more.");
      } else {
        this.showError(detail.error);
      }
      this._clearRoute();
      this._drawFloor();
    });
    this.panel.addEventListener("opened", () => this._drawFloor());
  }

  start() {
    this._bindControls();
    everySecond(() => this._tick());
    const token = tokens.take();
    if (token) this.connect(token);
    else this.setPhase("signin");
  }

  // -- the socket --------------------------------------------------------

  connect(token) {
    const signal = openPageSignal(this, token, tokens, {
      onUnreachable: (error) => {
        if (this.phase === "loading") this.showError(error);
        this.render();
      },
    });
    this.setPhase("loading");
    signal.on(ServerEvent.FLOOR_UPDATED, (floor) => this._setFloor(floor));
    signal.on(ServerEvent.CALL_ENDED, (ended) => this._callEnded(ended));
    const panelEvents = [
      ServerEvent.MONITOR_UPDATED,
      ServerEvent.CALL_UPDATED,
      ServerEvent.PARTICIPANT_UPDATED,
      ServerEvent.PARTICIPANT_LEFT,
    ];
    for (const name of panelEvents) {
      signal.on(name, (payload) => this.panel.event(name, payload));
    }
    // signal.js does not re-dispatch a watched call's quality and transcript facts.
    for (const name of WATCHED_EVENTS) {
      signal.socket.on(name, (payload) => this.panel.event(name, payload));
    }
  }

  async refresh(first) {
    if (this.error?.code === "network") this.clearError();
    let state;
    try {
      state = await this.signal.request(ClientEvent.GET_STATE);
    } catch (error) {
      this.showError(error);
      return;
    }
    if (!STAFF_ROLES.has(state.role)) {
      const role = state.role || "other";
      this.signOut();
      this.showError({
        code: "forbidden",
        message: `that is ${/^[aeiou]/.test(role) ? "an" : "a"} ${role}'s token; the dashboard needs a supervisor's or an admin's`,
      });
      return;
    }
    this.role = state.role;
    this.name = state.name;
    this.panel.setSignal(this.signal, this.role);
    this.figures.start();
    this._setFloor(state.floor);
    if (this.phase !== "floor") this.setPhase("floor");
    if (!first && this.panel.isOpen) await this.panel.rewatch();
    else this._route();
  }

  _setFloor(floor) {
    if (!floor) return;
    this.floor = floor;
    this.floorUpdates += 1;
    this.clock.sync(floor.server_time);
    const openId = this.panel.callId;
    if (openId && this.panel.watching && !floor.calls.some((row) => row.call_id === openId)) {
      // Gone from the floor without our hearing call_ended (a reconnect in between).
      this._callEnded({ call_id: openId, reason: null });
    }
    this._drawFloor();
  }

  _callEnded(ended) {
    if (!ended?.call_id || ended.call_id !== this.panel.callId) return;
    const words = this.panel.endWords(ended);
    this.panel.ended();
    this.showNotice(words);
    this._clearRoute();
    this._drawFloor();
  }

  // -- opening calls (the fragment) ----------------------------------------

  /** The call id in the fragment (#call=<id>), or null. */
  _routeCallId() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    return fragment.get("call") || null;
  }

  _route() {
    if (this.phase !== "floor" || !this.signal) return;
    const callId = this._routeCallId();
    if (callId === this.panel.callId) return;
    if (!callId) {
      this.panel.close();
      this._drawFloor();
      return;
    }
    this.clearError();
    const row = this.floor?.calls.find((c) => c.call_id === callId) ?? null;
    this.panel.open(callId, row);
    this._drawFloor();
    this.panel.focus();
    // Bring the panel's top into view (on a phone it opens above the list that was clicked).
    const top = $("call-panel").getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - PANEL_IN_VIEW_PX) $("call-panel").scrollIntoView({ block: "start" });
  }

  _clearRoute() {
    if (this._routeCallId()) history.replaceState(history.state, "", location.pathname + location.search);
  }

  openCall(callId) {
    const hash = `#call=${encodeURIComponent(callId)}`;
    if (location.hash === hash) this._route();
    else location.hash = hash; // hashchange routes
  }

  closeCall() {
    this._clearRoute();
    this._route();
  }

  signOut() {
    this.figures.stop();
    this.panel.close();
    this.panel.setSignal(null, null);
    if (this.signal) this.signal.close();
    this.signal = null;
    tokens.clear();
    this.role = null;
    this.floor = null;
    this.setPhase("signin");
  }

  _bindControls() {
    this.bindSignIn((token) => {
      this.clearError();
      tokens.save(token);
      this.connect(token);
    });
    $("cp-close").addEventListener("click", () => this.closeCall());
    // Opened in this tab, the reports page finds this token (unless it has one of its own).
    for (const link of [$("reports-link"), $("figures").querySelector(".ff-reports-link")]) {
      link.addEventListener("click", (event) => {
        const sameTab = !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) && event.button === 0;
        const token = tokens.load();
        if (sameTab && token && !reportsTokens.load()) reportsTokens.save(token);
      });
    }
    window.addEventListener("hashchange", () => this._route());
    // A click anywhere on a row opens its call (its links do so by themselves).
    $("call-rows").addEventListener("click", (event) => {
      if (event.target.closest("a, button")) return;
      const row = event.target.closest(".fc-row");
      if (row) this.openCall(row.dataset.key);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.panel.isOpen && !event.target.closest("textarea, input")) this.closeCall();
    });
  }

  // -- drawing -----------------------------------------------------------


  showNotice(text) {
    this.notice = text;
    this.render();
  }

  render() {
    const error = $("error");
    error.hidden = !this.error;
    error.textContent = this.error ? errorWords(this.error) : "";
    const notice = $("notice");
    notice.hidden = !this.notice;
    notice.textContent = this.notice || "";
    $("staff-bar").hidden = !this.signal;
    setText($("staff-name"), this.name);
    setText($("staff-role"), ROLE_WORDS[this.role] || "");
    $("staff-role").hidden = !this.role;
    const socketState = $("socket-state");
    socketState.hidden = Boolean(this.signal?.connected);
    socketState.dataset.state = "offline";
    socketState.textContent = "Offline — reconnecting…";
    this.panel.monitor.render();
  }

  _drawFloor() {
    if (!this.floor) return;
    const openCallId = this.panel.callId;
    $("floor").dataset.open = String(Boolean(openCallId));
    this.nodes.update(this.floor.nodes);
    this.calls.update(this.floor.calls, {
      openCallId,
      myMonitorId: this.panel.monitor.participantId,
      showNodes: this.nodes.many,
    });
    this.queue.update(this.floor.queue);
    this.agents.update(this.floor.agents, this.floor.calls);
    if (openCallId) this.panel.updateRow(this.floor.calls.find((row) => row.call_id === openCallId));
    setText($("calls-count"), this.floor.calls.length ? `(${this.floor.calls.length})` : "");
    this._drawStats();
  }

  _drawStats() {
    const calls = this.floor?.calls ?? [];
    const attention = calls.filter((row) => row.attention?.level === "high" || row.attention?.level === "medium").length;
    const waiting = this.floor?.queue?.calls?.length ?? 0;
    setText($("stat-calls"), String(calls.length));
    setText($("stat-attention"), String(attention));
    $("stat-attention").parentElement.dataset.alert = String(attention > 0);
    setText($("stat-waiting"), String(waiting));
    setText($("stat-longest"), waiting ? clock(this.queue.longestWait()) : "—");
    $("stat-longest").parentElement.dataset.alert = String(this.queue.longestWait() >= 60);
    setText($("stat-agents"), `${this.agents.available()} of ${this.agents.online()}`);
  }

  _tick() {
    if (this.phase !== "floor") return;
    this.calls.tick();
    this.queue.tick();
    this.agents.tick();
    this.panel.tick();
    this._drawStats();
  }

  snapshot() {
    return {
      page: "dashboard",
      phase: this.phase,
      signedIn: Boolean(this.signal),
      socketConnected: Boolean(this.signal?.connected),
      role: this.role,
      name: this.name,
      floorUpdates: this.floorUpdates,
      floor: this.floor
        ? {
            calls: this.calls.snapshot(),
            queue: this.queue.snapshot(),
            agents: this.agents.snapshot(),
            nodes: this.nodes.snapshot(),
            alerts: (this.floor.alerts || []).map((a) => ({ callId: a.call_id, kind: a.kind, role: a.role })),
          }
        : null,
      panel: this.panel.snapshot(),
      figures: this.figures.snapshot(),
      notice: this.notice,
      error: this.error ? { code: this.error.code ?? null, message: this.error.message ?? null } : null,
    };
  }
}

const dashboard = new Dashboard();
exposeForTests({
  remoteAudioLevel: () => dashboard.panel.monitor.level(),
  state: () => ({ ...dashboard.snapshot(), remoteAudioLevel: dashboard.panel.monitor.level() }),
});
dashboard.start();
