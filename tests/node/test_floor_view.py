"""The floor from a snapshot: the call that needs a look comes first, with why in words.

Pure: the payload is a function of the snapshot (the calls as values, their quality views
and transcript facts), so every dashboard shows the same order for the same reasons.
"""

from __future__ import annotations

from dataclasses import replace

from callcenter.states import CallState
from callcenter.values import CallValue, ParticipantValue
from node.floor_view import KEYWORD_SHOWN_S, CallFacts, FloorSnapshot, floor_view
from quality.alerts import Alert, AlertKind
from quality.sample import Direction
from quality.view import PartyQuality, QualityView
from transcribe.alert import KEYWORD, TranscriptAlert

NOW = 1_800_000_000.0


def _call(call_id: str, customer: str, *, answered_s_ago: float = 60.0) -> CallValue:
    return CallValue(
        call_id=call_id,
        customer=ParticipantValue(f"p_{call_id}_c", "customer", customer.lower(), customer),
        language="bn",
        media="audio",
        created_at=NOW - answered_s_ago - 10,
        state=CallState.ACTIVE,
        answered_at=NOW - answered_s_ago,
        agent=ParticipantValue(f"p_{call_id}_a", "agent", "rahim", "Rahim"),
    )


def _poor_line(call: CallValue) -> QualityView:
    party = PartyQuality(
        call.customer.participant_id, "customer", call.customer.name, 2.1, "poor",
        "much of the customer's audio is lost", "", None, (), None,
    )  # fmt: skip
    loss = Alert(
        AlertKind.HIGH_LOSS, call.customer.participant_id, "customer", Direction.INBOUND,
        "audio", 12.0, 5.0, "the customer's audio is losing 12 % of its packets",
    )  # fmt: skip
    return QualityView(call.call_id, NOW, (party,), (loss,))


def _snapshot(*calls: CallFacts) -> FloorSnapshot:
    return FloorSnapshot(NOW, calls, [], {"calls": [], "waiting": 0, "longest_wait_s": 0})


def test_a_call_with_a_lossy_line_and_a_dropped_party_comes_first_with_reasons() -> None:
    quiet = _call("c_quiet", "Salma", answered_s_ago=300)
    troubled = _call("c_trouble", "Karim")
    troubled = replace(troubled, customer=replace(troubled.customer, connected=False))

    view = floor_view(
        _snapshot(CallFacts(quiet), CallFacts(troubled, quality=_poor_line(troubled)))
    )

    first, second = view["calls"]
    assert (first["call_id"], second["call_id"]) == ("c_trouble", "c_quiet")
    assert first["attention"]["level"] == "high"
    assert first["attention"]["reasons"] == [
        "the customer's connection dropped",
        "the customer's audio is losing 12 % of its packets",
    ]
    assert second["attention"] == {"score": 0, "level": "none", "reasons": []}
    customer = first["participants"][0]
    assert (customer["rating"], customer["mos"]) == ("poor", 2.1)
    assert [a["kind"] for a in view["alerts"]] == ["disconnected", "high_loss"]


def test_a_keyword_said_counts_for_two_minutes_and_then_no_longer() -> None:
    call = _call("c_1", "Karim")
    said = TranscriptAlert(KEYWORD, "the customer said “refund”", True, "u1", "customer", "refund")

    recent = floor_view(_snapshot(CallFacts(call, raised=((NOW - 30, said),))))
    old = floor_view(_snapshot(CallFacts(call, raised=((NOW - KEYWORD_SHOWN_S - 1, said),))))

    assert recent["calls"][0]["attention"]["reasons"] == ["the customer said “refund”"]
    assert old["calls"][0]["attention"]["reasons"] == []


def test_a_long_call_is_worth_a_look_even_when_nothing_is_wrong() -> None:
    call = _call("c_long", "Karim", answered_s_ago=16 * 60)
    row = floor_view(_snapshot(CallFacts(call)))["calls"][0]
    assert row["attention"]["reasons"] == ["the call has gone on for 16 minutes"]
    assert row["attention"]["level"] == "low"
