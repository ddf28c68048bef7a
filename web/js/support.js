// The customer's page: call support, wait in line, talk, see the end.
//
// One SupportPage holds the state; render() draws all of it in the current
// language, so switching language redraws every dynamic text too.
//
// While the agent holds the call (call.hold.on) the page says so, in words: the
// customer hears nothing then, and should not think the line went dead.
//
// A supervisor shows here only while they barge in: the server then sends
// them as a participant (participant_updated, role "supervisor") and their
// voice on an m-line of its own, and participant_left when they stop.
// Nothing else of monitoring ever reaches this page.
//
// After a call an agent answered, the ended page asks "How was your call?" once
// (rating-form.js); the question survives a reload until it is answered or declined.

import { CallPage } from "./page.js";
import { enterCall } from "./enter-call.js";
import { createGuestCall, getClientConfig } from "./api.js";
import { ClientEvent, ServerEvent } from "./events.js";
import * as i18n from "./i18n.js";
import { LevelMeter } from "./level-meter.js";
import { canShareScreen, openLocalMedia } from "./local-media.js";
import { RemoteViews } from "./remote-views.js";
import { RatingForm } from "./rating-form.js";
import { openPageSignal } from "./signal.js";
import { TokenStore } from "./token-store.js";
import { $, everySecond, exposeForTests, secondsSince, setToggle } from "./ui.js";

const SECTIONS = ["loading", "start", "choose", "media", "waiting", "incall", "ended", "no-link"];
const tokens = new TokenStore("kotha.customer.token");

class SupportPage extends CallPage {
  constructor() {
    super(SECTIONS, "ended");
    this.guestMode = false;
    // Languages a call may be in (config): beyond the page's own two, the customer chooses.
    this.callLanguages = [...i18n.LANGUAGES];
    this.chosenLanguage = null;
    this.recorded = false; // the server records calls (client-config)
    this.signal = null;
    this.call = null; // the server's call object
    this.queue = null; // the latest queue_position
    this.participantId = null;
    this.end = null; // {reason, endedBy, call}
    this.views = new RemoteViews($("remote-audio"), $("remote-camera"), $("remote-screen"));
    this.meter = new LevelMeter();
    this.rating = new RatingForm(() => this.render());
    this._entering = null;
    this.views.addEventListener("autoplay_blocked", () => {
      this.soundBlocked = true;
      this.render();
    });
  }

  async start() {
    i18n.setLanguage(i18n.preferredLanguage(), { remember: false });
    i18n.onLanguageChange(() => this.render());
    this._bindControls();
    everySecond(() => this._renderTimer());
    const token = tokens.take();
    try {
      const config = await getClientConfig();
      this.guestMode = Boolean(config.guest_mode);
      this.recorded = Boolean(config.recording);
      if (Array.isArray(config.languages) && config.languages.length) this.callLanguages = config.languages;
    } catch (error) {
      this.guestMode = false;
      if (!token) this.showError(error);
    }
    const unrated = token ? null : RatingForm.pending();
    if (token) {
      this.connect(token);
    } else if (unrated) {
      // A reload of the ended page, before the customer answered "How was your call?".
      const call = { call_id: unrated.call_id, answered_at: unrated.answered_at, ended_at: unrated.ended_at };
      const { reason = "hung_up", ended_by: endedBy = null, participant_id: participantId = null } = unrated.context ?? {};
      this.end = { reason, endedBy, call };
      this.participantId = participantId;
      this.rating.offer(call, unrated.token, unrated.context);
      this.setPhase("ended");
    } else {
      this.setPhase(this.guestMode ? "start" : "no-link");
    }
  }

  // -- the socket --------------------------------------------------------

  connect(token) {
    const signal = openPageSignal(this, token, tokens, {
      onRefused: (error) => this._tokenRefused(error),
    });
    signal.on(ServerEvent.QUEUE_POSITION, (queue) => {
      this.queue = queue;
      this.render();
    });
    signal.on(ServerEvent.CALL_UPDATED, ({ call }) => {
      // Back in line (the agent's connection was lost): the old place in line is gone.
      if (call.state === "queued" && this.call?.state === "active") this.queue = null;
      this._callChanged(call);
    });
    signal.on(ServerEvent.PARTICIPANT_UPDATED, ({ call_id: callId, participant }) =>
      this._participantChanged(callId, participant),
    );
    signal.on(ServerEvent.PARTICIPANT_LEFT, ({ call_id: callId, participant_id: participantId }) =>
      this._participantLeft(callId, participantId),
    );
    signal.on(ServerEvent.CALL_ENDED, (ended) => this.showEnded(ended));
  }

