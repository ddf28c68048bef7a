// The server's clock, as the page sees it: every floor snapshot carries the
// server's time, so call durations and waiting times count on the server's
// clock even when the supervisor's computer is a few seconds off.

export class ServerClock {
  constructor() {
    this.offsetS = 0; // server time minus local time, in seconds
  }

  /** A snapshot's `server_time` (Unix s) arrived just now. */
  sync(serverTime) {
    if (typeof serverTime === "number" && Number.isFinite(serverTime)) {
      this.offsetS = serverTime - Date.now() / 1000;
    }
  }

  /** The server's time now (Unix s). */
  now() {
    return Date.now() / 1000 + this.offsetS;
  }

  /** Seconds since a server timestamp (never negative; 0 without one). */
  since(epochSeconds) {
    return typeof epochSeconds === "number" ? Math.max(0, this.now() - epochSeconds) : 0;
  }
}
