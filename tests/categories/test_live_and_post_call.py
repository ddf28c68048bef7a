"""What the supervisors' floor sees live, and what a stored call gets afterwards.

Guards:
- a category met by an utterance is returned by that very feed, not only at the end;
- all of a category's conditions must hold; it matches at the moment the last one did;
- a category is reported once per call, however often it is met again;
- a category with ``live = false`` is held back until the call ends, and says so;
- a finished call takes no more facts;
- a match survives its wire form (stored with the call, read back on the replay), and a
  stored utterance is read back as a fact;
- a stored call evaluated afterwards (``categorize``) gets exactly the matches the floor
  was shown live, ``live`` flags included, for scripted and for random calls;
- interruptions counted incrementally agree with ``conversation.characteristics``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from categories import (
    CallCategories,
    CallFinishedError,
    Hold,
    Match,
    Pause,
    QualityAlert,
    Severity,
    Talk,
    Tick,
    Utterance,
    categorize,
    load_rules,
)
from categories.talk_log import TalkLog
from conversation.characteristics import interruptions
from conversation.voice import TalkSpurt

from .calls import S, play_live, rules_of, said, talk

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "categories.example.toml"

CANCEL_AND_NEGATIVE = """
[[category]]
name = "Cancel while angry"
severity = "critical"
alert = true
[[category.condition]]
said = { by = "customer", phrases = ["cancel", "বাতিল*"] }
[[category.condition]]
sentiment = { of = "customer", below = -0.5 }

