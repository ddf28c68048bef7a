"""The ``hold`` condition: the agent kept the customer on hold longer than N s in all.

Guards:
- a customer left on hold is flagged live while still on hold, at the start of that hold,
  and a stored call evaluated afterwards (``categorize``) gets the very same match;
- short holds add up; holds shorter in all than the limit are not flagged, live or after;
- a hold still open when the call ends counts until the end (live and afterwards alike);
- a hold is not a pause of the recording, nor a pause a hold: each condition counts its own;
- the node's ``LiveCategories.hold`` feeds a real call's holds (begun, ended, or still
  going on when the call ends) to its categories;
- a ``hold`` condition written wrong is refused in words: the category, the field, and
  the line to write instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from categories import CallCategories, Hold, HoldRule, Match, Pause, RulesError, Tick, categorize
from node.live_categories import LiveCategories
from node.recordings import CallRecordings

from .calls import S, play_live, rules_of

LONG_HOLD = """
[[category]]
name = "Long hold"
severity = "warning"
alert = true
[[category.condition]]
hold = { longer_than_s = 60 }
"""
LONG_PAUSE = """
[[category]]
name = "Long pause"
[[category.condition]]
paused = { longer_than_s = 60 }
"""


def both_ways(duration_ms: int, holds: Sequence[Hold], pauses: Sequence[Pause] = ()) -> list[Match]:
    """The call's matches live; asserted equal to those it gets evaluated afterwards."""
    rules = rules_of(LONG_HOLD)
    played = play_live(rules, duration_ms, holds=holds, pauses=pauses)
    afterwards = categorize(rules, duration_ms=duration_ms, holds=holds, paused=pauses)
    assert afterwards == played.all
    return afterwards


def test_a_customer_left_on_hold_is_flagged_live_while_still_on_hold() -> None:
    call = CallCategories(rules_of(LONG_HOLD))
    assert call.feed(Hold(133 * S)) == []
    assert call.feed(Tick(193 * S)) == []  # exactly 60 s: not longer than 60 s yet
    [match] = call.feed(Tick(194 * S))
    assert (match.category, match.at_ms, match.live) == ("Long hold", 133 * S, True)
    assert match.evidence == "the customer was on hold for over 1 min in all (from 2:13)"
    assert match.alert and match.severity == "warning"
    # Taken off hold later, the call has matched already: nothing more.
    assert call.feed(Hold(133 * S, 250 * S)) == []
    assert call.finish(300 * S) == []

    [afterwards] = categorize(
        rules_of(LONG_HOLD), duration_ms=300 * S, holds=[Hold(133 * S, 250 * S)]
    )
    assert afterwards == match


def test_short_holds_add_up_to_a_long_one() -> None:
    [match] = both_ways(200 * S, [Hold(10 * S, 40 * S), Hold(100 * S, 140 * S)])
    # 30 s before, then the second hold passed 60 s in all 30 s into it: it began at 1:40.
    assert (match.at_ms, match.live) == (100 * S, True)
    assert match.evidence == "the customer was on hold for over 1 min in all (from 1:40)"


def test_holds_shorter_in_all_than_the_limit_are_not_flagged() -> None:
    assert both_ways(200 * S, [Hold(10 * S, 30 * S), Hold(100 * S, 140 * S)]) == []


def test_a_call_that_ends_on_hold_counts_the_hold_to_its_end() -> None:
    [match] = both_ways(100 * S, [Hold(20 * S)])  # 80 s on hold when the call ended
    assert (match.at_ms, match.live) == (20 * S, True)
    assert both_ways(70 * S, [Hold(20 * S)]) == []  # 50 s: not long enough


def test_a_pause_of_the_recording_is_not_a_hold_nor_a_hold_a_pause() -> None:
    assert both_ways(300 * S, [], [Pause(10 * S, 200 * S)]) == []
    both = rules_of(LONG_HOLD + LONG_PAUSE)
    played = play_live(both, 300 * S, holds=[Hold(10 * S, 100 * S)])
    assert played.names() == {"Long hold"}


# -- the node's live categories ---------------------------------------------------------


