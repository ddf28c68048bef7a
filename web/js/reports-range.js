// Days for the reports page, in the call centre's time zone (the API's `timezone`):
// "today" is the centre's today, whatever the reviewer's computer says, and the
// quick ranges (today, yesterday, the last 7 days, this month) are its days too.
// Days are "YYYY-MM-DD" strings; their arithmetic is done on UTC dates, where
// every day is 24 hours long.

export const DAY = /^\d{4}-\d{2}-\d{2}$/;

export const QUICK_RANGES = {
  today: (today) => ({ since: today, until: today }),
  yesterday: (today) => ({ since: addDays(today, -1), until: addDays(today, -1) }),
  last_7_days: (today) => ({ since: addDays(today, -6), until: today }),
  this_month: (today) => ({ since: `${today.slice(0, 8)}01`, until: today }),
};

/** The day it is in `zone` (an IANA name) at `at`; the computer's own day if the zone is unknown. */
export function dayIn(zone, at = new Date()) {
  try {
    // en-CA writes dates as YYYY-MM-DD.
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone || undefined, year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
  } catch {
    return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
  }
}

/** `day` moved by `n` days. */
export function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Which quick range `since..until` is (as of `today`), or null. */
export function quickRangeOf(since, until, today) {
  for (const [name, range] of Object.entries(QUICK_RANGES)) {
    const r = range(today);
    if (r.since === since && r.until === until) return name;
  }
  return null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "5 Mar" (with the year when asked: "5 Mar 2026"). */
export function shortDay(day, { year = false, weekday = false } = {}) {
  const [y, m, d] = day.split("-").map(Number);
  const week = weekday ? `${WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]} ` : "";
  return `${week}${d} ${MONTHS[m - 1]}${year ? ` ${y}` : ""}`;
}

/** A range in words: "Thu 5 Mar 2026", "1 Mar – 7 Mar 2026". */
export function rangeWords(since, until) {
  if (since === until) return shortDay(since, { year: true, weekday: true });
  const sameYear = since.slice(0, 4) === until.slice(0, 4);
  return `${shortDay(since, { year: !sameYear })} – ${shortDay(until, { year: true })}`;
}
