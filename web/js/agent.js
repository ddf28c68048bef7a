// The agent console: sign in, go available, take calls from the queue (or
// from the ringing banner when calls are offered automatically), talk, and
// see how loud the customer is and how good both lines are, read what is
// being said (the live transcript) and how the customer feels about it, and
// always see when a supervisor listens in, whispers or barges in. The agent can
// put the customer on hold (neither hears nor sees the other; a supervisor
// monitoring still hears both, and the recording goes on) and sees for how long.
//
// English only; the customer's language is shown in words.

import { HoldControl } from "./hold-control.js";
import { holdWords } from "./hold-words.js";
import { CallPage } from "./page.js";
import { enterCall } from "./enter-call.js";
import { cardRow } from "./floor-dom.js";
import { describeError, tFor } from "./i18n.js";
import { LevelMeter } from "./level-meter.js";
import { LiveTranscript, TRANSCRIPT_EVENTS } from "./live-transcript.js";
import { canShareScreen } from "./local-media.js";
import { MonitorBanner } from "./monitor-banner.js";
import { QualityIndicator } from "./quality-indicator.js";
import { RemoteViews } from "./remote-views.js";
import { openPageSignal } from "./signal.js";
import { TokenStore } from "./token-store.js";
import { $, clock, everySecond, exposeForTests, secondsSince, setToggle } from "./ui.js";
import { languageWords } from "./transcript-words.js";
import { ClientEvent, ServerEvent } from "./events.js";

const SECTIONS = ["loading", "signin", "queue-panel", "incall", "summary"];
const tokens = new TokenStore("kotha.agent.token");
// The meter bar redraws ten times a second: smooth enough, cheap enough.
const METER_INTERVAL_MS = 100;
const MEDIA_WORDS = { audio: "Voice", video: "Video" };
const AGENT_STATE_WORDS = { away: "Away", available: "Available", ringing: "Ringing", on_call: "On a call" };
const CONNECTION_WORDS = {
  joining: "Connecting…",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Closed",
  offline: "Offline — reconnecting…",
};
const END_WORDS = {
  hung_up: "The call ended.",
  cancelled: "The customer cancelled before the call was answered.",
  abandoned: "The customer left the queue.",
  disconnected: "A connection was lost and did not come back.",
  expired: "The call link expired.",
  shutdown: "The server shut down.",
  interrupted: "The server stopped unexpectedly during the call.",
};
const WITHDRAWN_WORDS = {
  timeout: "The call was not answered in time and went back to the queue. You are now away.",
  declined: "You declined the call; it went back to the queue.",
  agent_disconnected: "The offer was withdrawn because your connection dropped.",
  taken_other: "You took another call; the offered one went back to the queue.",
};
class AgentConsole extends CallPage {
  constructor() {
    super(SECTIONS, "summary");
    this.signal = null;
    this.name = "";
    this.agent = null; // {subject, name, state, call_id, connected}
    this.autoOffer = false;
    this.queue = { calls: [], waiting: 0, longest_wait_s: 0 };
    this.queueAt = performance.now(); // when this.queue arrived, to tick waiting times
    this.offer = null; // {call, deadline}
    this.call = null;
    this.participantId = null;
    this.end = null;
    this.notice = null;
    this.hold = new HoldControl(this);
    this.views = new RemoteViews($("remote-audio"), $("remote-camera"), $("remote-screen"));
    this.views.addEventListener("autoplay_blocked", () => {
      this.soundBlocked = true;
      this.render();
    });
    this.meter = new LevelMeter();
    this.quality = new QualityIndicator($("quality"));
    this.live = new LiveTranscript(
      { panel: $("transcript"), alerts: $("transcript-alerts"), mood: $("mood") },
      { token: () => this.signal?.socket.auth.token, onCall: (callId) => this.call?.call_id === callId },
    );
    this.monitorBanner = new MonitorBanner($("monitors"));
    this.monitors = null; // {callId, list}: the latest word of who monitors which call
    this._entering = null;
  }