[[category]]
name = "Refund (reviewed after the call)"
live = false
[[category.condition]]
said = { phrases = ["refund"] }
"""


def test_the_floor_is_told_by_the_very_utterance_that_meets_the_category() -> None:
    call = CallCategories(rules_of(CANCEL_AND_NEGATIVE))
    assert call.feed(said("customer", "I want to cancel", 10, score=-0.1)) == []
    [match] = call.feed(said("customer", "this is the worst shop", 20, score=-0.7))
    assert match == Match(
        category="Cancel while angry",
        at_ms=20 * S,
        severity=Severity.CRITICAL,
        alert=True,
        evidence=(
            'the customer said "cancel" at 0:10; the customer sounded negative (-0.70) at 0:20'
        ),
        live=True,
    )


def test_a_category_is_reported_once_however_often_it_is_met() -> None:
    call = CallCategories(rules_of(CANCEL_AND_NEGATIVE))
    first = call.feed(said("customer", "বাতিল করুন, বাজে সার্ভিস", 10, score=-0.8))
    again = call.feed(said("customer", "cancel it, terrible", 20, score=-0.9))
    assert [m.category for m in first] == ["Cancel while angry"]
    assert again == []
    assert call.finish(60 * S) == []
    assert [m.category for m in call.matches] == ["Cancel while angry"]


def test_a_category_not_evaluated_live_is_reported_when_the_call_ends() -> None:
    call = CallCategories(rules_of(CANCEL_AND_NEGATIVE))
    assert call.feed(said("agent", "the refund is on its way", 30)) == []
    [match] = call.finish(90 * S)
    assert match.category == "Refund (reviewed after the call)"
    assert (match.at_ms, match.live) == (30 * S, False)


def test_a_finished_call_takes_no_more_facts() -> None:
    call = CallCategories(rules_of(CANCEL_AND_NEGATIVE))
    call.finish(10 * S)
    assert call.finished
    with pytest.raises(CallFinishedError):
        call.feed(Tick(11 * S))
    with pytest.raises(CallFinishedError):
        call.finish(11 * S)


def test_a_match_is_stored_and_read_back_unchanged() -> None:
    match = Match("Long hold", 30 * S, Severity.WARNING, True, "on hold from 0:30", True)
    wire = match.to_wire()
    assert wire == {
        "category": "Long hold",
        "at_ms": 30000,
        "severity": "warning",
        "alert": True,
        "evidence": "on hold from 0:30",
        "live": True,
    }
    assert Match.from_wire(wire) == match


def test_a_stored_utterance_is_read_back_as_a_fact_and_evaluated_again() -> None:
    stored = {
        "id": "u7",
        "participant_id": "p2",
        "role": "customer",
        "language": "bn",
        "text": "অর্ডারটা বাতিল করে দিন",
        "start_ms": 42000,
        "end_ms": 44500,
        "sentiment": {"score": -0.62, "label": "negative", "language": "bn"},
    }
    utterance = Utterance.from_wire(stored)
    assert utterance == Utterance("customer", stored["text"], 42000, 44500, -0.62, "negative")
    [match] = categorize(rules_of(CANCEL_AND_NEGATIVE), duration_ms=60 * S, utterances=[utterance])
    assert (match.category, match.at_ms, match.live) == ("Cancel while angry", 42000, True)


def test_the_floor_legend_says_which_categories_wait_for_the_end_of_the_call() -> None:
    legend = {c["name"]: c for c in rules_of(CANCEL_AND_NEGATIVE).to_wire()}
    assert legend["Cancel while angry"]["decided_at_end"] is False
    assert legend["Refund (reviewed after the call)"]["decided_at_end"] is True


def scripted_call() -> dict:
    """An e-commerce call gone wrong: no disclosure, a hold, dead air, talk-over, a bad line,
    a cancellation, and an unhappy end."""
    return {
        "utterances": [
            said("agent", "আসসালামু আলাইকুম, কীভাবে সাহায্য করতে পারি?", 1, for_s=4),
            said("customer", "আমার অর্ডার এখনো পাইনি। আমি বাতিল করতে চাই।", 6, for_s=6, score=-0.4),
            said("agent", "একটু অপেক্ষা করুন", 13, for_s=2),
            said("customer", "this is a scam, refund my money", 140, for_s=5, score=-0.8),
            said("agent", "sorry, ধন্যবাদ", 180, for_s=3, score=0.1),
            said("customer", "useless", 185, for_s=2, score=-0.5),
        ],
        "spurts": [
            talk("agent", 1, 5),
            talk("customer", 6, 12),
            talk("agent", 13, 15),
            talk("agent", 140, 141),
            talk("customer", 140.5, 145),
            talk("agent", 143, 146),
            talk("agent", 150, 151),
            talk("customer", 150.2, 152),
            talk("agent", 151, 155),
            talk("agent", 180, 183),
            talk("customer", 185, 187),
        ],
        "holds": [Hold(16 * S, 138 * S)],
        "alerts": [QualityAlert("high_loss", "customer", 142 * S)],
    }


def test_a_stored_call_gets_exactly_what_the_floor_saw_live() -> None:
    rules = load_rules(EXAMPLE)
    facts = scripted_call()
    played = play_live(rules, 200 * S, **facts)
    afterwards = categorize(
        rules,
        duration_ms=200 * S,
        utterances=facts["utterances"],
        talk=facts["spurts"],
        alerts=facts["alerts"],
        holds=facts["holds"],
    )
    assert afterwards == played.all
    assert {m.category for m in afterwards} >= {
        "Recording disclosure missing",
        "Cancel and ended negative",
        "Refund mentioned",
        "Delivery not received",
        "Angry customer",
        "Long hold",
        "Long silence",
        "Poor line",
    }
    assert not {m.category for m in afterwards} & {"Greeting missing", "Closing missing"}
    assert all(m.live for m in played.live)


RANDOM_RULES = """
[[category]]
name = "Disclosure missing"
[[category.condition]]
said = { by = "agent", phrases = ["recorded"], within_first_s = 10, negate = true }

[[category]]
name = "Cancel"
[[category.condition]]
said = { by = "customer", phrases = ["cancel"] }

[[category]]
name = "Cancel early and silence"
[[category.condition]]
said = { phrases = ["cancel"], within_first_s = 20 }
[[category.condition]]
silence = { longer_than_s = 4 }

[[category]]
name = "Thanks at the end"
[[category.condition]]
said = { phrases = ["thanks"], within_last_s = 10 }

[[category]]
name = "Negative"
[[category.condition]]
sentiment = { of = "customer", below = -0.5 }

[[category]]
name = "Ended negative"
[[category.condition]]
sentiment = { of = "customer", at = "end", label = "negative" }

[[category]]
name = "Talk-over"
[[category.condition]]
interruptions = { more_than = 1 }

