// The call centre's servers (nodes) on the floor: a compact strip, one chip per
// live node, with its calls of its capacity as words and a load bar, how late its
// event loop runs, and "draining" while it shuts down (floor_updated's `nodes`,
// node/floor.py). Shown only when there is more than one node; each call's card
// names its node then too (floor-calls.js).
//
// Every word is from i18n.js (Bengali and English), in the language it is set to.

import { setText, syncList } from "./floor-dom.js";
import { element } from "./floor-words.js";
import { t } from "./i18n.js";

// A node this full (calls of capacity) is "busy"; at capacity it is "full".
const BUSY_SHARE = 0.8;
// A loop this late says the node's one core is busy (the heartbeat measures it).
const SLOW_LAG_MS = 100;

/** A node's load: "ok", "busy", "full" or "draining" (a word and a colour go with each). */
export function nodeLoad(node) {
  if (node.draining) return "draining";
  const capacity = Math.max(1, node.capacity || 0);
  if ((node.calls || 0) >= capacity) return "full";
  return (node.calls || 0) / capacity >= BUSY_SHARE ? "busy" : "ok";
}

/** The share of a node's places taken, 0..100 (a whole number). */
export function loadPercent(node) {
  const capacity = Math.max(1, node.capacity || 0);
  return Math.min(100, Math.round((100 * (node.calls || 0)) / capacity));
}

export class FloorNodes {
  /** @param {{section: HTMLElement, rows: HTMLElement}} elements */
  constructor(elements) {
    this.elements = elements;
    this.nodes = [];
  }

  /** More than one node: the strip and each call's node are worth showing. */
  get many() {
    return this.nodes.length > 1;
  }

  /** A floor snapshot's `nodes` (absent from an older server: none). */
  update(nodes) {
    this.nodes = Array.isArray(nodes) ? nodes : [];
    const { section, rows } = this.elements;
    section.hidden = !this.many;
    section.setAttribute("aria-label", t("floor_nodes_label"));
    setText(section.querySelector(".fn-title"), t("floor_nodes_title"));
    syncList(
      rows,
      this.many ? this.nodes : [],
      (node) => node.node_id,
      () => this._create(),
      (item, node) => this._draw(item, node),
    );
  }

  _create() {
    const item = element("li", "fn-node");
    const bar = element("span", "fn-bar");
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.append(element("span", "fn-fill"));
    item.append(element("span", "fn-name"), bar, element("span", "fn-calls"), element("span", "fn-lag"), element("span", "fn-state"));
    return item;
  }

  _draw(item, node) {
    const load = nodeLoad(node);
    const percent = loadPercent(node);
    item.dataset.load = load;
    setText(item.querySelector(".fn-name"), node.node_id);
    const bar = item.querySelector(".fn-bar");
    bar.setAttribute("aria-valuenow", String(percent));
    bar.setAttribute("aria-valuetext", t("floor_node_load", { percent }));
    bar.setAttribute("aria-label", node.node_id);
    bar.querySelector(".fn-fill").style.width = `${percent}%`;
    setText(item.querySelector(".fn-calls"), t("floor_node_calls", { calls: node.calls ?? 0, capacity: node.capacity ?? 0 }));
    const lag = item.querySelector(".fn-lag");
    const lagMs = Math.round(node.loop_lag_ms || 0);
    lag.dataset.slow = String(lagMs >= SLOW_LAG_MS);
    lag.title = t("floor_node_lag_hint");
    setText(lag, t("floor_node_lag", { ms: lagMs }));
    const state = item.querySelector(".fn-state");
    const said = load === "draining" ? "floor_node_draining" : load === "full" ? "floor_node_full" : "";
    state.hidden = !said;
    state.title = load === "draining" ? t("floor_node_draining_hint") : "";
    setText(state, said ? t(said) : "");
  }

  /** What the tests read (window.kotha.state().floor.nodes). */
  snapshot() {
    return {
      shown: !this.elements.section.hidden,
      nodes: this.nodes.map((n) => ({
        nodeId: n.node_id,
        calls: n.calls,
        capacity: n.capacity,
        draining: Boolean(n.draining),
        load: nodeLoad(n),
      })),
    };
  }
}