  start() {
    this._bindControls();
    everySecond(() => this._tick());
    setInterval(() => this._renderMeter(), METER_INTERVAL_MS);
    const token = tokens.take();
    if (token) this.connect(token);
    else this.setPhase("signin");
  }

  // -- the socket --------------------------------------------------------

  connect(token) {
    const signal = openPageSignal(this, token, tokens);
    this.setPhase("loading");
    signal.on(ServerEvent.AGENT_UPDATED, ({ agent }) => {
      this.agent = agent;
      this.render();
    });
    signal.on(ServerEvent.QUEUE_UPDATED, (queue) => this._setQueue(queue));
    signal.on(ServerEvent.CALL_OFFERED, ({ call, timeout_s: timeout }) => {
      this.offer = { call, deadline: performance.now() + timeout * 1000 };
      this.notice = null;
      this.render();
    });
    signal.on(ServerEvent.CALL_OFFER_WITHDRAWN, ({ call_id: callId, reason }) => {
      if (this.offer?.call.call_id === callId) this.offer = null;
      this.notice = WITHDRAWN_WORDS[reason] || `The offer was withdrawn (${reason}).`;
      this.render();
    });
    // call_updated only reaches the agent of that call.
    signal.on(ServerEvent.CALL_UPDATED, ({ call }) => {
      if (call.state === "active") {
        this.call = call;
        this.enterCall();
        this.render(); // e.g. the recording was paused or resumed
      }
    });
    // Also a supervisor who barges in (role "supervisor"); participant_left when they stop.
    signal.on(ServerEvent.PARTICIPANT_UPDATED, ({ call_id: callId, participant }) => {
      if (!this.call || this.call.call_id !== callId) return;
      const others = this.call.participants.filter((p) => p.participant_id !== participant.participant_id);
      this.call = { ...this.call, participants: [...others, participant] };
      this.render();
    });
    signal.on(ServerEvent.PARTICIPANT_LEFT, ({ call_id: callId, participant_id: participantId }) => {
      if (!this.call || this.call.call_id !== callId) return;
      const participants = this.call.participants.filter((p) => p.participant_id !== participantId);
      this.call = { ...this.call, participants };
      this.render();
    });
    signal.on(ServerEvent.MONITOR_UPDATED, ({ call_id: callId, monitors }) => this.showMonitors(callId, monitors));
    signal.on(ServerEvent.CALL_ENDED, (ended) => this.showEnded(ended));
    // signal.js does not re-dispatch the quality facts (they only reach the
    // agent of a call), so they are taken from its socket; close() drops them.
    signal.socket.on(ServerEvent.QUALITY_UPDATED, (view) => {
      if (view?.call_id && view.call_id === this.call?.call_id) this.quality.update(view, this.participantId);
    });
    signal.socket.on(ServerEvent.QUALITY_ALERT, (change) => {
      if (change?.alert && change.call_id === this.call?.call_id) this.quality.alert(change);
    });
    for (const name of TRANSCRIPT_EVENTS) {
      signal.socket.on(name, (payload) => this.live.event(name, payload));
    }
  }

  async refresh(first) {
    const state = await this.fetchState();
    if (!state) return;
    if (state.role !== "agent") {
      this.signOut();
      this.showError({ code: "forbidden", message: `that is a ${state.role}'s token, not an agent's` });
      return;
    }
    this.name = state.name;
    this.agent = state.agent;
    this.autoOffer = state.auto_offer;
    this._setQueue(state.queue);
    if (state.agent.state === "ringing" && !this.offer) {
      // Reloaded while a call rang: the offer is still in the queue, its deadline unknown.
      const entry = state.queue.calls.find((c) => c.call_id === state.agent.call_id);
      if (entry) this.offer = { call: entry, deadline: null };
    }
    const call = state.call;
    if (call && call.state === "active") {
      this.call = call;
      this.participantId = state.participant_id;
      this.showMonitors(call.call_id, state.monitors ?? []);
      if (this.session && !first) this.session.rejoin("socket_reconnected");
      else this.enterCall();
      // Opened (or back) mid-call: what was said so far, and whatever the socket missed.
      this.live.load(call.call_id);
    } else if (state.lost_call) {
      // Away too long: the call went back to the queue for another agent (it goes on).
      this._leaveCall();
      this.notice =
        `Your connection was lost for too long during the call with ${state.lost_call.customer_name}: ` +
        "it went back to the queue, first in line for another agent. You are Away; set yourself Available to take calls.";
      this.setPhase("queue-panel");
    } else if (this.session) {
      // Our call ended while the socket was away.
      this.showEnded({ reason: "disconnected", ended_by: null, call: null });
    } else if (this.phase === "loading") {
      this.setPhase("queue-panel");
    }
    this.render();
  }