  /** After (re)connecting: ask the server where we are, and rejoin an active call. */
  async refresh(first) {
    const state = await this.fetchState();
    if (!state) return;
    this.participantId = state.participant_id;
    this.queue = state.queue ?? this.queue;
    if (!first && this.session && state.call.state === "active") {
      // The socket dropped: offers may have been lost, so start media afresh.
      this.call = state.call;
      this.session.rejoin("socket_reconnected");
      this.enterCall(); // shows the call again if it was taken while we were away
      this.render();
      return;
    }
    this._callChanged(state.call);
  }

  _callChanged(call) {
    if (this.call && this.call.call_id !== call.call_id) return;
    this.call = call;
    if (call.state === "created") {
      if (this.phase === "loading") this.setPhase("start");
    } else if (call.state === "queued" || call.state === "offered") {
      if (this.phase !== "waiting") this.setPhase("waiting");
    } else if (call.state === "active") {
      this.enterCall();
    } else if (call.state === "ended") {
      this.showEnded({ reason: call.end_reason, ended_by: null, call });
    }
    this.render();
  }

  _participantChanged(callId, participant) {
    if (!this.call || (callId && callId !== this.call.call_id)) return;
    const others = this.call.participants.filter((p) => p.participant_id !== participant.participant_id);
    this.call = { ...this.call, participants: [...others, participant] };
    this.render();
  }

  /** A supervisor stopped barging in: they are no longer shown (their m-line stays, silent). */
  _participantLeft(callId, participantId) {
    if (!this.call || callId !== this.call.call_id) return;
    const participants = this.call.participants.filter((p) => p.participant_id !== participantId);
    this.call = { ...this.call, participants };
    this.render();
  }

  _tokenRefused(error) {
    this._dropCall();
    this.signal.close();
    this.signal = null;
    tokens.clear();
    this.setPhase(this.guestMode ? "start" : "no-link");
    this.showError(error);
  }

  // -- the steps ---------------------------------------------------------

  async onCallSupport() {
    this.clearError();
    if (!this.signal) {
      if (!this.guestMode) {
        this.setPhase("no-link");
        this.showError({ code: "guest_off" });
        return;
      }
      const button = $("call-support");
      button.disabled = true;
      try {
        const guest = await createGuestCall({ name: $("name").value.trim(), language: this.callLanguage() });
        tokens.save(guest.token);
        this.connect(guest.token);
        await this.signal.whenConnected();
      } catch (error) {
        this.showError(error);
        return;
      } finally {
        button.disabled = false;
      }
    }
    this.setPhase("choose");
  }

  async onChoose(media) {
    this.clearError();
    this.setPhase("media");
    $("media-text").textContent = i18n.t(media === "video" ? "media_asking_video" : "media_asking");
    try {
      this.localTracks = await openLocalMedia(media, { cameraOptional: true });
    } catch (error) {
      this.showError(error);
      this.setPhase("choose");
      return;
    }
    // A camera that would not open makes it a voice call rather than no call.
    const granted = this.localTracks.has("camera") ? "video" : "audio";
    if (granted !== media) this.showError({ code: "no_device" });
    try {
      const ack = await this.signal.request(ClientEvent.REQUEST_CALL, { media: granted, language: this.callLanguage(), name: $("name").value.trim() });
      this.participantId = ack.participant_id;
      this.queue = ack.queue ?? null;
      this._callChanged(ack.call);
    } catch (error) {
      this._stopLocal();
      this.showError(error);
      this.setPhase("choose");
    }
  }

  async onCancel() {
    await this.attempt(() => this.signal.request(ClientEvent.CANCEL_CALL));
  }

  /** The call is active: open media if a reload lost it, then join. */
  enterCall() {
    if (this.session && this.session.callId === this.call.call_id) {
      // Taken again after the agent's connection was lost: the media never stopped.
      if (this.phase !== "incall") this.setPhase("incall");
      return;
    }
    if (!this._entering) {
      this._entering = this._enterCall().finally(() => {
        this._entering = null;
      });
    }
  }

