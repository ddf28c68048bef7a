// Where remote tracks are shown: each participant's microphone in its own
// <audio> element, cameras and screen shares in separate <video> views, so a
// screen share never replaces the camera.

/** Events: `autoplay_blocked` {}: sound needs a tap before it can play (see unlock()). */
export class RemoteViews extends EventTarget {
  /**
   * @param {HTMLElement} audioContainer where <audio> elements go (hidden).
   * @param {HTMLVideoElement} cameraVideo
   * @param {HTMLVideoElement} screenVideo
   */
  constructor(audioContainer, cameraVideo, screenVideo) {
    super();
    this.audioContainer = audioContainer;
    this.cameraVideo = cameraVideo;
    this.screenVideo = screenVideo;
    this._audio = new Map(); // "participant/source" -> <audio>
  }

  /** Show one remote track ({slot, track} from CallSession's `track` event). */
  show({ slot, track }) {
    const key = `${slot.participant_id}/${slot.source}`;
    if (slot.kind === "audio") {
      let element = this._audio.get(key);
      if (!element) {
        element = document.createElement("audio");
        element.autoplay = true;
        element.dataset.key = key;
        this.audioContainer.append(element);
        this._audio.set(key, element);
      }
      this._play(element, track);
      return;
    }
    this._play(slot.source === "screen" ? this.screenVideo : this.cameraVideo, track);
  }

  /** Start sound after a user gesture (a tap on the "enable sound" button). */
  async unlock() {
    await Promise.allSettled([...this._audio.values()].map((element) => element.play()));
  }

  clear() {
    for (const element of this._audio.values()) element.remove();
    this._audio.clear();
    for (const video of [this.cameraVideo, this.screenVideo]) video.srcObject = null;
  }

  _play(element, track) {
    element.srcObject = new MediaStream([track]);
    element.play().catch((err) => {
      // NotAllowedError: autoplay with sound needs a user gesture first.
      if (err?.name === "NotAllowedError") this.dispatchEvent(new CustomEvent("autoplay_blocked"));
    });
  }
}