  _setQueue(queue) {
    this.queue = queue;
    this.queueAt = performance.now();
    if (this.offer && !queue.calls.some((c) => c.call_id === this.offer.call.call_id && c.offered)) {
      this.offer = null;
    }
    this.render();
  }

  // -- actions -----------------------------------------------------------

  async accept(callId) {
    this.clearError();
    this.notice = null;
    try {
      const ack = await this.signal.request(ClientEvent.ACCEPT_CALL, callId ? { call_id: callId } : {});
      this.offer = null;
      this.call = ack.call;
      this.enterCall();
    } catch (error) {
      this.showError(error);
    }
  }

  async decline() {
    const callId = this.offer?.call.call_id;
    if (!callId) return;
    this.offer = null;
    await this.attempt(() => this.signal.request(ClientEvent.DECLINE_CALL, { call_id: callId }));
  }

  async toggleAvailability() {
    const next = this.agent?.state === "available" ? "away" : "available";
    await this.attempt(async () => {
      const ack = await this.signal.request(ClientEvent.SET_AVAILABILITY, { status: next });
      this.agent = ack.agent;
      this.notice = null; // what happened before (a lost call) is dealt with
    });
  }

  enterCall() {
    this.live.bind(this.call.call_id);
    if (this.session && this.session.callId === this.call.call_id) return;
    if (!this._entering) {
      this._entering = this._enterCall().finally(() => {
        this._entering = null;
      });
    }
  }

  async _enterCall() {
    this.end = null;
    if (this.quality.callId !== this.call.call_id) this.quality.clear();
    await enterCall(this);
  }

  showRemoteTrack({ slot, track }) {
    // A supervisor publishes only a microphone; a video of theirs would take the customer's view.
    if (slot.kind !== "audio" && this._isSupervisor(slot.participant_id)) return;
    // Every voice plays (a whispering supervisor's on its own m-line); the meter is the customer's.
    this.views.show({ slot, track });
    const customer = this._customer();
    const theirs = customer
      ? slot.participant_id === customer.participant_id
      : !this._isSupervisor(slot.participant_id);
    if (slot.kind === "audio" && theirs) {
      this.meter.attach(track);
      if (this.meter.suspended) this.soundBlocked = true;
    }
    this.render();
  }

  /** Who monitors call `callId` now (the whole list: it replaces the last). */
  showMonitors(callId, monitors) {
    if (!callId) return;
    this.monitors = { callId, list: Array.isArray(monitors) ? monitors : [] };
    this.render();
  }

  showEnded({ reason, ended_by: endedBy, call }) {
    if (call && this.call && call.call_id !== this.call.call_id) return;
    this.end = { reason, endedBy, call: call ?? this.call, me: this.participantId };
    this._leaveCall();
    this.setPhase("summary");
  }

  /** Let go of the call's media and everything shown of it. */
  _leaveCall() {
    if (this.session) this.session.close();
    this.session = null;
    for (const track of this.localTracks?.values() ?? []) track.stop();
    this.localTracks = null;
    this.views.clear();
    this.meter.detach();
    this.quality.clear();
    this.live.bind(null);
    this.monitors = null;
    this.monitorBanner.clear();
    this.call = null;
    this.participantId = null;
  }

  signOut() {
    if (this.session) this.session.close();
    this.session = null;
    if (this.signal) this.signal.close();
    this.signal = null;
    tokens.clear();
    this.agent = null;
    this.call = null;
    this.offer = null;
    this.quality.clear();
    this.live.bind(null);
    this.monitors = null;
    this.monitorBanner.clear();
    this.setPhase("signin");
  }

