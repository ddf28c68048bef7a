// The agent console's monitoring banner: which supervisors monitor the
// agent's call and how, always in view while they do (node/monitoring.py).
//
// - listen: "Sumi (supervisor) is listening": nobody hears them.
// - whisper: "... is whispering to you — the customer cannot hear".
// - barge: "... has joined the call — the customer hears them".
//
// The server says who monitors in the `monitors` of get_state and of the
// join_call ack, and again in every `monitor_updated`; each list replaces the
// one before. The mode is a word in a badge as well as a colour. Names go in
// with textContent, never as markup. The customer's page never shows any of this.

const MODE_WORDS = {
  listen: {
    badge: "Listening",
    line: (name) => `${name} (supervisor) is listening`,
    detail: "Nobody hears them. The customer is not told.",
  },
  whisper: {
    badge: "Whispering",
    line: (name) => `${name} (supervisor) is whispering to you — the customer cannot hear`,
    detail: "Only you hear them.",
  },
  barge: {
    badge: "In the call",
    line: (name) => `${name} (supervisor) has joined the call — the customer hears them`,
    detail: "The customer sees that a supervisor joined.",
  },
};

export class MonitorBanner {
  /** @param {HTMLElement} root the banner's list (agent.html #monitors) */
  constructor(root) {
    this.root = root;
    this.monitors = []; // [{participant_id, name, mode, ...}] as the server sent them
    this._drawn = ""; // what the list shows now, so a page redraw does not re-announce it
  }

  /** Show this list of monitors (a `monitor_updated`'s `monitors`): it replaces the last one. */
  set(monitors) {
    this.monitors = Array.isArray(monitors) ? monitors.filter((m) => m && MODE_WORDS[m.mode]) : [];
    const drawn = JSON.stringify(this.monitors.map((m) => [m.participant_id, m.name, m.mode]));
    if (drawn === this._drawn) return;
    this._drawn = drawn;
    this._draw();
  }

  clear() {
    this.set([]);
  }

  /** What the tests read: who monitors and how. */
  snapshot() {
    return this.monitors.map((m) => ({ participantId: m.participant_id, name: m.name, mode: m.mode }));
  }

  _draw() {
    this.root.hidden = this.monitors.length === 0;
    this.root.replaceChildren(...this.monitors.map(monitorItem));
  }
}

function monitorItem(monitor) {
  const words = MODE_WORDS[monitor.mode];
  const name = String(monitor.name || "").trim() || "A supervisor";
  const item = document.createElement("li");
  item.className = "monitor";
  item.dataset.mode = monitor.mode;
  item.dataset.participantId = monitor.participant_id || "";
  const badge = document.createElement("span");
  badge.className = "monitor-mode";
  badge.textContent = words.badge;
  const line = document.createElement("strong");
  line.className = "monitor-line";
  line.textContent = words.line(name);
  const detail = document.createElement("span");
  detail.className = "monitor-detail";
  detail.textContent = words.detail;
  item.append(badge, line, detail);
  return item;
}
