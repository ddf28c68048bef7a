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

/**
 * A duration for people: m:ss, or h:mm:ss past an hour. `twoDigitMinutes` gives mm:ss,
 * as the agent console's running call clock and live transcript show it.
 */
export function clock(seconds, { twoDigitMinutes = false } = {}) {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const pad = (v) => String(v).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h || twoDigitMinutes ? `${h ? `${h}:` : ""}${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/**
 * Expose `hooks` as `window.kotha` (what the browser tests read: `window.kotha.state()`),
 * only where the server asked for it: `page_test_hooks` puts a meta tag in the page.
 */
export function exposeForTests(hooks) {
  if (document.querySelector('meta[name="kotha-test-hooks"]')?.content === "on") window.kotha = hooks;
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

/**
 * Click or drag on any `stripSelector` element inside `container` seeks: `onSeek(seconds)`
 * with the fraction of the strip's width times `duration()` (null: nothing to seek in).
 */
export function seekOnStrips(container, stripSelector, duration, onSeek) {
  let dragging = false;
  const seekTo = (event) => {
    const strip = event.target.closest?.(stripSelector) ?? container.querySelector(stripSelector);
    const total = duration();
    if (!strip || !total) return;
    const rect = strip.getBoundingClientRect();
    if (rect.width <= 0) return;
    onSeek(Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)) * total);
  };
  container.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !event.target.closest?.(stripSelector)) return;
    dragging = true;
    container.setPointerCapture?.(event.pointerId);
    seekTo(event);
    event.preventDefault();
  });
  container.addEventListener("pointermove", (event) => {
    if (dragging) seekTo(event);
  });
  const stop = () => {
    dragging = false;
  };
  container.addEventListener("pointerup", stop);
  container.addEventListener("pointercancel", stop);
}
