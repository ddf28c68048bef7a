// Reading something from the server again and again while the page is visible: a hidden
// tab asks for nothing and asks at once when it shows again; a read asked for while one is
// on its way runs once more after it (what is on its way may predate the reason to ask);
// stopping drops a reply still on its way. The dashboard's floor figures and the audit
// page's webhooks panel read this way.

export class Poller {
  /**
   * @param {number} everyMs the time between reads while the page is visible
   * @param {object} handlers
   * @param {() => Promise<any>} handlers.read asks the server
   * @param {(value: any) => void} handlers.onRead what came back (not called once stopped)
   * @param {(error: Error) => void} handlers.onError why nothing came (not called once stopped;
   *   it may stop the poller, as a refused token does)
   * @param {() => void} [handlers.onChange] a read started or ended (a page redraws)
   */
  constructor(everyMs, { read, onRead, onError, onChange = () => {} }) {
    this.everyMs = everyMs;
    this.running = false;
    this.inFlight = false;
    this._read = read;
    this._onRead = onRead;
    this._onError = onError;
    this._onChange = onChange;
    this._timer = null;
    this._again = false;
    this._generation = 0;
    this._onVisibility = () => this._visibilityChanged();
  }

  /** Start reading (signed in); safe to call again. */
  start() {
    if (this.running) return;
    this.running = true;
    document.addEventListener("visibilitychange", this._onVisibility);
    if (!document.hidden) this.now();
  }

  /** Stop reading (signed out): nothing more is asked, a reply still on its way is dropped. */
  stop() {
    this.running = false;
    this._generation += 1;
    clearTimeout(this._timer);
    this._timer = null;
    this.inFlight = false;
    this._again = false;
    document.removeEventListener("visibilitychange", this._onVisibility);
  }

  /** Read now (after what the user did); the timer starts again from its reply. */
  async now() {
    clearTimeout(this._timer);
    this._timer = null;
    if (!this.running) return;
    if (this.inFlight) {
      this._again = true;
      return;
    }
    const generation = this._generation;
    this.inFlight = true;
    this._onChange();
    try {
      const value = await this._read();
      if (generation !== this._generation) return;
      this._onRead(value);
    } catch (error) {
      if (generation !== this._generation) return;
      this._onError(error);
    } finally {
      if (generation === this._generation) {
        this.inFlight = false;
        this._onChange();
        if (this._again) {
          this._again = false;
          this.now();
        } else if (!document.hidden) {
          this._timer = setTimeout(() => this.now(), this.everyMs);
        }
      }
    }
  }

  _visibilityChanged() {
    if (!this.running) return;
    if (document.hidden) {
      clearTimeout(this._timer);
      this._timer = null;
    } else if (!this.inFlight && !this._timer) {
      this.now(); // back in view: read now, not after up to everyMs
    }
  }
}
