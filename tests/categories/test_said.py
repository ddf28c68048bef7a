"""Phrases a supervisor's rules listen for, in Bengali script, romanised Bengali and English.

Guards:
- a phrase counts only when the party the rule names said it (the agent saying "cancel"
  is not the customer asking to cancel);
- text is compared normalised (NFC, casefold, punctuation and the danda removed, spaces
  collapsed) and as whole words: "cancel" is not found in "cancellation"; "বাতিল*" finds
  the word with its Bengali endings;
- windows: the first N s (an utterance begun in them), the last N s (decided at the end),
  anywhere;
- negation: "not said by the agent in the first 30 s" matches live at the 30 s mark once
  the transcript is surely in, and does not match when it was said in time; a phrase said
  only after the window does not rescue the call.
"""

from __future__ import annotations

import unicodedata

import pytest

from categories import TRANSCRIPT_LAG_MS, CallCategories, Tick, normalize

from .calls import S, play_live, rules_of, said, talk

CANCEL = """
[[category]]
name = "Cancel requested"
[[category.condition]]
said = { by = "customer", phrases = ["cancel", "বাতিল*", "batil kore din"] }
"""

DISCLOSURE = """
[[category]]
name = "Recording disclosure missing"
alert = true
severity = "warning"
[[category.condition]]
said = { by = "agent", within_first_s = 30, negate = true, phrases = [
    "this call is recorded", "কলটি রেকর্ড করা হচ্ছে", "kolti record kora hocche"] }
"""

CLOSING = """
[[category]]
name = "Closing missing"
[[category.condition]]
said = { by = "agent", within_last_s = 30, negate = true, phrases = ["ধন্যবাদ", "thank you"] }

[[category]]
name = "Thanked at the end"
[[category.condition]]
said = { by = "agent", within_last_s = 30, phrases = ["ধন্যবাদ", "thank you"] }
"""


def categories_of(toml: str, *utterances, duration_s: float = 120) -> set[str]:
    return play_live(rules_of(toml), round(duration_s * S), utterances=utterances).names()


def test_the_customer_asking_to_cancel_in_english_marks_the_call_at_that_moment() -> None:
    played = play_live(
        rules_of(CANCEL), 120 * S, utterances=[said("customer", "Please CANCEL my order!", 42)]
    )
    match = played.match("Cancel requested")
    assert match.at_ms == 42 * S
    assert match.evidence == 'the customer said "cancel" at 0:42'


def test_the_agent_saying_cancel_does_not_mark_a_rule_about_the_customer() -> None:
    assert categories_of(CANCEL, said("agent", "You can cancel any time", 10)) == set()


def test_a_bengali_request_with_a_danda_and_a_word_ending_is_found() -> None:
    text = "আমি অর্ডারটা বাতিলের কথা বলছি।"
    assert categories_of(CANCEL, said("customer", text, 5)) == {"Cancel requested"}


def test_romanised_bengali_is_matched_whatever_its_capitals_and_punctuation() -> None:
    text = "Apa, order ta BATIL   kore din, please."
    assert categories_of(CANCEL, said("customer", text, 5)) == {"Cancel requested"}


def test_a_phrase_inside_a_longer_word_is_not_a_match() -> None:
    text = "What is the cancellation policy? বাতি জ্বলছে না"
    assert categories_of(CANCEL, said("customer", text, 5)) == set()


def test_a_phrase_matches_whether_its_bengali_vowel_signs_are_composed_or_not() -> None:
    toml = """
    [[category]]
    name = "Wrong product"
    [[category.condition]]
    said = { phrases = ["ভুল প্রোডাক্ট"] }
    """
    decomposed = unicodedata.normalize("NFD", "ভুল প্রোডাক্ট এসেছে")
    zwnj = "ভুল প্রো\u200cডাক্ট এসেছে"
    assert decomposed != "ভুল প্রোডাক্ট এসেছে"
    assert categories_of(toml, said("customer", decomposed, 3)) == {"Wrong product"}
    assert categories_of(toml, said("customer", zwnj, 3)) == {"Wrong product"}


def test_text_is_normalised_the_same_on_both_sides() -> None:
    assert normalize("  কলটি   রেকর্ড করা হচ্ছে। ধন্যবাদ!! ") == "কলটি রেকর্ড করা হচ্ছে ধন্যবাদ"
    assert normalize("Don't CANCEL—please") == "dont cancel please"
    assert normalize("অর্ডার নং ১২৩") == "অর্ডার নং 123"


@pytest.mark.parametrize(
    ("at_s", "expected"),
    [
        pytest.param(12, {"Refund early"}, id="said-in-the-first-30-s"),
        pytest.param(29.5, {"Refund early"}, id="begun-just-before-the-mark"),
        pytest.param(31, set(), id="said-after-the-first-30-s"),
    ],
)
def test_a_phrase_within_the_first_seconds_counts_only_when_said_early(
    at_s: float, expected: set[str]
) -> None:
    toml = """
    [[category]]
    name = "Refund early"
    [[category.condition]]
    said = { by = "customer", phrases = ["refund", "টাকা ফেরত"], within_first_s = 30 }
    """
    assert categories_of(toml, said("customer", "আমার টাকা ফেরত চাই", at_s)) == expected