  async _enterCall() {
    await enterCall(this);
  }

  showRemoteTrack({ slot, track }) {
    // Only the agent's camera and screen take the views; a supervisor sends only their voice.
    const agent = this._agent();
    const fromAgent = !agent || slot.participant_id === agent.participant_id;
    if (slot.kind !== "audio" && !fromAgent) return;
    // Every voice plays on its own; the meter is the agent's.
    this.views.show({ slot, track });
    if (slot.kind === "audio" && fromAgent) this.meter.attach(track);
    this.render();
  }

  showEnded({ reason, ended_by: endedBy, call }) {
    this.end = { reason, endedBy, call: call ?? this.call };
    this.call = call ?? this.call;
    // Only this call's own token may rate it: taken before it is forgotten below.
    const context = { reason, ended_by: endedBy ?? null, participant_id: this.participantId };
    this.rating.offer(this.end.call, tokens.load(), context);
    this._dropCall();
    // The token was for this one call: a new call needs a new token.
    if (this.signal) this.signal.close();
    this.signal = null;
    tokens.clear();
    this.setPhase("ended");
  }

  onCallAgain() {
    this.rating.dismiss();
    this.end = null;
    this.call = null;
    this.queue = null;
    this.onCallSupport();
  }

  // -- controls ----------------------------------------------------------

  _bindControls() {
    for (const button of document.querySelectorAll(".lang-switch button")) {
      button.addEventListener("click", () => i18n.setLanguage(button.dataset.lang));
    }
    $("call-support").addEventListener("click", () => this.onCallSupport());
    $("choose-voice").addEventListener("click", () => this.onChoose("audio"));
    $("choose-video").addEventListener("click", () => this.onChoose("video"));
    $("choose-back").addEventListener("click", () => this.setPhase("start"));
    $("call-language").addEventListener("change", (event) => {
      this.chosenLanguage = event.target.value;
    });
    $("cancel").addEventListener("click", () => this.onCancel());
    this.bindCallControls();
    $("call-again").addEventListener("click", () => this.onCallAgain());
  }

  // -- the call's language -------------------------------------------------

  /** The chosen language of the call; without a choice to make, the page's language. */
  callLanguage() {
    const offered = this.callLanguages;
    if (this.chosenLanguage && offered.includes(this.chosenLanguage)) return this.chosenLanguage;
    return offered.includes(i18n.language()) ? i18n.language() : offered[0];
  }

  _renderCallLanguages() {
    const field = $("call-language-field");
    field.hidden = this.callLanguages.every((code) => i18n.LANGUAGES.includes(code));
    if (field.hidden) return;
    const select = $("call-language");
    const drawn = JSON.stringify([i18n.language(), this.callLanguages]);
    if (select.dataset.drawn !== drawn) {
      select.dataset.drawn = drawn;
      select.replaceChildren(
        ...this.callLanguages.map((code) => {
          const option = document.createElement("option");
          option.value = code;
          option.textContent = i18n.has(`lang_${code}`) ? i18n.t(`lang_${code}`) : code;
          return option;
        }),
      );
    }
    select.value = this.callLanguage();
  }

  // -- drawing -----------------------------------------------------------

