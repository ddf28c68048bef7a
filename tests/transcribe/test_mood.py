"""The customer's mood: now, its trend, and the alerts a supervisor gets.

Guards: two negative customer utterances in a row fire `negative_streak` once (not once
per utterance) and a non-negative one clears it; a call that starts well and turns sour
reads "falling" and fires `falling`; languages without sentiment leave the mood unknown
instead of pretending it is neutral.
"""

from __future__ import annotations

from transcribe.mood import Mood, MoodAlertKind
from transcribe.sentiment import score


def feel(mood: Mood, text: str, language: str = "en") -> list[tuple[MoodAlertKind, bool]]:
    return [(alert.kind, alert.active) for alert in mood.add(score(text, language))]


def test_two_negative_utterances_in_a_row_alert_once_and_a_better_one_clears() -> None:
    mood = Mood()
    assert feel(mood, "This is terrible, my parcel is lost") == []
    assert feel(mood, "I am really angry, this is awful service") == [
        (MoodAlertKind.NEGATIVE_STREAK, True)
    ]
    assert feel(mood, "This is the worst, I hate it") == []  # still on: no second alert
    assert feel(mood, "Okay, thank you, that is great") == [(MoodAlertKind.NEGATIVE_STREAK, False)]
    assert mood.to_wire()["alerts"] == []


def test_a_call_that_turns_sour_reads_falling_and_alerts() -> None:
    mood = Mood()
    for text in ["Thank you so much, great", "Wonderful, I love this shop", "Good, thanks"]:
        feel(mood, text)
    changes = feel(mood, "No, this is terrible") + feel(mood, "Awful, I am furious")
    assert (MoodAlertKind.FALLING, True) in changes
    wire = mood.to_wire()
    assert wire["direction"] == "falling" and wire["label"] == "negative"
    assert wire["trend"] < -0.5 and len(wire["history"]) == 5


def test_bengali_counts_and_unsupported_languages_leave_the_mood_unknown() -> None:
    mood = Mood()
    assert feel(mood, "주문 번호", "ko") == []
    assert mood.to_wire() == {
        "now": None,
        "label": "unknown",
        "trend": None,
        "direction": "unknown",
        "scored": 0,
        "history": [],
        "alerts": [],
    }
    feel(mood, "খুব খারাপ সার্ভিস", "bn")
    assert mood.to_wire()["label"] == "negative"
