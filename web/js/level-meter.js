// How loud a (remote) audio stream is right now: RMS of the last ~100 ms,
// from a WebAudio AnalyserNode. The agent console shows it as a bar, and the
// end-to-end test reads it through window.kotha.remoteAudioLevel().

export class LevelMeter {
  constructor() {
    this._context = null;
    this._source = null;
    this._analyser = null;
    this._samples = null;
    this._track = null;
  }

  /** Measure `track` (an audio MediaStreamTrack), replacing any earlier one. */
  attach(track) {
    if (track === this._track) return;
    this.detach();
    this._track = track;
    const context = this._ensureContext();
    if (!context) return;
    // Chromium only feeds a remote WebRTC track to WebAudio while the track
    // also plays in a media element: the page plays it in an <audio> element.
    this._source = context.createMediaStreamSource(new MediaStream([track]));
    this._analyser = context.createAnalyser();
    // A power of two of about 100 ms at the context's rate (4096 at 44.1/48 kHz).
    this._analyser.fftSize = 2 ** Math.round(Math.log2(context.sampleRate * 0.1));
    this._samples = new Float32Array(this._analyser.fftSize);
    // An AnalyserNode needs no output: it is pulled without being connected to
    // the destination, and connecting it would play the audio twice.
    this._source.connect(this._analyser);
  }

  detach() {
    if (this._source) this._source.disconnect();
    this._source = null;
    this._analyser = null;
    this._track = null;
  }

  /** RMS of the last ~100 ms, 0..1 (0 with nothing attached). */
  level() {
    if (!this._analyser) return 0;
    this._analyser.getFloatTimeDomainData(this._samples);
    let sum = 0;
    for (const sample of this._samples) sum += sample * sample;
    return Math.sqrt(sum / this._samples.length);
  }

  /** Resume the context after a user gesture (browsers start it suspended without one). */
  resume() {
    if (this._context && this._context.state === "suspended") return this._context.resume();
    return Promise.resolve();
  }

  get suspended() {
    return this._context?.state === "suspended";
  }

  _ensureContext() {
    if (!this._context) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      this._context = new Context();
    }
    return this._context;
  }
}
