// The local microphone and camera, and what went wrong getting them, as error codes
// the pages can put in words (i18n "error_<code>").

import { KothaError } from "./errors.js";

// Echo cancellation and noise suppression matter on a phone's speaker.
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
// Modest video: phones on mobile data, and the server forwards without transcoding.
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 30 }, facingMode: "user" };

/**
 * Open the microphone, and the camera for a video call.
 * Returns a Map source -> track ("microphone", "camera").
 * With `cameraOptional`, a video call whose camera cannot be opened goes on with sound only.
 */
export async function openLocalMedia(media, { cameraOptional = false } = {}) {
  if (!navigator.mediaDevices?.getUserMedia || !window.RTCPeerConnection) {
    throw new KothaError({ code: "no_media_support", message: "getUserMedia or RTCPeerConnection missing" });
  }
  const wantVideo = media === "video";
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: wantVideo ? VIDEO : false });
  } catch (err) {
    if (!(wantVideo && cameraOptional)) throw mediaError(err);
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: false });
    } catch (err2) {
      throw mediaError(err2);
    }
  }
  const tracks = new Map();
  const audio = stream.getAudioTracks()[0];
  const video = stream.getVideoTracks()[0];
  if (audio) tracks.set("microphone", audio);
  if (video) tracks.set("camera", video);
  return tracks;
}

/** Whether this browser can share a screen (phones usually cannot). */
export function canShareScreen() {
  return Boolean(navigator.mediaDevices?.getDisplayMedia);
}

/** A getUserMedia/getDisplayMedia DOMException as a KothaError with one of our codes. */
export function mediaError(err) {
  const byName = {
    NotAllowedError: "mic_denied",
    SecurityError: "mic_denied",
    NotFoundError: "no_device",
    OverconstrainedError: "no_device",
    NotReadableError: "device_busy",
    AbortError: "device_busy",
  };
  return new KothaError({ code: byName[err?.name] || "unknown", message: err?.message || String(err) });
}
