// Small DOM helpers shared by the pages.

export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no element #${id}`);
  return element;
}

/** Show the section `id` of `ids` and hide the others. */
export function showOnly(ids, id) {
  for (const other of ids) $(other).hidden = other !== id;
}

/** Seconds since a server timestamp (epoch seconds); clocks can differ a little, so never negative. */
export function secondsSince(epochSeconds) {
  return epochSeconds ? Math.max(0, Date.now() / 1000 - epochSeconds) : 0;
}

/** Set a toggle button's pressed state and label. */
export function setToggle(button, pressed, label) {
  button.setAttribute("aria-pressed", String(pressed));
  const text = button.querySelector(".label");
  (text || button).textContent = label;
}

/** Run `fn` every second; returns a function that stops it. */
export function everySecond(fn) {
  const timer = setInterval(fn, 1000);
  return () => clearInterval(timer);
}
