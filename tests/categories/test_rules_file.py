"""The operator's rules file: the example loads, and each mistake is told in plain words.

Guards:
- docs/categories.example.toml loads, and uses every kind of condition;
- a misspelt key, a number in quotes, a negative time, an empty phrase list, a phrase
  of punctuation only, two windows, a wrong severity or party, a TOML syntax error, a
  category without conditions, two conditions in one table and two categories of one
  name are each a RulesError that names the category and the field and says what to
  write instead;
- the file is bounded (categories, phrases, phrase length);
- whatever values a condition is given, loading ends in rules or a RulesError, never
  another exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from categories import (
    DurationRule,
    HoldRule,
    InterruptionsRule,
    PausedRule,
    QualityRule,
    RulesError,
    SaidRule,
    SentimentRule,
    SilenceRule,
    load_rules,
    parse_rules,
)
from categories.schema import CONDITION_KEYS

from .calls import rules_of

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "categories.example.toml"


def error_of(toml: str) -> RulesError:
    with pytest.raises(RulesError) as raised:
        rules_of(toml)
    return raised.value


def category_with(condition: str, *, name: str = "Long hold", extra: str = "") -> str:
    return f"""
    [[category]]
    name = "Refund mentioned"
    [[category.condition]]
    said = {{ phrases = ["refund"] }}

    [[category]]
    name = "{name}"
    {extra}
    [[category.condition]]
    {condition}
    """


def test_the_example_rules_load_and_use_every_kind_of_condition() -> None:
    rules = load_rules(EXAMPLE)
    assert len(rules) >= 10
    kinds = {type(c) for category in rules for c in category.conditions}
    assert kinds == {
        SaidRule,
        SentimentRule,
        SilenceRule,
        InterruptionsRule,
        QualityRule,
        DurationRule,
        PausedRule,
        HoldRule,
    }
    disclosure = rules.category("Recording disclosure missing")
    assert disclosure.alert and disclosure.severity == "warning"


def test_a_misspelt_key_names_the_category_the_field_and_the_likely_key() -> None:
    error = error_of(category_with("paused = { longer_then_s = 60 }"))
    message = str(error)
    assert message.startswith('Category "Long hold" (the 2nd [[category]]), condition 1, paused')
    assert 'unknown key "longer_then_s"; did you mean "longer_than_s"?' in message
    assert "paused = { longer_than_s = 60 }" in message
    assert (error.category, error.field) == ("Long hold", "condition 1, paused")


@pytest.mark.parametrize(
    ("condition", "field", "advice"),
    [
        pytest.param(
            'silence = { longer_than_s = "30" }',
            "silence.longer_than_s",
            "without quotes",
            id="number-in-quotes",
        ),
        pytest.param(
            "paused = { longer_than_s = -5 }",
            "paused.longer_than_s",
            "0 or more",
            id="negative-time",
        ),
        pytest.param(
            "paused = { longer_than_s = true }",
            "paused.longer_than_s",
            "number of seconds",
            id="a-flag-for-a-time",
        ),
        pytest.param(
            "said = { phrases = [] }",
            "said.phrases",
            "one or more phrases",
            id="empty-phrase-list",
        ),
        pytest.param(
            'said = { phrases = "refund" }',
            "said.phrases",
            "one or more phrases",
            id="phrase-not-in-a-list",
        ),
        pytest.param(
            'said = { phrases = ["ok", "।!"] }',
            "said.phrases",
            "punctuation is ignored",
            id="punctuation-only-phrase",
        ),
        pytest.param(
            'said = { phrases = ["x*"] }',
            "said.phrases",
            "at least 2 letters",
            id="wildcard-on-one-letter",
        ),
        pytest.param(
            'said = { phrases = ["ok"], by = "customers" }',
            "said.by",
            '"agent", "customer", "supervisor" or "anyone"',
            id="unknown-party",
        ),
        pytest.param(
            'said = { phrases = ["ok"], within_first_s = 10, within_last_s = 10 }',
            "said",
            "Keep one",
            id="two-windows",
        ),
        pytest.param(
            'said = { phrases = ["ok"], negate = "yes" }',
            "said.negate",
            "negate = true or negate = false",
            id="flag-in-quotes",
        ),
        pytest.param(
            'sentiment = { of = "customer" }',
            "sentiment",
            "exactly one of label, below or above",
            id="sentiment-without-a-test",
        ),
        pytest.param(
            'sentiment = { of = "customer", below = -3 }',
            "sentiment.below",
            "from -1",
            id="score-out-of-range",
        ),
        pytest.param(
            'sentiment = { label = "angry" }',
            "sentiment.label",
            '"negative", "neutral" or "positive"',
            id="unknown-label",
        ),
        pytest.param(
            "interruptions = { more_than = 2.5 }",
            "interruptions.more_than",
            "whole number",
            id="fractional-count",
        ),
        pytest.param(
            'quality = { kind = "echo" }',
            "quality.kind",
            '"loss"',
            id="unknown-alert-kind",
        ),
        pytest.param(
            "duration = { longer_than_s = 300, shorter_than_s = 60 }",
            "duration",
            "can never hold",
            id="impossible-duration",
        ),
        pytest.param("duration = {}", "duration", "longer_than_s", id="empty-duration"),
    ],
)
def test_a_wrong_value_is_refused_with_what_to_write_instead(
    condition: str, field: str, advice: str
) -> None:
    error = error_of(category_with(condition))
    assert error.category == "Long hold"
    assert error.field == f"condition 1, {field}"
    assert str(error).startswith(
        f'Category "Long hold" (the 2nd [[category]]), condition 1, {field}'
    )
    assert advice in str(error)


@pytest.mark.parametrize(
    ("extra", "field", "advice"),
    [
        pytest.param('severity = "high"', "severity", '"info", "warning" or "critical"', id="sev"),
        pytest.param('alert = "yes"', "alert", "alert = true", id="alert-in-quotes"),
        pytest.param("alerts = true", None, 'did you mean "alert"?', id="misspelt-alert"),
    ],
)
def test_a_wrong_category_setting_is_refused(extra: str, field: str | None, advice: str) -> None:
    error = error_of(category_with("paused = { longer_than_s = 60 }", extra=extra))
    assert (error.category, error.field) == ("Long hold", field)
    assert advice in str(error)


def test_a_toml_syntax_error_says_which_category_it_is_in() -> None:
    error = error_of(category_with('said = { phrases = ["cancel" }', name="Cancel requested"))
    assert error.category == "Cancel requested"
    assert 'not valid TOML (in category "Cancel requested")' in str(error)
    assert "line 11" in str(error)


def test_single_brackets_are_explained() -> None:
    assert "two brackets" in str(error_of('[category]\nname = "Long hold"\n'))
    condition_table = '[[category]]\nname = "Long hold"\n[category.condition]\npaused = {}\n'
    assert "[[category.condition]] (two brackets)" in str(error_of(condition_table))


def test_a_category_without_conditions_or_name_is_refused() -> None:
    error = error_of('[[category]]\nname = "Long hold"\nseverity = "info"\n')
    assert 'Category "Long hold"' in str(error) and "has no conditions" in str(error)
    error = error_of("[[category]]\n[[category.condition]]\npaused = { longer_than_s = 1 }\n")
    assert str(error).startswith("Category 1 (the 1st [[category]]): has no name")


def test_two_conditions_in_one_table_are_refused() -> None:
    error = error_of(
        category_with("paused = { longer_than_s = 60 }\n    silence = { longer_than_s = 9 }")
    )
    assert error.field == "condition 1"
    assert "its own [[category.condition]]" in str(error)


def test_an_unknown_condition_kind_suggests_the_right_one() -> None:
    error = error_of(category_with('sayd = { phrases = ["refund"] }'))
    assert 'unknown kind "sayd"; did you mean "said"?' in str(error)


def test_two_categories_of_one_name_are_refused() -> None:
    error = error_of(category_with("paused = { longer_than_s = 60 }", name="refund MENTIONED"))
    assert "Two categories are named" in str(error)


def test_the_rules_are_bounded() -> None:
    many = "".join(
        f'[[category]]\nname = "c{n}"\n[[category.condition]]\npaused = {{ longer_than_s = 1 }}\n'
        for n in range(201)
    )
    assert "at most 200" in str(error_of(many))
    phrases = json.dumps([f"word{n}" for n in range(101)])
    assert "At most 100" in str(error_of(category_with(f"said = {{ phrases = {phrases} }}")))
    long_phrase = json.dumps(["x" * 201])
    error = error_of(category_with(f"said = {{ phrases = {long_phrase} }}"))
    assert "at most 200 characters" in str(error)


def test_a_missing_rules_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="Cannot read the rules file"):
        load_rules(tmp_path / "absent.toml")


def test_a_rules_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_rules("category = 3")


def toml_value(value: object) -> str:
    """``value`` written as TOML (strings as JSON strings, which TOML reads the same)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


values = st.recursive(
    st.none().map(lambda _: "x")
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(-1e6, 1e6, allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(CONDITION_KEYS)).flatmap(
        lambda kind: st.tuples(
            st.just(kind),
            st.dictionaries(st.sampled_from([*CONDITION_KEYS[kind], "oops"]), values, max_size=4),
        )
    )
)
def test_any_values_give_rules_or_a_rules_error_never_a_crash(
    drawn: tuple[str, dict[str, object]],
) -> None:
    kind, body = drawn
    try:
        rules_of(category_with(f"{kind} = {toml_value(body)}"))
    except RulesError as error:
        assert error.category in (None, "Long hold")
