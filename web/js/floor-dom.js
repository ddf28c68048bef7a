// Keeping a list's elements across redraws. The floor is redrawn about once a
// second; replacing its rows each time would throw away the keyboard focus
// (and a screen reader's place) on a row's link. Rows are kept by key, updated
// in place and only moved when the order changes.

/**
 * Make `container`'s children one element per item, in order.
 * @param {HTMLElement} container
 * @param {object[]} items
 * @param {(item: object) => string} keyOf
 * @param {(item: object) => HTMLElement} create a new element for an item never seen
 * @param {(element: HTMLElement, item: object) => void} update draw the item into its element
 */
export function syncList(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  let cursor = container.firstElementChild;
  const kept = new Set();
  for (const item of items) {
    const key = keyOf(item);
    let node = existing.get(key);
    if (!node) {
      node = create(item);
      node.dataset.key = key;
    }
    kept.add(key);
    update(node, item);
    if (node !== cursor) container.insertBefore(node, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const [key, node] of existing) if (!kept.has(key)) node.remove();
}

/** Set a text node's content only when it changed (no needless DOM writes, no re-announcements). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Replace `node`'s children with `build()` only when `signature` (what they show) changed:
 * a link inside keeps the keyboard focus through the floor's once-a-second redraws.
 */
export function drawIfChanged(node, signature, build) {
  const key = typeof signature === "string" ? signature : JSON.stringify(signature);
  if (node.dataset.drawn === key) return;
  node.dataset.drawn = key;
  node.replaceChildren(...build());
}

/**
 * A table row whose cells name their column (`data-label`: a narrow screen draws the row
 * as a card, each value under its name) and keep their ARIA roles, which a card's CSS
 * would otherwise take from screen readers.
 * @returns {{row: HTMLTableRowElement, cell: (label: string, className?: string) => HTMLTableCellElement}}
 */
export function cardRow() {
  const row = document.createElement("tr");
  row.setAttribute("role", "row");
  const cell = (label, className = "") => {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.setAttribute("role", "cell");
    td.dataset.label = label;
    row.append(td);
    return td;
  };
  return { row, cell };
}
