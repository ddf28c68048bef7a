"""A finished call's categories, from its facts all at once.

Used on the replay, and to evaluate stored calls again after the rules change.
The facts are put in the order a live call would have been fed them (each when
it became known: an utterance at its end, a talk spurt when it closed) and fed
to the same :class:`CallCategories`, then the call is finished: so a stored
call gets exactly the categories the floor saw live, ``live`` flags included.
"""

from __future__ import annotations

from collections.abc import Iterable

from .call_categories import CallCategories
from .facts import Fact, Hold, Pause, QualityAlert, Talk, Utterance
from .match import Match
from .rules import Rules

# At the same moment: the pause, the hold and the talk first (what was on the line), then
# what was said about it, then the alerts.
_ORDER = {Pause: 0, Hold: 0, Talk: 1, Utterance: 2, QualityAlert: 3}


def _order(fact: Fact) -> tuple[int, int, int]:
    start = getattr(fact, "start_ms", fact.known_ms)
    return fact.known_ms, _ORDER.get(type(fact), 4), start


def categorize(
    rules: Rules,
    *,
    duration_ms: int,
    utterances: Iterable[Utterance] = (),
    talk: Iterable[Talk] = (),
    alerts: Iterable[QualityAlert] = (),
    paused: Iterable[Pause] = (),
    holds: Iterable[Hold] = (),
) -> list[Match]:
    """Every category the call matched, by the moment it matched.

    Args:
        duration_ms: how long the call lasted (the call clock at its end).
        paused: the pauses of the recording, each with its end (an open one runs to the end).
        holds: the customer's holds, each with its end (an open one runs to the end).
    """
    call = CallCategories(rules)
    facts: list[Fact] = [*utterances, *talk, *alerts, *paused, *holds]
    for fact in sorted(facts, key=_order):
        call.feed(fact)
    call.finish(duration_ms)
    return call.matches
