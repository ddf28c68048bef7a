// Entering a call, the same on both pages: open the microphone (and camera),
// start a CallSession and wire its events to the page. The page supplies how
// it draws: setPhase, render, showError/clearError, showSelf, showRemoteTrack,
// refresh, and (the agent console) showMonitors.

import { CallSession } from "./call.js";
import { openLocalMedia } from "./local-media.js";

/**
 * @param {object} page the customer page or the agent console
 * @returns {Promise<void>} resolves once the first join was sent
 */
export async function enterCall(page) {
  page.setPhase("incall");
  if (!page.localTracks) {
    let tracks;
    try {
      tracks = await openLocalMedia(page.call.media, { cameraOptional: true });
    } catch (error) {
      // Join anyway: hearing the other side is better than nothing.
      page.showError(error);
      tracks = new Map();
    }
    if (page.phase !== "incall") {
      // The call ended while the browser asked for the microphone.
      for (const track of tracks.values()) track.stop();
      return;
    }
    page.localTracks = tracks;
  }
  const session = new CallSession(page.signal, page.call.call_id, page.localTracks);
  page.session = session;
  session.addEventListener("state", () => {
    // A join that failed and then succeeded is no longer worth reading about.
    if (session.state === "connected" && page.error?.fromSession) page.clearError();
    page.render();
  });
  session.addEventListener("local", () => page.render());
  session.addEventListener("retry", () => page.render());
  session.addEventListener("joined", (e) => {
    page.participantId = e.detail.participantId;
    page.call = e.detail.call;
    // The agent's ack says who monitors the call (supervisors listening, whispering, barging).
    if (e.detail.monitors && page.showMonitors) page.showMonitors(e.detail.call.call_id, e.detail.monitors);
    page.render();
  });
  session.addEventListener("track", (e) => page.showRemoteTrack(e.detail));
  session.addEventListener("error", (e) => {
    const { code, message } = e.detail.error;
    page.showError({ code, message, fromSession: true });
  });
  session.addEventListener("join_refused", () => page.refresh(true));
  page.showSelf();
  page.render();
  await session.join();
}