  _bindControls() {
    this.bindSignIn((token) => {
      this.clearError();
      tokens.save(token);
      this.connect(token);
    });
    $("availability").addEventListener("click", () => this.toggleAvailability());
    $("accept-next").addEventListener("click", () => this.accept(null));
    $("queue-rows").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-call-id]");
      if (button) this.accept(button.dataset.callId);
    });
    $("ringing-accept").addEventListener("click", () => this.accept(this.offer?.call.call_id));
    $("ringing-decline").addEventListener("click", () => this.decline());
    this.bindCallControls();
    $("hold").addEventListener("click", () => this.hold.toggle());
    $("record").addEventListener("click", () =>
      this.attempt(async () => {
        const verb = this.call?.recording === "paused" ? ClientEvent.RESUME_RECORDING : ClientEvent.PAUSE_RECORDING;
        await this.signal.request(verb, { call_id: this.call.call_id });
      }),
    );
    $("back-to-queue").addEventListener("click", () => {
      this.end = null;
      this.setPhase("queue-panel");
    });
  }

  // -- drawing -----------------------------------------------------------

  render() {
    const error = $("error");
    error.hidden = !this.error;
    error.textContent = this.error ? agentError(this.error) : "";
    const notice = $("notice");
    notice.hidden = !this.notice;
    notice.textContent = this.notice || "";
    this._renderBar();
    this._renderRinging();
    if (this.phase === "queue-panel") this._renderQueue();
    if (this.phase === "incall") this._renderCall();
    if (this.phase === "summary") this._renderSummary();
  }

  _renderBar() {
    $("agent-bar").hidden = !this.signal;
    $("agent-name").textContent = this.name;
    const socketState = $("socket-state");
    socketState.hidden = Boolean(this.signal?.connected);
    socketState.dataset.state = "offline";
    socketState.textContent = CONNECTION_WORDS.offline;
    const state = this.agent?.state || "away";
    const button = $("availability");
    button.dataset.state = state;
    setToggle(button, state !== "away", AGENT_STATE_WORDS[state] || state);
    button.disabled = state === "ringing" || state === "on_call";
    button.title = state === "away" ? "Go available" : "Go away";
  }

  _renderRinging() {
    const ringing = $("ringing");
    ringing.hidden = !this.offer;
    if (!this.offer) return;
    const { call, deadline } = this.offer;
    $("ringing-who").textContent =
      `${call.customer_name} · ${languageWords(call.language, "")} · ${MEDIA_WORDS[call.media] || call.media}`;
    const left = deadline === null ? null : Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
    $("ringing-countdown").textContent = left === null ? "Answer soon" : `Answer within ${left} s`;
  }

  _renderQueue() {
    const elapsed = (performance.now() - this.queueAt) / 1000;
    const calls = this.queue.calls || [];
    $("queue-count").textContent = calls.length ? `(${calls.length})` : "";
    $("queue-empty").hidden = calls.length > 0;
    // Away is not taking calls (the customers waiting are told no agent is): no Accept.
    const away = this.agent?.state === "away";
    const busy = this.agent?.state === "on_call" || away;
    $("accept-next").disabled = busy || !calls.some((c) => !c.offered);
    const longest = calls.length ? `Longest wait ${clock(this.queue.longest_wait_s + elapsed, { twoDigitMinutes: true })}` : "";
    $("queue-summary").textContent = away
      ? `You are Away: set yourself Available to take calls.${longest ? ` ${longest}.` : ""}`
      : longest;
    $("queue-rows").replaceChildren(...calls.map((entry) => queueRow(entry, elapsed, busy)));
  }

  _renderCall() {
    const customer = this._customer();
    $("customer-name").textContent = customer?.name || "";
    $("customer-language").textContent = languageWords(this.call?.language, "");
    $("call-media").textContent = MEDIA_WORDS[this.call?.media] || "";
    this.monitorBanner.set(this._monitors());
    const isVideo = this.call?.media === "video";
    $("voice-avatar").hidden = isVideo;
    $("voice-avatar").textContent = (customer?.name || "?").trim().charAt(0).toUpperCase();
    $("remote-camera-view").hidden = !isVideo;
    $("remote-screen-view").hidden = !customer?.screen_sharing;

    const conn = $("conn-state");
    const state = this.signal?.connected ? this.session?.state || "joining" : "offline";
    conn.dataset.state = state;
    conn.textContent = CONNECTION_WORDS[state] || state;

    const notices = [];
    const recording = this.call?.recording;
    if (recording === "paused") notices.push("Recording is paused. Resume it once the card number or PIN is done.");
    if (this.session?.muted) notices.push("You are muted.");
    if (customer && !customer.connected) notices.push("The customer's connection dropped; waiting for them…");
    else if (customer && !customer.audio_enabled) notices.push("The customer muted their microphone.");
    if (customer && isVideo && !customer.video_enabled) notices.push("The customer's camera is off.");
    // Not a trouble, news: said once in the live region, kept while the screen is shown.
    const news = customer?.screen_sharing ? ["The customer is sharing their screen: it is shown large."] : [];
    $("notices").replaceChildren(
      ...notices.map((text) => Object.assign(document.createElement("li"), { textContent: text })),
      ...news.map((text) => Object.assign(document.createElement("li"), { textContent: text, className: "info" })),
    );
    $("enable-sound").hidden = !this.soundBlocked;

    const session = this.session;
    const muted = Boolean(session?.muted);
    setToggle($("mute"), muted, muted ? "Unmute" : "Mute");
    $("mute").querySelector("use").setAttribute("href", `/static/img/icons.svg#${muted ? "i-mic-off" : "i-mic"}`);
    $("camera").hidden = !this.localTracks?.has("camera");
    setToggle($("camera"), Boolean(session?.cameraOff), session?.cameraOff ? "Camera on" : "Camera off");
    $("share").hidden = !canShareScreen();
    setToggle($("share"), Boolean(session?.sharing), session?.sharing ? "Stop sharing" : "Share screen");
    $("sharing-note").hidden = !session?.sharing;
    const recordable = recording === "recording" || recording === "paused";
    $("record").hidden = !recordable;
    setToggle($("record"), recording === "paused", recording === "paused" ? "Resume recording" : "Pause recording");
    this.hold.render();
    this._tick();
  }

  _renderSummary() {
    const { reason, endedBy, call, me } = this.end || {};
    let words = END_WORDS[reason] || `The call ended (${reason}).`;
    if (reason === "hung_up" && endedBy) words = endedBy === me ? "You hung up." : "The customer hung up.";
    $("summary-reason").textContent = words;
    const talked = call?.answered_at && call?.ended_at ? call.ended_at - call.answered_at : null;
    const customer = call?.participants?.find((p) => p.role === "customer");
    $("summary-detail").textContent = [
      customer ? `Customer: ${customer.name}` : "",
      talked !== null ? `Length: ${clock(talked, { twoDigitMinutes: true })}` : "",
      holdWords(call?.hold),
    ].filter(Boolean).join(" · ");
  }

  _renderMeter() {
    if (this.phase !== "incall") return;
    const level = this.meter.level();
    // RMS of speech sits around 0.01-0.2; a square-root scale makes it visible.
    const width = Math.min(100, Math.sqrt(level) * 180);
    $("level-bar").style.width = `${width}%`;
    $("level-bar").parentElement.setAttribute("aria-valuenow", level.toFixed(3));
  }

  _tick() {
    if (this.phase === "incall") {
      $("call-timer").textContent = clock(secondsSince(this.call?.answered_at), { twoDigitMinutes: true });
      this.hold.tick();
      this._renderRetry();
      this.quality.tick();
      this.live.tick();
    }
    if (this.phase === "queue-panel") this._renderQueue();
    this._renderRinging();
  }

  /** "Reconnecting the audio in 4 s…" while a failed connection waits to be tried again. */
  _renderRetry() {
    const seconds = this.session?.retryInSeconds() ?? null;
    const note = $("media-retry");
    note.hidden = seconds === null;
    const key = this.call?.media === "video" ? "media_retry_video" : "media_retry_audio";
    const text = seconds === null ? "" : tFor("en", key, { seconds });
    if (note.textContent !== text) note.textContent = text;
  }

  _customer() {
    return this.call?.participants?.find((p) => p.role === "customer") ?? null;
  }

  /** Who monitors the current call (an earlier call's list, or one for another call, is not shown). */
  _monitors() {
    const callId = this.call?.call_id;
    return callId && this.monitors?.callId === callId ? this.monitors.list : [];
  }

  /** A supervisor's participant id (monitoring now, or barging in as a participant). */
  _isSupervisor(participantId) {
    if (this._monitors().some((m) => m.participant_id === participantId)) return true;
    const participants = this.call?.participants ?? [];
    return participants.some((p) => p.participant_id === participantId && p.role === "supervisor");
  }

  snapshot() {
    const customer = this._customer();
    return {
      page: "agent",
      phase: this.phase,
      signedIn: Boolean(this.signal),
      socketConnected: Boolean(this.signal?.connected),
      name: this.name,
      agentState: this.agent?.state ?? null,
      autoOffer: this.autoOffer,
      queueLength: this.queue.calls?.length ?? 0,
      offeredCallId: this.offer?.call.call_id ?? null,
      callId: this.call?.call_id ?? null,
      callState: this.call?.state ?? null,
      customerName: customer?.name ?? null,
      customerLanguage: this.call?.language ?? null,
      participantId: this.participantId,
      participants: (this.call?.participants ?? []).map((p) => ({
        participantId: p.participant_id,
        role: p.role,
        name: p.name,
      })),
      monitors: this.monitorBanner.snapshot(),
      connection: this.session?.state ?? null,
      peerState: this.session?.peer?.connectionState ?? null,
      peerId: this.session?.peer?.peerId ?? null,
      joinCount: this.session?.joinCount ?? 0,
      retryInSeconds: this.session?.retryInSeconds() ?? null,
      muted: Boolean(this.session?.muted),
      hold: this.call?.hold ?? null,
      endReason: this.end?.reason ?? null,
      quality: this.quality.snapshot(),
      ...this.live.snapshot(),
      error: this.error ? { code: this.error.code ?? null, message: this.error.message ?? null } : null,
    };
  }
}

