// The DOM of the "Shop webhooks" panel (webhooks-panel.js): an endpoint's card and a
// given-up event's row, built empty and then filled from GET /api/webhooks. On a phone
// a row is a card (audit.css); the ARIA roles keep it a table for screen readers.

import { cardRow, setText } from "./floor-dom.js";
import { element } from "./transcript-words.js";
import { formatWhen, relativeWhen } from "./audit-words.js";
import { eventWords, sentence } from "./webhooks-words.js";

/** An endpoint's card, empty: _drawEndpoint fills it. */
export function endpointCard() {
  const card = element("article", "wh-endpoint");
  const head = element("header", "wh-ep-head");
  const title = element("h3", "wh-name");
  // With many nodes each keeps (and shows) the events it made: a card per endpoint and node.
  const node = element("span", "wh-node");
  node.append("on node ", element("code"));
  const chip = element("span", "wh-state");
  head.append(title, node, chip);

  const where = element("p", "wh-where");
  where.append(element("span", "wh-label", "Sends to "), element("code", "wh-url"));

  const status = element("div", "wh-status-box");
  status.append(
    element("p", "wh-headline"),
    element("p", "wh-error"),
    element("p", "wh-next"),
    element("p", "wh-advice"),
  );

  const counts = element("dl", "wh-counts");
  for (const key of ["waiting", "delivered", "given_up", "dropped"]) {
    const box = element("div", "wh-count");
    box.dataset.count = key;
    const dd = element("dd");
    dd.append(element("span", "wh-num"), element("span", "wh-count-detail"));
    box.append(element("dt"), dd);
    counts.append(box);
  }

  const notice = element("p", "wh-notice");
  notice.setAttribute("role", "status");
  notice.tabIndex = -1;
  notice.hidden = true;

  const failed = element("div", "wh-failed");
  const failedHead = element("div", "wh-failed-head");
  const all = element("button", "secondary wh-button wh-retry-all", "Send all again");
  all.type = "button";
  all.dataset.retry = "*";
  failedHead.append(element("h4", "wh-failed-title"), all);
  const table = element("table", "au-table wh-table");
  // The ARIA roles repeat the table's own: on a phone the rows are cards (audit.css).
  table.setAttribute("role", "table");
  const caption = element("caption", "sr-only", "Events given up, newest first");
  const thead = element("thead");
  thead.setAttribute("role", "rowgroup");
  const header = element("tr");
  header.setAttribute("role", "row");
  for (const name of ["Event", "Call", "Given up", "Attempts", "Last error", ""]) {
    const th = element("th", "", name);
    th.scope = "col";
    th.setAttribute("role", "columnheader");
    if (!name) th.append(element("span", "sr-only", "Send again"));
    header.append(th);
  }
  thead.append(header);
  const rows = element("tbody", "wh-rows");
  rows.setAttribute("role", "rowgroup");
  table.append(caption, thead, rows);
  const box = element("div", "au-table-box");
  box.append(table);
  const more = element("button", "link wh-more");
  more.type = "button";
  failed.append(failedHead, element("p", "hint wh-failed-hint"), box, more);

  card.append(head, where, status, counts, element("p", "wh-dropped"), notice, failed);
  return card;
}

/** A given-up event's row, empty: drawFailed fills it. On a phone it is a card. */
export function failedRow() {
  const { row, cell } = cardRow();
  const what = cell("Event", "wh-what");
  const happened = element("span", "wh-happened");
  happened.append("happened ", element("time", "wh-at"), element("span", "au-ago"));
  what.append(element("span", "wh-type-words"), " ", element("code", "wh-type"), " ", happened);
  const call = cell("Call", "wh-call");
  call.append(element("code", "wh-call-id"), " ", element("span", "wh-seq"));
  cell("Given up", "wh-failed-at").append(element("time", "wh-at"), " ", element("span", "au-ago"));
  cell("Attempts", "wh-attempts");
  cell("Last error", "wh-reason");
  const send = element("button", "secondary wh-button wh-retry-one", "Send again");
  send.type = "button";
  cell("", "wh-action").append(send);
  return row;
}

export function drawFailed(row, failed, busy, now) {
  setText(row.querySelector(".wh-type-words"), eventWords(failed.type));
  setText(row.querySelector(".wh-type"), String(failed.type || ""));
  setText(row.querySelector(".wh-call-id"), String(failed.call_id || "—"));
  setText(row.querySelector(".wh-seq"), failed.seq ? `seq ${failed.seq}` : "");
  drawTime(row.querySelector(".wh-happened"), failed.occurred_at, now);
  drawTime(row.querySelector(".wh-failed-at"), failed.failed_at, now);
  const attempts = Number(failed.attempts) || 0;
  setText(row.querySelector(".wh-attempts"), `${attempts.toLocaleString("en-US")} attempt${attempts === 1 ? "" : "s"}`);
  setText(row.querySelector(".wh-reason"), sentence(failed.error));
  const send = row.querySelector(".wh-retry-one");
  send.dataset.retry = failed.event_id;
  send.disabled = Boolean(busy);
  const sending = busy === failed.event_id;
  setText(send, sending ? "Sending…" : "Send again");
  send.setAttribute("aria-label", `${sending ? "Sending" : "Send again"}: ${eventWords(failed.type)}, call ${failed.call_id}`);
}

/** A time in `box`: its <time> the local date and time, its .au-ago how long ago. */
export function drawTime(box, at, now) {
  const time = box.querySelector("time");
  const ago = box.querySelector(".au-ago");
  if (!at) {
    setText(time, "—");
    setText(ago, "");
    return;
  }
  setText(time, formatWhen(at));
  time.dateTime = new Date(at * 1000).toISOString();
  setText(ago, relativeWhen(at, now));
}
