"""A finished call's categories, for meta.json: those matched live, and after a crash the rest.

The node decides a call's categories as it goes and puts each match on the
timeline (``category_matched``: the category, its moment, its evidence), so a
finished call's matches are read back from there. A call cut off by a crash
never had its end decided: a phrase not said in its window, the sentiment at
the end, a call too short, and whatever it met between the last line written
and the crash. So a recording recovered after a crash is evaluated again with
the node's rules, from the facts its timeline holds (the final utterances, the
talk spurts, the quality alerts fired, the pauses and the holds: what the node
was fed live), and the categories it had not matched live are added, marked not
live (the floor never saw them). A match made live is kept as it was, moment and
all.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from categories import Hold, Match, Pause, QualityAlert, Rules, Talk, Utterance, categorize

from .conversation import holds_from, talk_from
from .timeline import EntryType

logger = logging.getLogger(__name__)


def categories_from(
    events: list[dict[str, Any]],
    rules: Rules | None,
    *,
    duration_ms: int,
    pauses: list[dict[str, int | None]],
) -> list[dict[str, Any]]:
    """The categories a call met: those matched live, and with ``rules`` (a recording
    recovered after a crash) those its timeline, evaluated again, adds.

    Args:
        duration_ms: where the recorded media ends.
        pauses: the recording's pauses (``end_ms`` None: it was still paused at the end).
    """
    live = [
        e["match"]
        for e in events
        if e.get("type") == EntryType.CATEGORY_MATCHED and isinstance(e.get("match"), dict)
    ]
    if rules is None:
        return live
    try:
        found = categorize_timeline(rules, events, duration_ms=duration_ms, pauses=pauses)
    except Exception:  # the recording is recovered all the same, with what matched live
        logger.exception("the categories of a recovered call could not be decided again")
        return live
    known = {m.get("category") for m in live}
    added = [replace(m, live=False).to_wire() for m in found if m.category not in known]
    return sorted([*live, *added], key=_moment)


def categorize_timeline(
    rules: Rules,
    events: list[dict[str, Any]],
    *,
    duration_ms: int,
    pauses: list[dict[str, int | None]],
) -> list[Match]:
    """Every category a call's timeline meets, from the facts the node was fed live.

    The call is taken to have lasted until its media or its timeline ended, whichever
    is later (a crash cuts both off within a second or so of each other).
    """
    utterances: list[Utterance] = []
    alerts: list[QualityAlert] = []
    for e in events:
        try:
            if e.get("type") == EntryType.UTTERANCE:
                utterances.append(Utterance.from_wire(e["utterance"]))
            elif e.get("type") == EntryType.QUALITY_ALERT and e.get("active") is True:
                alerts.append(QualityAlert.from_wire(e["alert"], int(e["t_ms"])))
        except (KeyError, TypeError, ValueError):
            continue  # an entry the node would not have taken live either
    talk = [
        Talk(role, spurt.start_ms, spurt.end_ms)
        for role, spurts in (talk_from(events) or {}).items()
        for spurt in spurts
    ]
    paused = [Pause(int(p["start_ms"] or 0), p["end_ms"]) for p in pauses]
    holds = [Hold(int(h["start_ms"] or 0), h["end_ms"]) for h in holds_from(events)]
    last_line = max((e["t_ms"] for e in events if isinstance(e.get("t_ms"), int)), default=0)
    return categorize(
        rules,
        duration_ms=max(duration_ms, last_line),
        utterances=utterances,
        talk=talk,
        alerts=alerts,
        paused=paused,
        holds=holds,
    )


def _moment(match: dict[str, Any]) -> int:
    at = match.get("at_ms")
    return at if isinstance(at, int) else 0