[[category]]
name = "Paused"
[[category.condition]]
paused = { longer_than_s = 5 }
[[category.condition]]
quality = { kind = "mos" }

[[category]]
name = "Hold"
[[category.condition]]
hold = { longer_than_s = 6 }

[[category]]
name = "Long"
[[category.condition]]
duration = { longer_than_s = 30 }

[[category]]
name = "Short"
live = false
[[category.condition]]
duration = { shorter_than_s = 40 }
"""

WORDS = ["cancel", "recorded", "thanks", "hello", "order", "বাতিল"]


@st.composite
def random_calls(draw: st.DrawFn) -> dict:
    """A call's talk (each utterance is a spurt of its speaker), pauses, holds and alerts."""
    duration = draw(st.integers(5, 60)) * S
    utterances, spurts = [], []
    for role in ("agent", "customer"):
        at = draw(st.integers(0, 3000))
        while at < duration - 500:
            length = draw(st.integers(300, 8000))
            end = min(at + length, duration)
            spurts.append(Talk(role, at, end))
            if draw(st.booleans()):
                text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)))
                score = draw(st.none() | st.floats(-1, 1))
                label = (
                    "not_supported" if score is None else "negative" if score < 0 else "positive"
                )
                utterances.append(Utterance(role, text, at, end, score, label))
            at = end + draw(st.integers(400, 9000))
    stretches: dict[type[Pause] | type[Hold], list[Pause | Hold]] = {Pause: [], Hold: []}
    for kind, found in stretches.items():
        at = draw(st.integers(0, duration))
        while at < duration and draw(st.booleans()):
            end = at + draw(st.integers(1000, 8000))
            found.append(kind(at, end if end < duration else None))
            at = end + draw(st.integers(1000, 10000))
    alerts = [
        QualityAlert(draw(st.sampled_from(["low_mos", "high_loss"])), "customer", t)
        for t in draw(st.lists(st.integers(0, duration - 1), max_size=2))
    ]
    return {
        "duration": duration,
        "utterances": utterances,
        "spurts": spurts,
        "pauses": stretches[Pause],
        "holds": stretches[Hold],
        "alerts": alerts,
    }


@settings(max_examples=300, deadline=None)
@given(random_calls(), st.sampled_from([250, 1000, 2500]))
def test_any_call_evaluated_afterwards_matches_what_it_matched_live(
    call: dict, tick_ms: int
) -> None:
    """However often the clock ticks, the matches and their ``live`` flags are the same."""
    rules = rules_of(RANDOM_RULES)
    facts = {k: call[k] for k in ("utterances", "spurts", "pauses", "holds", "alerts")}
    played = play_live(rules, call["duration"], tick_ms=tick_ms, **facts)
    afterwards = categorize(
        rules,
        duration_ms=call["duration"],
        utterances=call["utterances"],
        talk=call["spurts"],
        alerts=call["alerts"],
        paused=call["pauses"],
        holds=call["holds"],
    )
    assert afterwards == played.all


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["agent", "customer"]), st.integers(0, 60), st.integers(1, 12)),
        max_size=25,
    )
)
def test_interruptions_counted_as_spurts_arrive_agree_with_conversations(
    drawn: list[tuple[str, int, int]],
) -> None:
    # Each party's spurts, made non-overlapping (a microphone's spurts never overlap).
    talk_of: dict[str, list[TalkSpurt]] = {"agent": [], "customer": []}
    for role, start_s, length_s in sorted(drawn, key=lambda d: d[1]):
        start = start_s * 250
        theirs = talk_of[role]
        if theirs and start < theirs[-1].end_ms + 100:
            continue
        theirs.append(TalkSpurt(start, start + length_s * 250, -20.0, -17.0))
    log = TalkLog()
    arrived = sorted(
        ((role, s) for role, spurts in talk_of.items() for s in spurts), key=lambda x: x[1].end_ms
    )
    found = [i for role, s in arrived for i in log.add_talk(role, s.start_ms, s.end_ms)]
    expected = interruptions(talk_of)
    assert sorted((i.by, i.over, i.at_ms) for i in found) == sorted(
        (i.by, i.over, i.at_ms) for i in expected
    )
