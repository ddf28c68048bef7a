// The replay page's search results (a row per recording, and under it where the words
// were said) and the badges, tags and customer's rating shown with a recording.

import { cardRow } from "./floor-dom.js";
import { snippetNodes } from "./replay-transcript.js";
import { roleWords } from "./timeline.js";
import { clock } from "./ui.js";
import { languageWords } from "./transcript-words.js";
import { DATE_FORMAT, length } from "./replay-words.js";

export function chip(text, className, title = "") {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  if (title) span.title = title;
  return span;
}

// The call's kind as the console and dashboard say it (a voice call stays a voice call when
// someone shares their screen), and what pictures the recording holds beside it.
export function badges({ recovered, media, has_video: hasVideo, sources }) {
  const out = [];
  if (media === "video") out.push(chip("Video", "badge badge-video", "A video call"));
  else if (media) out.push(chip("Voice", "badge", "A voice call"));
  const screen = sources ? sources.includes("screen") : hasVideo && media !== "video";
  if (screen) out.push(chip("Screen shared", "badge badge-video", "Someone shared their screen; the recording has it"));
  if (recovered) {
    out.push(
      chip("Recovered", "badge badge-recovered", "The server stopped during this call; the recording was recovered and may end early"),
    );
  }
  return out;
}

export function resultRow(entry, opening) {
  const { row, cell } = cardRow();
  row.dataset.callId = entry.call_id;
  row.tabIndex = 0;
  const when = entry.started_at ? DATE_FORMAT.format(new Date(entry.started_at * 1000)) : "—";
  const cells = [
    ["When", when],
    ["Length", length(entry.duration_ms)],
    ["Agent", entry.agent_name || "—"],
    ["Customer", entry.customer_name || "—"],
    ["Language", languageWords(entry.language, "—")],
  ];
  for (const [label, text] of cells) cell(label).textContent = text;
  const tags = cell("Tags", "tags-cell");
  const chips = [...badges(entry), ...(entry.tags || []).map((tag) => chip(tag, "tag"))];
  tags.dataset.empty = String(chips.length === 0);
  const box = document.createElement("div");
  box.className = "badges";
  box.append(...chips);
  tags.append(box);
  const action = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary";
  button.textContent = opening === entry.call_id ? "Opening…" : "Play";
  button.disabled = Boolean(opening);
  button.setAttribute("aria-label", `Play the call of ${entry.customer_name || "the customer"} with ${entry.agent_name || "the agent"}, ${when}`);
  action.append(button);
  row.append(action);
  return row;
}

/**
 * Where a words search matched in a recording (`matches` of the result): a row under it with
 * one button per match (time, speaker, the words around it) that plays from there. None
 * without matches.
 */
export function matchesRow(entry, opening) {
  const matches = (entry.matches || []).filter((m) => m && typeof m.snippet === "string");
  if (!matches.length) return [];
  const row = document.createElement("tr");
  row.className = "rt-matches-row";
  const cell = document.createElement("td");
  cell.colSpan = 7;
  const list = document.createElement("ul");
  list.className = "rt-matches";
  list.setAttribute("aria-label", `Where the words were said in the call of ${entry.customer_name || "the customer"}`);
  for (const match of matches) {
    const t = Math.max(0, Number(match.t_ms) || 0) / 1000;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "rt-match";
    button.dataset.callId = entry.call_id;
    button.dataset.t = String(t);
    button.disabled = Boolean(opening);
    button.title = `Play from ${clock(t)}`;
    const time = document.createElement("span");
    time.className = "rt-match-time";
    time.textContent = clock(t);
    const who = document.createElement("span");
    who.className = "rt-match-who";
    who.textContent = roleWords(match.role);
    const snippet = document.createElement("span");
    snippet.className = "rt-snippet";
    snippet.append(...snippetNodes(match.snippet));
    button.append(time, who, snippet);
    const item = document.createElement("li");
    item.append(button);
    list.append(item);
  }
  cell.append(list);
  row.append(cell);
  return [row];
}

/** The customer's rating after the call: stars, the score in words, their comment. */
export function renderRating(element, rating) {
  element.hidden = !rating;
  if (!rating) {
    element.replaceChildren();
    return;
  }
  const score = Math.min(5, Math.max(1, Math.round(rating.score)));
  const stars = document.createElement("span");
  stars.className = "p-rating-stars";
  stars.setAttribute("aria-hidden", "true");
  stars.textContent = "★".repeat(score) + "☆".repeat(5 - score);
  const words = document.createElement("strong");
  words.textContent = `Customer rated the call ${score} of 5`;
  const parts = [stars, " ", words];
  if (rating.comment) {
    const comment = document.createElement("q");
    comment.textContent = rating.comment;
    parts.push(": ", comment);
  }
  element.replaceChildren(...parts);
}
