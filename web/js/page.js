// What every page does the same way (Page: phases, an error shown in words), and
// what the customer page and the agent console share on top (CallPage: user
// actions that may fail, and the in-call buttons). Each page supplies render().

import { isTokenRefusal } from "./errors.js";
import { $, showOnly } from "./ui.js";
import { ClientEvent } from "./events.js";

/** A page of sections shown one at a time (its phases), and the error it shows in words. */
export class Page {
  /** @param {string[]} sections ids of the page's sections, one shown at a time */
  constructor(sections) {
    this.sections = sections;
    this.phase = "loading";
    this.error = null;
  }

  setPhase(phase) {
    this.phase = phase;
    showOnly(this.sections, phase);
    this.render();
  }

  showError(error) {
    this.error = error;
    this.render();
  }

  clearError() {
    this.error = null;
    this.render();
  }

  /** The sign-in form hands a pasted token to `onToken`; "Sign out" calls signOut(). */
  bindSignIn(onToken) {
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("token-input");
      const token = input.value.trim();
      if (!token) return;
      input.value = "";
      onToken(token);
    });
    $("sign-out").addEventListener("click", () => this.signOut());
  }

  /** A refused token (expired, revoked, wrong role) ends the session: back to the sign-in
   * form, with the reason. False: the error was something else, for the caller to say. */
  signOutIfRefused(error) {
    if (!isTokenRefusal(error)) return false;
    this.signOut();
    this.showError(error);
    return true;
  }
}

export class CallPage extends Page {
  /**
   * @param {string[]} sections ids of the page's sections, one shown at a time
   * @param {string} endedPhase the phase shown after a call ends
   */
  constructor(sections, endedPhase) {
    super(sections);
    this.endedPhase = endedPhase;
    this.session = null; // CallSession while in a call
    this.soundBlocked = false;
    this.localTracks = null; // Map source -> MediaStreamTrack
  }

  /** Run a user action; show its error in words. */
  async attempt(action, fallbackCode) {
    this.clearError();
    try {
      await action();
    } catch (error) {
      // An answer that lost the race with the end of the call (hang_up's ack
      // comes after call_ended) is moot.
      if (this.phase === this.endedPhase) return;
      // getDisplayMedia's own errors (the user closed the picker) have no code of ours.
      if (error?.name === "NotAllowedError" && fallbackCode) return;
      this.showError(error?.code ? error : { code: fallbackCode || "unknown", message: String(error) });
    }
  }

  /** The server's view of us (get_state) after (re)connecting; null, with the error shown, if it fails. */
  async fetchState() {
    if (this.error?.code === "network") this.clearError();
    try {
      return await this.signal.request(ClientEvent.GET_STATE);
    } catch (error) {
      this.showError(error);
      return null;
    }
  }

  /** Mute, camera, screen share, hang up and "enable sound", the same on both pages. */
  bindCallControls() {
    $("mute").addEventListener("click", () => this.attempt(() => this.session?.setMuted(!this.session.muted)));
    $("camera").addEventListener("click", () =>
      this.attempt(() => this.session?.setCameraOff(!this.session.cameraOff)),
    );
    $("share").addEventListener("click", () =>
      this.attempt(async () => {
        if (!this.session) return;
        if (this.session.sharing) await this.session.stopScreenShare();
        else await this.session.startScreenShare();
      }, "share_failed"),
    );
    $("hangup").addEventListener("click", () => this.attempt(() => this.session?.hangUp()));
    $("enable-sound").addEventListener("click", async () => {
      await Promise.allSettled([this.views.unlock(), this.meter.resume()]);
      this.soundBlocked = false;
      this.render();
    });
    // Browsers start an AudioContext suspended without a user gesture (after a reload).
    document.addEventListener("pointerdown", () => this.meter.resume());
  }

  /** The participant's own camera, small, beside the remote views. */
  showSelf() {
    const camera = this.localTracks?.get("camera");
    $("self-view").hidden = !camera;
    if (camera) {
      const video = $("self-video");
      video.srcObject = new MediaStream([camera]);
      video.play().catch(() => {});
    }
  }
}