def live_categories(rules_toml: str, tmp_path: Path) -> tuple[LiveCategories, list[Match]]:
    """The node's LiveCategories over no recording (its clock is the call's own)."""
    live = LiveCategories(
        rules_of(rules_toml),
        CallRecordings(tmp_path, enabled=False),
        talking=lambda call_id: frozenset(),
    )
    found: list[Match] = []
    live.listeners.append(lambda call_id, match: found.append(match))
    return live, found


QUICK_HOLD = """
[[category]]
name = "Held"
[[category.condition]]
hold = { longer_than_s = 0.05 }
"""


def test_the_node_feeds_a_hold_ended_and_one_still_going_on_at_the_end(
    tmp_path: Path,
) -> None:
    live, found = live_categories(QUICK_HOLD, tmp_path)
    live.start("c_short")
    live.hold("c_short", True)
    live.hold("c_short", False)  # a moment on hold: not 50 ms
    live.pause("c_short", True)
    time.sleep(0.1)
    assert live.finish("c_short") == []  # paused long, never held long

    live.start("c_held")
    live.hold("c_held", True)
    live.hold("c_held", True)  # already on hold: the hold goes on from when it began
    time.sleep(0.1)
    [match] = live.finish("c_held")  # still on hold when the call ended
    assert found == [match]
    assert match.category == "Held" and match.live
    assert match.evidence.startswith("the customer was on hold for over 0.05 s in all")

    live.start("c_back")
    live.hold("c_back", True)
    time.sleep(0.1)
    live.hold("c_back", False)
    assert [m.category for m in live.matches("c_back")] == ["Held"]  # as the hold ended
    live.hold("unknown call", True)  # a call with no categories is left alone


# -- the rules file ---------------------------------------------------------------------


def test_a_hold_condition_loads_as_a_hold_rule() -> None:
    [condition] = rules_of(LONG_HOLD).category("Long hold").conditions
    assert condition == HoldRule(60 * S)
    assert not rules_of(LONG_HOLD).category("Long hold").end_only  # decided live


WRITE_IT = "Write it like hold = { longer_than_s = 120 }"
WRITE_SECONDS = "Write a number of seconds, 0 or more and at most 86400, without quotes: "


@pytest.mark.parametrize(
    ("body", "field", "problem", "fix"),
    [
        pytest.param(
            "hold = { longer_then_s = 60 }",
            "condition 1, hold",
            'unknown key "longer_then_s"; did you mean "longer_than_s"?',
            f"The keys allowed here are: longer_than_s. {WRITE_IT}",
            id="misspelt-key",
        ),
        pytest.param(
            "hold = {}", "condition 1, hold", 'needs "longer_than_s".', WRITE_IT, id="empty"
        ),
        pytest.param(
            'hold = { longer_than_s = "60" }',
            "condition 1, hold.longer_than_s",
            "cannot be '60'.",
            f"{WRITE_SECONDS}longer_than_s = 30",
            id="number-in-quotes",
        ),
        pytest.param(
            "hold = { longer_than_s = -1 }",
            "condition 1, hold.longer_than_s",
            "cannot be -1.",
            f"{WRITE_SECONDS}longer_than_s = 30",
            id="negative",
        ),
        pytest.param(
            "hold = 60", "condition 1, hold", "must be a table in braces.", WRITE_IT, id="bare"
        ),
        pytest.param(
            'hold = { longer_than_s = 60, by = "agent" }',
            "condition 1, hold",
            'unknown key "by".',
            f"The keys allowed here are: longer_than_s. {WRITE_IT}",
            id="a-key-of-another-kind",
        ),
    ],
)
def test_a_hold_condition_written_wrong_is_refused_in_words(
    body: str, field: str, problem: str, fix: str
) -> None:
    with pytest.raises(RulesError) as refused:
        rules_of(f'[[category]]\nname = "Long hold"\n[[category.condition]]\n{body}\n')
    error = refused.value
    assert (error.category, error.field) == ("Long hold", field)
    where = 'Category "Long hold" (the 1st [[category]])'
    assert str(error) == f"{where}, {field}: {problem} {fix}"
