// The floor's queue: every customer waiting for an agent, the longest wait
// first (the server's order), with how long each has waited, counted up
// between snapshots.

import { syncList, setText } from "./floor-dom.js";
import { MEDIA_WORDS, element, languageWords } from "./floor-words.js";
import { clock } from "./ui.js";

export class FloorQueue {
  /**
   * @param {{rows: HTMLElement, empty: HTMLElement, count: HTMLElement, longest: HTMLElement}} elements
   */
  constructor(elements) {
    this.elements = elements;
    this.queue = { calls: [], waiting: 0, longest_wait_s: 0 };
    this.receivedAt = performance.now();
  }

  /** A floor snapshot's `queue`. */
  update(queue) {
    this.queue = queue || { calls: [], waiting: 0, longest_wait_s: 0 };
    this.receivedAt = performance.now();
    const { rows, empty, count } = this.elements;
    const calls = this.queue.calls || [];
    syncList(
      rows,
      calls,
      (entry) => entry.call_id,
      () => {
        const item = element("li", "side-row");
        item.append(element("span", "side-name"), element("span", "side-detail"), element("span", "side-time timer"));
        return item;
      },
      (item, entry) => {
        setText(item.querySelector(".side-name"), entry.customer_name || "A customer");
        const detail = [languageWords(entry.language, ""), MEDIA_WORDS[entry.media], entry.offered ? "ringing an agent" : ""];
        setText(item.querySelector(".side-detail"), detail.filter(Boolean).join(" · "));
        item.dataset.offered = String(Boolean(entry.offered));
      },
    );
    empty.hidden = calls.length > 0;
    setText(count, calls.length ? `(${calls.length})` : "");
    this.tick();
  }

  /** Seconds since the snapshot came. */
  elapsed() {
    return (performance.now() - this.receivedAt) / 1000;
  }

  /** The longest wait now (0 with nobody waiting). */
  longestWait() {
    return this.queue.calls?.length ? (this.queue.longest_wait_s || 0) + this.elapsed() : 0;
  }

  /** Once a second: the waits count up. */
  tick() {
    const elapsed = this.elapsed();
    const calls = this.queue.calls || [];
    for (const item of this.elements.rows.children) {
      const entry = calls.find((c) => c.call_id === item.dataset.key);
      if (entry) {
        const time = item.querySelector(".side-time");
        setText(time, clock((entry.waiting_s || 0) + elapsed));
        time.title = "Waiting for";
      }
    }
    setText(this.elements.longest, calls.length ? `Longest wait ${clock(this.longestWait())}` : "");
  }

  snapshot() {
    return {
      waiting: this.queue.calls?.length ?? 0,
      longestWaitS: Math.floor(this.longestWait()),
      customers: (this.queue.calls || []).map((c) => c.customer_name),
    };
  }
}
