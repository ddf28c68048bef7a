"""The transcript kept with a recording: JSON for the replay page, WebVTT for any player.

Guards: utterances come out in call-time order with their speakers; the WebVTT has valid
cue times (hh:mm:ss.mmm), the speaker as the cue's voice, and text that cannot break the
format; the summary counts keywords and the customer's mean sentiment; a call that was
never transcribed has no transcript, one whose language had no model says why.
"""

from __future__ import annotations

from typing import Any

from recording.transcript import transcript_from, webvtt


def utterance(uid: str, role: str, start: int, end: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "utterance",
        "t_ms": end + 300,
        "utterance": {
            "id": uid,
            "role": role,
            "start_ms": start,
            "end_ms": end,
            "text": text,
            "words": [[w, start, end, 1.0] for w in text.split()],
            "sentiment": extra.get("sentiment", {"score": None, "label": "not_supported"}),
            "keywords": extra.get("keywords", []),
        },
    }


def test_the_transcript_is_in_call_order_with_a_summary() -> None:
    events = [
        {"type": "transcription_state", "state": "active", "language": "en", "reason": ""},
        utterance("u2", "agent", 4_000, 5_200, "let me check"),
        utterance(
            "u1",
            "customer",
            1_000,
            3_500,
            "I want a refund",
            sentiment={"score": -0.4, "label": "negative"},
            keywords=["refund"],
        ),
        utterance(
            "u3",
            "customer",
            6_000,
            7_000,
            "thanks",
            sentiment={"score": 0.6, "label": "positive"},
        ),
        {
            "type": "transcript_alert",
            "t_ms": 3_800,
            "alert": {"kind": "keyword", "keyword": "refund"},
        },
    ]
    transcript = transcript_from(events)
    assert transcript is not None
    assert [u["id"] for u in transcript["utterances"]] == ["u1", "u2", "u3"]
    assert transcript["language"] == "en" and transcript["state"] == "active"
    assert transcript["alerts"] == [{"t_ms": 3_800, "kind": "keyword", "keyword": "refund"}]
    assert transcript["summary"] == {
        "utterances": 3,
        "words": 8,
        "keywords": {"refund": 1},
        "customer_sentiment": 0.1,
        "customer_negative": 1,
    }


def test_webvtt_cues_name_the_speaker_and_escape_the_text() -> None:
    events = [
        utterance("u1", "customer", 61_005, 3_725_250, "a < b & c --> d"),
        utterance("u2", "agent", 0, 0, "hi"),
    ]
    transcript = transcript_from(events)
    assert transcript is not None
    vtt = webvtt(transcript["utterances"])
    assert vtt.splitlines() == [
        "WEBVTT",
        "",
        "1",
        "00:00:00.000 --> 00:00:00.001",
        "<v Agent>hi",
        "",
        "2",
        "00:01:01.005 --> 01:02:05.250",
        "<v Customer>a &lt; b &amp; c --&gt; d",
    ]
    assert vtt.endswith("\n")


def test_no_transcript_without_transcription_and_a_reason_when_there_was_no_model() -> None:
    assert transcript_from([{"type": "recording_started"}]) is None
    transcript = transcript_from(
        [
            {
                "type": "transcription_state",
                "state": "unavailable",
                "language": "bn",
                "reason": "no live transcript for Bengali: no speech model",
            }
        ]
    )
    assert transcript is not None
    assert transcript["state"] == "unavailable" and transcript["utterances"] == []
    assert "Bengali" in transcript["reason"]