  render() {
    for (const button of document.querySelectorAll(".lang-switch button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language()));
    }
    const error = $("error");
    error.hidden = !this.error;
    error.textContent = this.error ? i18n.describeError(this.error) : "";
    // Shown until the call is asked for, so "Back" from the choice can still name the caller.
    $("name-field").hidden = !(this.guestMode && (!this.signal || this.phase === "start"));
    this._renderCallLanguages();
    if (this.phase === "waiting") this._renderQueue();
    if (this.phase === "incall") this._renderCall();
    if (this.phase === "ended") this._renderEnded();
  }

  _renderQueue() {
    const queue = this.queue;
    // Waiting again because the agent's connection was lost: say so, and that they go first.
    const requeued = Boolean(this.call?.requeued_at);
    let place = i18n.t("queue_position_unknown");
    if (requeued && queue?.position === 1) place = i18n.t("requeued_next");
    else if (queue?.position) place = i18n.t(requeued ? "requeued_position" : "queue_position", { position: queue.position });
    $("queue-position").textContent = place;
    let wait = "";
    if (queue && queue.estimated_wait_s === null) wait = i18n.t("wait_no_agent");
    else if (queue && queue.estimated_wait_s === 0) wait = i18n.t("wait_now");
    else if (queue) wait = i18n.t("wait_estimate", { wait: i18n.formatWait(queue.estimated_wait_s) });
    $("queue-wait").textContent = wait;
    $("recording-notice").hidden = !this.recorded;
  }

  _renderCall() {
    const session = this.session;
    const agent = this._agent();
    $("agent-name").textContent = agent?.name || i18n.t("agent_joining");
    $("voice-avatar").textContent = (agent?.name || "?").trim().charAt(0).toUpperCase();
    const isVideo = this.call?.media === "video";
    $("voice-avatar").hidden = isVideo;
    $("remote-camera-view").hidden = !isVideo;
    $("remote-screen-view").hidden = !agent?.screen_sharing;
    this._renderParties();
    this._renderHold();

    const conn = $("conn-state");
    const state = !this.signal?.connected ? "offline" : this._connectionWord(session?.state);
    conn.dataset.state = state;
    conn.textContent = i18n.t(`conn_${state}`);

    const notices = [];
    const recording = this.call?.recording;
    if (recording === "recording") notices.push(i18n.t("recording_notice"));
    else if (recording === "paused") notices.push(i18n.t("recording_paused"));
    if (session?.muted) notices.push(i18n.t("you_are_muted"));
    if (agent && !agent.connected) notices.push(i18n.t("agent_gone"));
    else if (agent && !agent.audio_enabled) notices.push(i18n.t("agent_muted"));
    if (agent && isVideo && !agent.video_enabled) notices.push(i18n.t("agent_camera_off"));
    $("notices").replaceChildren(
      ...notices.map((text) => Object.assign(document.createElement("li"), { textContent: text })),
    );
    $("enable-sound").hidden = !this.soundBlocked;

    const muted = Boolean(session?.muted);
    setToggle($("mute"), muted, i18n.t(muted ? "unmute" : "mute"));
    $("mute").querySelector("use").setAttribute("href", `/static/img/icons.svg#${muted ? "i-mic-off" : "i-mic"}`);
    $("camera").hidden = !this.localTracks?.has("camera");
    setToggle($("camera"), Boolean(session?.cameraOff), i18n.t(session?.cameraOff ? "camera_on" : "camera_off"));
    $("share").hidden = !canShareScreen();
    setToggle($("share"), Boolean(session?.sharing), i18n.t(session?.sharing ? "stop_share" : "share_screen"));
    $("sharing-note").hidden = !session?.sharing;
    this._renderTimer();
  }

  /** "Reconnecting the audio in 4 s…" while a failed connection waits to be tried again. */
  _renderRetry() {
    const seconds = this.session?.retryInSeconds() ?? null;
    const note = $("media-retry");
    note.hidden = seconds === null;
    const key = this.call?.media === "video" ? "media_retry_video" : "media_retry_audio";
    const text = seconds === null ? "" : i18n.t(key, { seconds });
    if (note.textContent !== text) note.textContent = text;
  }

  /** "You are on hold…" while the agent holds the call; written only when it changes (said once). */
  _renderHold() {
    const held = Boolean(this.call?.hold?.on);
    const status = $("hold-status");
    const drawn = held ? i18n.language() : "";
    if (status.dataset.drawn === drawn) return;
    status.dataset.drawn = drawn;
    status.replaceChildren(...(held ? [holdNotice()] : []));
  }

  /** A supervisor who barged in, labelled as one, beside the agent; nothing when there is none. */
  _renderParties() {
    const supervisors = (this.call?.participants ?? []).filter((p) => p.role === "supervisor");
    const drawn = JSON.stringify([i18n.language(), ...supervisors.map((p) => [p.participant_id, p.name])]);
    const list = $("parties");
    if (list.dataset.drawn === drawn) return; // unchanged: do not announce it again
    list.dataset.drawn = drawn;
    list.hidden = supervisors.length === 0;
    list.replaceChildren(...supervisors.map(partyItem));
  }

  _renderTimer() {
    if (this.phase !== "incall") return;
    this._renderRetry();
    $("call-timer").textContent = i18n.formatClock(secondsSince(this.call?.answered_at));
  }

  _renderEnded() {
    const { reason, endedBy, call } = this.end || {};
    let key = `ended_${reason || "hung_up"}`;
    if (reason === "hung_up" && endedBy) {
      key = endedBy === this.participantId ? "ended_hung_up_self" : "ended_hung_up_other";
    }
    $("end-reason").textContent = i18n.t(key);
    const talked = call?.answered_at && call?.ended_at ? call.ended_at - call.answered_at : null;
    $("end-duration").textContent = talked !== null ? i18n.t("call_duration", { duration: i18n.formatClock(talked) }) : "";
    $("call-again").hidden = !this.guestMode;
    // While "How was your call?" is asked, its Send is the one main button.
    $("call-again").classList.toggle("primary", !this.rating.asking);
    $("call-again").classList.toggle("secondary", this.rating.asking);
    $("new-link").hidden = this.guestMode;
    this.rating.render();
  }

  _connectionWord(state) {
    if (state === "connected") return "connected";
    if (state === "reconnecting") return "reconnecting";
    return "connecting";
  }

  _agent() {
    return this.call?.participants?.find((p) => p.role === "agent") ?? null;
  }

  /** Close the peer, stop the microphone and camera, clear the views. */
  _dropCall() {
    if (this.session) this.session.close();
    this.session = null;
    this._stopLocal();
    this.views.clear();
    this.meter.detach();
  }

  _stopLocal() {
    for (const track of this.localTracks?.values() ?? []) track.stop();
    this.localTracks = null;
    $("self-video").srcObject = null;
  }

  /** What the tests (and a curious support engineer in devtools) can read. */
  snapshot() {
    return {
      page: "support",
      phase: this.phase,
      language: i18n.language(),
      socketConnected: Boolean(this.signal?.connected),
      callId: this.call?.call_id ?? null,
      callState: this.call?.state ?? null,
      media: this.call?.media ?? null,
      participantId: this.participantId,
      participants: (this.call?.participants ?? []).map((p) => ({ role: p.role, name: p.name })),
      queue: this.queue,
      connection: this.session?.state ?? null,
      peerState: this.session?.peer?.connectionState ?? null,
      peerId: this.session?.peer?.peerId ?? null,
      joinCount: this.session?.joinCount ?? 0,
      retryInSeconds: this.session?.retryInSeconds() ?? null,
      muted: Boolean(this.session?.muted),
      sharing: Boolean(this.session?.sharing),
      onHold: Boolean(this.call?.hold?.on),
      holdNotice: $("hold-status").textContent,
      endReason: this.end?.reason ?? null,
      rating: this.rating.snapshot(),
      error: this.error ? { code: this.error.code ?? null, message: this.error.message ?? null } : null,
    };
  }
}

/** The on-hold notice: a pause sign and the words, in the page's language. */
function holdNotice() {
  const notice = document.createElement("p");
  notice.className = "hold-notice";
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("class", "icon");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const bars = document.createElementNS("http://www.w3.org/2000/svg", "path");
  bars.setAttribute("fill", "currentColor");
  bars.setAttribute("d", "M6 5h4v14H6zM14 5h4v14h-4z");
  icon.append(bars);
  notice.append(icon, Object.assign(document.createElement("span"), { textContent: i18n.t("on_hold") }));
  return notice;
}

function partyItem(participant) {
  const name = String(participant.name || "").trim();
  const item = document.createElement("li");
  item.className = "party";
  item.dataset.role = participant.role;
  const avatar = document.createElement("span");
  avatar.className = "party-avatar";
  avatar.setAttribute("aria-hidden", "true");
  avatar.textContent = (name || "?").charAt(0).toUpperCase();
  const words = document.createElement("span");
  words.className = "party-words";
  const line = document.createElement("strong");
  line.className = "party-line";
  line.textContent = name ? i18n.t("supervisor_joined", { name }) : i18n.t("supervisor_joined_unnamed");
  const detail = document.createElement("span");
  detail.className = "party-detail";
  detail.textContent = i18n.t("supervisor_hint");
  words.append(line, detail);
  item.append(avatar, words);
  return item;
}

const page = new SupportPage();
exposeForTests({
  remoteAudioLevel: () => page.meter.level(),
  state: () => page.snapshot(),
});
page.start();
