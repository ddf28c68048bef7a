"""The conditions over how a call went: sentiment, silences, interruptions, the line, its
length and time paused, each matching when it should and not when it should not.

Guards:
- sentiment at the end is the customer's sentiment as the call ended (decided at the end);
  "any utterance below a score" matches live at that utterance; an unscored language never
  matches;
- a silence longer than N s matches live once it has lasted N s, at its start; a shorter
  one does not; time paused is not silence; a long spurt still being spoken is not silence;
- interruptions more than N (by a party, if named), with conversation's definition;
- a quality alert of the kind (and party) named, whichever way the server spells the kind;
- duration longer than N matches live at the N s mark, shorter than N at the end;
- time with the recording paused longer than N s in all, live while the pause goes on
  (time on hold: test_hold.py).
"""

from __future__ import annotations

import pytest

from categories import CallCategories, Pause, QualityAlert, Tick

from .calls import S, play_live, rules_of, said, talk


def one_condition(condition: str, *, name: str = "Flagged") -> str:
    return f"""
    [[category]]
    name = "{name}"
    [[category.condition]]
    {condition}
    """


# -- sentiment ---------------------------------------------------------------------------

ENDED_NEGATIVE = one_condition(
    'sentiment = { of = "customer", at = "end", label = "negative" }', name="Ended negative"
)


def test_a_call_whose_customer_ends_negative_is_flagged_when_it_ends() -> None:
    utterances = [
        said("customer", "ঠিক আছে", 10, score=0.3),
        said("customer", "this is useless", 100, score=-0.6),
        said("customer", "I am very unhappy", 110, score=-0.4),
    ]
    played = play_live(rules_of(ENDED_NEGATIVE), 120 * S, utterances=utterances)
    assert played.live == []
    match = played.match("Ended negative")
    assert match.at_ms == 110 * S  # the last scored utterance
    assert match.evidence == "the customer's sentiment at the end was negative (-0.50)"


def test_a_call_whose_customer_ends_happy_is_not_flagged_despite_an_angry_start() -> None:
    utterances = [
        said("customer", "this is useless", 10, score=-0.8),
        said("customer", "thank you so much", 110, score=0.7),
    ]
    assert play_live(rules_of(ENDED_NEGATIVE), 120 * S, utterances=utterances).names() == set()


def test_the_agents_negative_end_does_not_count_as_the_customers() -> None:
    utterances = [said("agent", "sorry, nothing I can do", 110, score=-0.5)]
    assert play_live(rules_of(ENDED_NEGATIVE), 120 * S, utterances=utterances).names() == set()


ANGRY = one_condition('sentiment = { of = "customer", below = -0.6 }', name="Angry customer")


def test_a_very_negative_customer_utterance_is_flagged_live_by_that_utterance() -> None:
    call = CallCategories(rules_of(ANGRY))
    assert call.feed(said("customer", "it is late", 20, score=-0.3)) == []
    angry = said("customer", "this is a scam, I want my money", 40, score=-0.8)
    [match] = call.feed(angry)
    assert match.at_ms == 40 * S and match.live
    assert match.evidence == "the customer sounded negative (-0.80) at 0:40"


def test_utterances_without_a_sentiment_score_never_match() -> None:
    unscored = said("customer", "what", 20)
    assert play_live(rules_of(ANGRY), 60 * S, utterances=[unscored]).names() == set()


# -- silence -----------------------------------------------------------------------------

LONG_SILENCE = one_condition("silence = { longer_than_s = 30 }", name="Long silence")


def test_nobody_speaking_for_34_s_is_flagged_live_at_the_silences_start() -> None:
    spurts = [talk("agent", 0, 20), talk("customer", 21, 70), talk("agent", 104, 110)]
    played = play_live(rules_of(LONG_SILENCE), 120 * S, spurts=spurts)
    match = played.match("Long silence")
    assert match.at_ms == 70 * S
    assert match.evidence == "nobody spoke for over 30 s from 1:10"
    fed_at = played.when("Long silence")
    assert isinstance(fed_at, Tick) and 100 * S < fed_at.now_ms <= 102 * S


def test_pauses_shorter_than_the_limit_are_not_a_long_silence() -> None:
    spurts = [talk("agent", 0, 20), talk("customer", 45, 70), talk("agent", 95, 120)]
    assert play_live(rules_of(LONG_SILENCE), 120 * S, spurts=spurts).names() == set()


def test_time_paused_is_not_silence() -> None:
    spurts = [talk("agent", 0, 20), talk("agent", 80, 120)]
    pauses = [Pause(22 * S, 78 * S)]
    played = play_live(rules_of(LONG_SILENCE), 120 * S, spurts=spurts, pauses=pauses)
    assert played.names() == set()


def test_a_long_monologue_is_not_mistaken_for_silence_while_it_is_spoken() -> None:
    # The customer talks for 60 s without a pause: the spurt only arrives when it closes.
    spurts = [talk("agent", 0, 5), talk("customer", 6, 66), talk("agent", 67, 90)]
    assert play_live(rules_of(LONG_SILENCE), 90 * S, spurts=spurts).names() == set()


def test_silence_at_the_end_of_the_call_counts() -> None:
    played = play_live(rules_of(LONG_SILENCE), 60 * S, spurts=[talk("agent", 0, 10)])
    match = played.match("Long silence")
    assert match.at_ms == 10 * S and match.live


