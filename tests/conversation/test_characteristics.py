"""What a call's talk adds up to, from spans whose answer is worked out by hand.

Guards:
- a frame is talk only when it stands clear of the speaker's own noise floor: a steady
  hum is not talk however loud, words over it are; pauses between words are part of
  talking, a pause of the merge gap ends the spurt, and a click is not talk;
- silences are what nobody talked while the recording ran (a paused stretch is neither
  talk nor silence), the longest one is found;
- an interruption is a party starting while the other talks, for long enough: a short
  "hmm" over someone, or a turn taken after the other stopped, is none;
- sentiment is averaged per quarter of the call and read at its end.
"""

from __future__ import annotations

import pytest

from conversation.characteristics import Characteristics
from conversation.voice import FRAME_MS, NOISE_WINDOW_MS, TalkSpurt, VoiceActivity


def spurts_of(levels: list[float]) -> list[TalkSpurt]:
    """The spurts of a stream whose 20 ms frames measured ``levels`` (dBFS)."""
    voice = VoiceActivity()
    spurts = []
    for n, db in enumerate(levels):
        spurts += voice.add(n * FRAME_MS, db)
    return spurts + voice.flush()


def spurt(start_ms: int, end_ms: int, db: float = -20.0) -> TalkSpurt:
    return TalkSpurt(start_ms, end_ms, db, db + 3)


def test_words_over_a_steady_hum_are_talk_and_the_hum_is_not() -> None:
    hum, word = -40.0, -18.0
    levels = [hum] * 200 + [word] * 50 + [hum] * 10 + [word] * 40 + [hum] * 100
    *hum_heard, spurt = spurts_of(levels)
    # One spurt: the 200 ms pause between the words is part of talking.
    assert (spurt.start_ms, spurt.end_ms) == (4000, 6000)
    assert spurt.level_db == pytest.approx(word)
    # Until the detector has heard the room for a while, the hum passes for talk.
    assert sum(s.ms for s in hum_heard) <= NOISE_WINDOW_MS


def test_a_pause_of_the_merge_gap_ends_a_spurt_and_a_click_is_not_talk() -> None:
    quiet, word = -90.0, -20.0
    levels = [word] * 25 + [quiet] * 15 + [word] * 25 + [quiet] * 50 + [word] * 2 + [quiet] * 50
    assert [(s.start_ms, s.end_ms) for s in spurts_of(levels)] == [(0, 500), (800, 1300)]


def test_a_hum_that_starts_mid_call_is_noise_within_the_noise_window() -> None:
    levels = [-90.0] * 50 + [-45.0] * 500
    spurts = spurts_of(levels)
    assert sum(s.ms for s in spurts) <= NOISE_WINDOW_MS


def test_silences_and_interruptions_worked_out_by_hand() -> None:
    talk = {
        "customer": [spurt(1000, 4000), spurt(5000, 7000), spurt(12000, 12200)],
        "agent": [spurt(4500, 6000), spurt(6900, 9000), spurt(11500, 13000)],
    }
    wire = Characteristics(20000, talk, {}, [(15000, 17000)]).to_wire()
    assert wire["parties"]["customer"]["talk_ms"] == 5200
    assert wire["parties"]["agent"]["talk_ms"] == 5100
    # Talking: 1-4, 4.5-9, 11.5-13 s; paused 15-17 s; the rest (0-1, 4-4.5, 9-11.5, 13-15,
    # 17-20) is silence.
    assert wire["non_talk_ms"] == 1000 + 500 + 2500 + 2000 + 3000
    assert wire["longest_silence"] == {"start_ms": 17000, "end_ms": 20000, "ms": 3000}
    assert wire["paused_ms"] == 2000
    # The customer came in at 5 s over the agent (1 s together); the agent's 6.9 s start
    # overlaps the customer by 100 ms only (a turn taken), and the customer's 200 ms "hmm"
    # at 12 s is a backchannel.
    assert wire["interruptions"] == [{"by": "customer", "over": "agent", "at_ms": 5000, "ms": 1000}]
    assert wire["overlap_ms"] == 1000 + 100 + 200


def test_sentiment_per_quarter_and_at_the_end() -> None:
    def said(start_ms: int, score: float, label: str) -> dict[str, object]:
        return {
            "start_ms": start_ms,
            "end_ms": start_ms + 1000,
            "text": "a b c",
            "sentiment": {"score": score, "label": label},
        }

    utterances = {
        "customer": [
            said(0, 0.5, "positive"),
            said(2000, 0.1, "neutral"),
            said(90_000, -0.6, "negative"),
        ]
    }
    wire = Characteristics(100_000, {"customer": [spurt(0, 6000)]}, utterances, []).to_wire()
    sentiment = wire["parties"]["customer"]["sentiment"]
    assert sentiment["quarters"] == [0.3, None, None, -0.6]
    assert sentiment["end"] == {"score": -0.6, "label": "negative", "at_ms": 90_000}
    assert wire["parties"]["customer"]["words"] == 9
    assert wire["parties"]["customer"]["words_per_minute"] == 90
