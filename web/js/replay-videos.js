// The video streams of a recording (cameras, shared screens), each in its own
// muted <video>, kept in step with the <audio> element that plays the mixed
// voices: the audio is the clock, every video follows it.
//
// A stream starts `first_ms` after the recording did. Its file keeps the
// recording's timestamps, and browsers may differ in what they make of that:
// Chromium's <video> time is the file's time (a stream that starts at 3 s
// and lasts 3 s plays from currentTime 3 to a duration of 6), a browser that
// starts every file at 0 would report a duration of 3. The duration tells
// which (the element's position does not: Chromium reports 0 at first, then
// moves to the first frame). A video more than DRIFT_S away from where the
// audio is gets moved.

import { roleWords } from "./timeline.js";
import { clock } from "./ui.js";

const DRIFT_S = 0.3;
const SOURCE_WORDS = { camera: "camera", screen: "screen" };

export class VideoSync {
  /**
   * @param {HTMLElement} container where the videos go (hidden when there are none)
   * @param {HTMLMediaElement} audio the clock
   */
  constructor(container, audio) {
    this.container = container;
    this.audio = audio;
    this.views = [];
    this.corrections = 0; // how often a video was moved back in step (for tests and curiosity)
  }

  /** Show the recording's video streams: [{role, source, first_ms, last_ms, url}]. */
  load(streams) {
    this.clear();
    for (const stream of streams) {
      const figure = document.createElement("figure");
      figure.className = "view";
      figure.dataset.source = stream.source || "";
      if (stream.source === "screen") figure.classList.add("screen");
      const video = document.createElement("video");
      video.muted = true;
      video.playsInline = true;
      video.preload = "auto";
      video.src = stream.url;
      const caption = document.createElement("figcaption");
      const label = `${roleWords(stream.role)} ${SOURCE_WORDS[stream.source] || "video"}`;
      caption.textContent = label;
      figure.append(video, caption);
      this.container.append(figure);
      const offset = Math.max(0, (stream.first_ms ?? 0) / 1000);
      const length = Math.max(0, ((stream.last_ms ?? stream.first_ms ?? 0) - (stream.first_ms ?? 0)) / 1000);
      // shift: recording time minus element time (null until the metadata is in).
      const view = { stream, figure, video, caption, label, offset, length, state: "", shift: null };
      const settle = () => {
        if (view.shift === null) view.shift = timelineShift(video, offset, length);
        this.syncOne(view);
      };
      video.addEventListener("loadedmetadata", settle);
      video.addEventListener("canplay", settle);
      this.views.push(view);
    }
    this.container.hidden = this.views.length === 0;
    this.sync();
  }

  /** Swap in fresh signed URLs (the old ones expired), keeping each video's place. */
  refreshUrls(streams) {
    this.views.forEach((view, n) => {
      const url = streams[n]?.url;
      if (url) view.video.src = url; // the same file: its shift stays; loadedmetadata syncs it
    });
  }

  clear() {
    for (const view of this.views) {
      view.video.pause();
      view.video.removeAttribute("src");
      view.video.load();
    }
    this.views = [];
    this.container.replaceChildren();
    this.container.hidden = true;
  }

  /** Bring every video in step with the audio. Call on play, pause, seek and every frame while playing. */
  sync() {
    for (const view of this.views) this.syncOne(view);
  }

  syncOne(view) {
    const { video, offset, length, shift } = view;
    if (shift === null) return; // not loaded yet: its loadedmetadata syncs it
    const now = this.audio.currentTime; // recording time
    const target = now - shift; // the same moment on the element's timeline
    const playing = !this.audio.paused && !this.audio.ended;
    let state;
    if (now < offset - DRIFT_S) {
      state = "before";
      this._hold(video, offset - shift);
    } else if (length > 0 && now > offset + length + DRIFT_S) {
      state = "after";
      this._hold(video, offset + length - shift);
    } else {
      state = "live";
      if (video.playbackRate !== this.audio.playbackRate) video.playbackRate = this.audio.playbackRate;
      if (!video.seeking && video.readyState >= 1 && Math.abs(video.currentTime - target) > DRIFT_S) {
        video.currentTime = target;
        this.corrections += 1;
      }
      if (playing && video.paused) video.play().catch(() => {});
      else if (!playing && !video.paused) video.pause();
    }
    if (state !== view.state) {
      view.state = state;
      view.figure.dataset.state = state;
      // A camera whose first picture came in the call's first second (its first keyframe
      // can take that long on a busy line) starts with the call: "starts at 0:00" says nothing.
      const later = state === "before" && offset >= 1;
      view.caption.textContent = later
        ? `${view.label} (starts at ${clock(offset)})`
        : state === "after"
          ? `${view.label} (ended)`
          : view.label;
    }
  }

  _hold(video, at) {
    if (!video.paused) video.pause();
    if (!video.seeking && video.readyState >= 1 && Math.abs(video.currentTime - at) > DRIFT_S) video.currentTime = at;
  }

  snapshot() {
    return this.views.map((v) => ({
      label: v.label,
      state: v.state,
      currentTime: v.video.currentTime,
      offset: v.offset,
      shift: v.shift,
      // where the video is, in recording time, minus where the audio is
      lag: v.shift === null ? null : v.video.currentTime + v.shift - this.audio.currentTime,
      paused: v.video.paused,
      ready: v.video.readyState,
    }));
  }
}

/**
 * Recording time minus the element's time: 0 when the element plays the file's own
 * timestamps (its duration is where the stream ends), `offset` when it starts the
 * file at 0 (its duration is the stream's length); null while that is unknown.
 */
function timelineShift(video, offset, length) {
  const duration = video.duration;
  if (Number.isFinite(duration) && duration > 0) {
    return Math.abs(duration - (offset + length)) <= Math.abs(duration - length) ? 0 : offset;
  }
  // No duration in the file (a stream cut off by a crash): by then the position is settled.
  if (video.readyState >= 3) return video.currentTime > offset / 2 ? 0 : offset;
  return null;
}