function queueRow(entry, elapsed, busy) {
  const { row, cell } = cardRow();
  const cells = [
    ["Customer", entry.customer_name],
    ["Language", languageWords(entry.language, "")],
    ["Media", MEDIA_WORDS[entry.media] || entry.media],
    ["Waiting", clock(entry.waiting_s + elapsed, { twoDigitMinutes: true }) + (entry.offered ? " · ringing" : "")],
  ];
  for (const [label, text] of cells) cell(label).textContent = text;
  const action = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary";
  button.textContent = "Accept";
  button.dataset.callId = entry.call_id;
  button.disabled = busy || entry.offered;
  action.append(button);
  row.append(action);
  return row;
}

// The console's own words for a sign-in that fails; the rest come from i18n.js (whose
// token words speak of a customer's call link).
const SIGN_IN_WORDS = {
  token_missing: "Sign in with your agent token (the link your supervisor gave you).",
  token_expired: "Your sign-in has expired: ask your supervisor for a new link, or sign in again.",
  token_invalid: "This sign-in link is not valid: check that it was copied whole, or ask your supervisor for a new one.",
  token_revoked: "Your sign-in was revoked by an administrator: ask your supervisor for a new link.",
};

/** An error in words, with the server's own (English) explanation when it gave one. */
function agentError(error) {
  if (error?.words) return error.words; // already in words (a failed hold)
  const words = SIGN_IN_WORDS[error?.code] || describeError(error, "en");
  const detail = error.message && !words.includes(error.message) ? ` (${error.message})` : "";
  return words + detail;
}

const agentConsole = new AgentConsole();
exposeForTests({
  remoteAudioLevel: () => agentConsole.meter.level(),
  state: () => agentConsole.snapshot(),
});
agentConsole.start();
