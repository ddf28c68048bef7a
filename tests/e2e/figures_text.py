"""The floor's figures as the pages word them (web/js/figures-words.js), for the browser tests.

The tests compare what a page shows with what the reports API returned, each figure
put in words here the way the pages promise: durations as m:ss to the nearest second,
shares as whole percents, MOS and CSAT with one decimal, and "—" where the API says
null (nothing to count).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NONE = "—"
# What each figure is, as figures-words.js FIGURES says.
KINDS = {
    "service_level": "share",
    "abandonment_rate": "share",
    "occupancy": "share",
    "negative_share": "share",
    "average_speed_of_answer_s": "duration",
    "abandoned_wait_s": "duration",
    "average_handle_time_s": "duration",
    "average_hold_time_s": "duration",
    "mos_average": "decimal",
    "csat_average": "decimal",
}


def js_round(value: float) -> int:
    """JavaScript's Math.round: halves go up (Python's round() goes to the even one)."""
    return math.floor(value + 0.5)


def clock(seconds: int) -> str:
    """m:ss, or h:mm:ss past an hour (ui.js clock())."""
    h, rest = divmod(max(0, seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def figure_text(key: str, figures: dict[str, Any]) -> str:
    """``figures[key]`` in words."""
    value = figures.get(key)
    if value is None:
        return NONE
    kind = KINDS.get(key, "count")
    if kind == "share":
        return f"{js_round(value * 100)}%"
    if kind == "duration":
        return clock(js_round(value))
    if kind == "decimal":
        # Number.toFixed(1): the exact binary value, a tie rounded up (4.25 -> 4.3).
        return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return str(value)
