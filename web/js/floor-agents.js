// The floor's agents: each one's state in words (available, on a call,
// ringing, away, or offline when their console is not connected), for how
// long, and the call they are on (a link to it).

import { callHref } from "./floor-calls.js";
import { drawIfChanged, syncList, setText } from "./floor-dom.js";
import { AGENT_STATE_WORDS, element, howLong } from "./floor-words.js";

/** An agent's state as the floor shows it: "offline" when their socket is gone. */
export function agentState(agent) {
  if (!agent.connected) return "offline";
  return agent.state in AGENT_STATE_WORDS ? agent.state : "away";
}

export class FloorAgents {
  /** @param {{rows: HTMLElement, empty: HTMLElement, count: HTMLElement}} elements */
  constructor(elements) {
    this.elements = elements;
    this.agents = [];
    this.calls = new Map();
    this.receivedAt = performance.now();
  }

  /** A floor snapshot's `agents`, and its calls (to name whom an agent is talking to). */
  update(agents, calls) {
    this.agents = agents || [];
    this.calls = new Map((calls || []).map((row) => [row.call_id, row]));
    this.receivedAt = performance.now();
    const { rows, empty, count } = this.elements;
    syncList(
      rows,
      this.agents,
      (agent) => agent.subject,
      () => {
        const item = element("li", "side-row agent-row");
        const state = element("span", "agent-state");
        const dot = element("span", "agent-dot");
        dot.setAttribute("aria-hidden", "true");
        state.append(dot, element("span", "agent-state-word"));
        item.append(element("span", "side-name"), state, element("span", "side-detail"), element("span", "side-time"));
        return item;
      },
      (item, agent) => this._draw(item, agent),
    );
    empty.hidden = this.agents.length > 0;
    const online = this.agents.filter((a) => a.connected).length;
    setText(count, this.agents.length ? `(${online} online)` : "");
    this.tick();
  }

  _draw(item, agent) {
    const state = agentState(agent);
    item.dataset.state = state;
    setText(item.querySelector(".side-name"), agent.name || agent.subject);
    setText(item.querySelector(".agent-state-word"), AGENT_STATE_WORDS[state]);
    const detail = item.querySelector(".side-detail");
    const row = agent.call_id ? this.calls.get(agent.call_id) : null;
    const onCall = state === "on_call" && row;
    drawIfChanged(detail, onCall ? [row.call_id, row.customer?.name] : "", () => {
      if (!onCall) return [];
      const link = element("a", "agent-call", `with ${row.customer?.name || "a customer"}`);
      link.href = callHref(row.call_id);
      return [link];
    });
  }

  /** Available agents (connected and available). */
  available() {
    return this.agents.filter((a) => agentState(a) === "available").length;
  }

  online() {
    return this.agents.filter((a) => a.connected).length;
  }

  /** Once a second: "for how long" counts up. */
  tick() {
    const elapsed = (performance.now() - this.receivedAt) / 1000;
    for (const item of this.elements.rows.children) {
      const agent = this.agents.find((a) => a.subject === item.dataset.key);
      if (agent) setText(item.querySelector(".side-time"), `for ${howLong((agent.state_for_s || 0) + elapsed)}`);
    }
  }

  snapshot() {
    return this.agents.map((a) => ({ name: a.name, state: agentState(a), callId: a.call_id ?? null }));
  }
}