def test_a_disclosure_never_said_is_flagged_live_just_after_the_30_s_mark() -> None:
    rules = rules_of(DISCLOSURE)
    call = CallCategories(rules)
    assert call.feed(said("agent", "Hello, how can I help?", 2)) == []
    assert call.feed(Tick(30 * S)) == []  # the transcript of the 30 s may still be coming
    [match] = call.feed(Tick(30 * S + TRANSCRIPT_LAG_MS))
    assert match.category == "Recording disclosure missing"
    assert match.at_ms == 30 * S
    assert match.alert and match.live
    assert "the agent did not say" in match.evidence
    assert "in the first 30 s" in match.evidence


@pytest.mark.parametrize(
    "text",
    [
        "This call is recorded for quality.",
        "আপনার কলটি রেকর্ড করা হচ্ছে।",
        "Kolti record kora hocche, bolun",
    ],
    ids=["english", "bengali", "romanised"],
)
def test_a_disclosure_said_in_time_is_not_flagged(text: str) -> None:
    played = play_live(rules_of(DISCLOSURE), 120 * S, utterances=[said("agent", text, 8)])
    assert played.names() == set()


def test_a_disclosure_said_by_the_customer_does_not_count_for_the_agent() -> None:
    utterance = said("customer", "is this call is recorded?", 8)
    played = play_live(rules_of(DISCLOSURE), 120 * S, utterances=[utterance])
    assert played.names() == {"Recording disclosure missing"}


def test_a_disclosure_said_only_after_30_s_is_still_missing() -> None:
    utterance = said("agent", "this call is recorded", 45)
    played = play_live(rules_of(DISCLOSURE), 120 * S, utterances=[utterance])
    assert played.match("Recording disclosure missing").live


def test_a_missing_disclosure_waits_while_the_agent_is_still_talking_past_the_mark() -> None:
    # The agent talks from 25 s to 40 s; the disclosure is in that utterance.
    utterance = said("agent", "kolti record kora hocche", 25, for_s=15)
    played = play_live(
        rules_of(DISCLOSURE),
        120 * S,
        utterances=[utterance],
        spurts=[talk("agent", 25, 40)],
    )
    assert played.names() == set()


def test_a_missing_disclosure_is_flagged_after_the_agents_long_turn_ends() -> None:
    played = play_live(
        rules_of(DISCLOSURE),
        120 * S,
        utterances=[said("agent", "hello there", 25, for_s=15)],
        spurts=[talk("agent", 25, 40)],
    )
    match = played.match("Recording disclosure missing")
    assert match.at_ms == 30 * S and match.live
    fed_at = played.when("Recording disclosure missing")
    assert isinstance(fed_at, Tick) and fed_at.now_ms >= 40 * S + TRANSCRIPT_LAG_MS


def test_a_call_ending_before_the_mark_without_the_disclosure_is_flagged_at_its_end() -> None:
    played = play_live(rules_of(DISCLOSURE), 20 * S, utterances=[said("agent", "hello", 1)])
    match = played.match("Recording disclosure missing")
    assert match.at_ms == 20 * S
    assert not match.live


def test_no_thanks_in_the_last_30_s_is_flagged_when_the_call_ends() -> None:
    played = play_live(
        rules_of(CLOSING), 300 * S, utterances=[said("agent", "Thank you for waiting", 60)]
    )
    assert played.names() == {"Closing missing"}
    match = played.match("Closing missing")
    assert (match.at_ms, match.live) == (300 * S, False)
    assert match.evidence == 'the agent did not say "ধন্যবাদ" (or 1 other phrase) in the last 30 s'


def test_thanks_in_the_last_30_s_is_found_at_the_end_not_live() -> None:
    played = play_live(
        rules_of(CLOSING), 300 * S, utterances=[said("agent", "অনেক ধন্যবাদ, আপা", 280)]
    )
    assert played.names() == {"Thanked at the end"}
    assert played.live == []
    assert played.match("Thanked at the end").at_ms == 280 * S


def test_a_phrase_never_said_anywhere_is_decided_at_the_end() -> None:
    toml = """
    [[category]]
    name = "Order number never asked"
    [[category.condition]]
    said = { by = "agent", negate = true, phrases = ["order number", "অর্ডার নম্বর"] }
    """
    asked = play_live(rules_of(toml), 90 * S, utterances=[said("agent", "আপনার অর্ডার নম্বর বলুন", 70)])
    assert asked.names() == set()
    never = play_live(rules_of(toml), 90 * S, utterances=[said("agent", "বলুন", 70)])
    assert never.names() == {"Order number never asked"}
    assert never.live == []