# -- interruptions -----------------------------------------------------------------------


def interrupted_call() -> list:
    """The customer talks in three long turns; the agent cuts in twice, the customer once."""
    return [
        talk("customer", 0, 10),
        talk("agent", 5, 12),  # agent over customer
        talk("customer", 11, 20),  # customer over agent
        talk("customer", 30, 40),
        talk("agent", 35, 37),  # agent over customer
        talk("customer", 50, 60),
        talk("agent", 59.9, 61),  # 100 ms of overlap: starting together, not an interruption
    ]


@pytest.mark.parametrize(
    ("condition", "flagged"),
    [
        pytest.param("interruptions = { more_than = 2 }", True, id="three-in-all-over-two"),
        pytest.param("interruptions = { more_than = 3 }", False, id="three-in-all-not-over-3"),
        pytest.param('interruptions = { more_than = 1, by = "agent" }', True, id="agent-twice"),
        pytest.param('interruptions = { more_than = 2, by = "agent" }', False, id="agent-not-3"),
        pytest.param('interruptions = { more_than = 1, by = "customer" }', False, id="cust-once"),
    ],
)
def test_interruptions_more_than_n(condition: str, flagged: bool) -> None:
    played = play_live(rules_of(one_condition(condition)), 70 * S, spurts=interrupted_call())
    assert played.names() == ({"Flagged"} if flagged else set())


def test_the_interruption_that_crosses_the_limit_is_the_moment_and_it_is_live() -> None:
    rules = rules_of(one_condition('interruptions = { more_than = 1, by = "agent" }'))
    played = play_live(rules, 70 * S, spurts=interrupted_call())
    match = played.match("Flagged")
    assert match.at_ms == 35 * S and match.live
    assert match.evidence == (
        "2 interruptions by the agent; the last: the agent over the customer at 0:35"
    )


# -- quality -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "flagged"),
    [
        pytest.param('quality = { kind = "loss" }', True, id="loss-named-as-in-the-rules"),
        pytest.param('quality = { kind = "jitter" }', False, id="another-kind"),
        pytest.param('quality = { kind = "loss", of = "customer" }', True, id="customers-line"),
        pytest.param('quality = { kind = "loss", of = "agent" }', False, id="not-agents-line"),
        pytest.param("quality = {}", True, id="any-kind"),
    ],
)
def test_a_quality_alert_of_the_kind_named(condition: str, flagged: bool) -> None:
    alert = QualityAlert("high_loss", "customer", 75 * S, "the customer's network is losing 9%")
    played = play_live(rules_of(one_condition(condition)), 120 * S, alerts=[alert])
    assert played.names() == ({"Flagged"} if flagged else set())
    if flagged:
        match = played.match("Flagged")
        assert match.at_ms == 75 * S and match.live
        assert "1:15" in match.evidence and "losing 9%" in match.evidence


# -- duration ----------------------------------------------------------------------------


def test_a_long_call_is_flagged_live_at_the_mark_it_passed() -> None:
    call = CallCategories(rules_of(one_condition("duration = { longer_than_s = 600 }")))
    assert call.feed(Tick(600 * S)) == []
    [match] = call.feed(Tick(601 * S))
    assert match.at_ms == 600 * S
    assert match.evidence == "the call ran longer than 10 min"
    assert call.finish(700 * S) == []


def test_a_call_shorter_than_the_limit_is_flagged_at_its_end_and_a_longer_one_is_not() -> None:
    rules = rules_of(one_condition("duration = { shorter_than_s = 20 }"))
    short = play_live(rules, 15 * S)
    assert short.names() == {"Flagged"}
    assert short.match("Flagged").evidence == "the call lasted 0:15"
    assert play_live(rules, 25 * S).names() == set()
    assert (
        play_live(rules_of(one_condition("duration = { longer_than_s = 600 }")), 500 * S).names()
        == set()
    )


# -- paused ------------------------------------------------------------------------------

LONG_PAUSE = one_condition("paused = { longer_than_s = 60 }", name="Long pause")


def test_a_recording_left_paused_is_flagged_live_while_still_paused() -> None:
    call = CallCategories(rules_of(LONG_PAUSE))
    assert call.feed(Pause(30 * S)) == []
    assert call.feed(Tick(90 * S)) == []
    [match] = call.feed(Tick(91 * S))
    assert match.at_ms == 30 * S and match.live
    assert match.evidence == "the recording was paused for over 1 min in all (from 0:30)"


def test_short_pauses_add_up_to_a_long_one() -> None:
    pauses = [Pause(10 * S, 40 * S), Pause(100 * S, 140 * S)]
    played = play_live(rules_of(LONG_PAUSE), 200 * S, pauses=pauses)
    assert played.match("Long pause").at_ms == 100 * S


def test_pauses_shorter_in_all_than_the_limit_are_not_flagged() -> None:
    pauses = [Pause(10 * S, 30 * S), Pause(100 * S, 130 * S)]
    assert play_live(rules_of(LONG_PAUSE), 200 * S, pauses=pauses).names() == set()


def test_a_call_that_ends_paused_counts_the_pause_to_its_end() -> None:
    played = play_live(rules_of(LONG_PAUSE), 100 * S, pauses=[Pause(20 * S)])
    assert played.match("Long pause").at_ms == 20 * S
