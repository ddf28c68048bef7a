// The agent's Hold / Resume call button and the amber bar that says the customer is on hold
// and for how long ("On hold 0:42", and "Held 3 times, 2:05 in all" after earlier holds):
// it asks the server and says a refusal in words. The call's hold is the server's
// (call.hold, from call_updated); this control only draws it and asks to change it.

import { ClientEvent } from "./events.js";
import { HOLD_SAID, HOLD_STILL, holdError } from "./hold-words.js";
import { $, clock, secondsSince, setToggle } from "./ui.js";

export class HoldControl {
  /** @param {object} page the agent console: its call, signal, phase, render and errors */
  constructor(page) {
    this.page = page;
    this.busy = false; // a hold or resume asked for, not answered yet
  }

  /** Put the customer on hold, or take them off it (the button says which). */
  async toggle() {
    const page = this.page;
    const call = page.call;
    if (!call || this.busy || !page.signal) return;
    const holding = !call.hold?.on;
    this.busy = true;
    page.clearError();
    try {
      const ack = await page.signal.request(holding ? ClientEvent.HOLD_CALL : ClientEvent.RESUME_CALL, {
        call_id: call.call_id,
      });
      // call_updated says the same, and came first; the ack is kept in case it did not.
      if (ack?.hold && page.call?.call_id === call.call_id) page.call = { ...page.call, hold: ack.hold };
    } catch (error) {
      if (page.phase !== "incall" || page.call?.call_id !== call.call_id) return; // the call ended meanwhile
      if (error?.code === "call_state") {
        // Refused because the call is not as this page thought: draw it as the server has it.
        const state = await page.signal.request(ClientEvent.GET_STATE).catch(() => null);
        if (state?.call?.call_id === call.call_id && page.call?.call_id === call.call_id) page.call = state.call;
      }
      page.showError(holdError(error, holding));
    } finally {
      this.busy = false;
      page.render();
    }
  }

  render() {
    const call = this.page.call;
    const held = Boolean(call?.hold?.on);
    const hold = $("hold");
    setToggle(hold, held, held ? "Resume call" : "Hold");
    // Only a live call is held, and only with the server there to ask.
    hold.disabled = call?.state !== "active" || !this.page.signal?.connected || this.busy;
    hold.title = held ? "Take the customer off hold" : "Put the customer on hold";
    const bar = $("hold-bar");
    bar.dataset.on = String(held);
    bar.classList.toggle("sr-only", !held);
    const said = $("hold-said");
    const words = held ? `${HOLD_SAID[call?.media] || HOLD_SAID.video} ${HOLD_STILL}` : "";
    if (said.textContent !== words) said.textContent = words;
  }

  /** The timer, each second. */
  tick() {
    const hold = this.page.call?.hold;
    const timer = $("hold-timer");
    const total = $("hold-total");
    if (!hold?.on) {
      timer.textContent = "";
      total.textContent = "";
      return;
    }
    const now = secondsSince(hold.since);
    timer.textContent = `On hold ${clock(now)}`;
    total.textContent = hold.count > 1 ? `Held ${hold.count} times, ${clock((hold.total_s || 0) + now)} in all` : "";
  }
}
