"""Text people type: control and direction characters are refused, and escaped when printed.

Guards: every free-text field the server accepts (a guest's or a shop's customer name,
call metadata keys and values, an agent's tags, recording search words) refuses C0 and C1
controls, DEL, line separators and the bidirectional controls, naming the field; Bengali
(whose conjuncts need the zero-width joiner), Korean, emoji sequences and accents pass
unchanged; the CLI's printable() shows each refused character (and other format
characters) as a \\x1b or \\u202e escape, keeps every script, and printable_json() stays
JSON that parses back to the same text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.recordings import RecordingSearch
from callcenter.errors import InvalidMessageError
from signaling.schemas import CreateCallBody, GuestBody, TagCall, parse
from signaling.text import plain_text, printable, printable_json

REFUSED = [
    pytest.param("\x1b", "\\x1b", id="escape"),
    pytest.param("\x07", "\\x07", id="bell"),
    pytest.param("\x00", "\\x00", id="nul"),
    pytest.param("\t", "\\x09", id="tab"),
    pytest.param("\n", "\\x0a", id="newline"),
    pytest.param("\x7f", "\\x7f", id="delete"),
    pytest.param("\x85", "\\x85", id="c1-next-line"),
    pytest.param("\x9b", "\\x9b", id="c1-control-sequence-introducer"),
    pytest.param("\u2028", "\\u2028", id="line-separator"),
    pytest.param("\u202a", "\\u202a", id="left-to-right-embedding"),
    pytest.param("\u202e", "\\u202e", id="right-to-left-override"),
    pytest.param("\u2066", "\\u2066", id="left-to-right-isolate"),
    pytest.param("\u2069", "\\u2069", id="pop-directional-isolate"),
    pytest.param("\u200e", "\\u200e", id="left-to-right-mark"),
    pytest.param("\u200f", "\\u200f", id="right-to-left-mark"),
    pytest.param("\u061c", "\\u061c", id="arabic-letter-mark"),
]

WELCOME = [
    pytest.param("র\u200d্যাব", id="bengali-conjunct-with-zero-width-joiner"),
    pytest.param("ক্\u200cষ", id="bengali-with-zero-width-non-joiner"),
    pytest.param("করিম উদ্দিন", id="bengali"),
    pytest.param("김민수", id="korean"),
    pytest.param("José Müller", id="accents"),
    pytest.param("👨\u200d👩\u200d👧 👍🏽", id="emoji-sequences"),
    pytest.param("O'Brien-Smith (shop #42)", id="punctuation"),
]


@pytest.mark.parametrize(("character", "escaped"), REFUSED)
def test_plain_text_refuses_control_and_direction_characters_and_shows_which(
    character: str, escaped: str
) -> None:
    with pytest.raises(ValueError, match="control or direction-override") as caught:
        plain_text(f"Karim{character}Uddin")
    assert f"(found {escaped})" in str(caught.value)


@pytest.mark.parametrize("text", WELCOME)
def test_plain_text_keeps_every_script_and_the_zero_width_joiners(text: str) -> None:
    assert plain_text(text) == text


@pytest.mark.parametrize(("character", "escaped"), REFUSED)
def test_printable_shows_each_refused_character_as_an_escape(character: str, escaped: str) -> None:
    assert printable(f"Karim{character}Uddin") == f"Karim{escaped}Uddin"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("a\u200bb", "a\\u200bb", id="zero-width-space"),
        pytest.param("\ufeffKarim", "\\ufeffKarim", id="byte-order-mark"),
        pytest.param("a\udc80b", "a\\udc80b", id="lone-surrogate-from-bad-utf8"),
        pytest.param("flag\U000e0067", "flag\\U000e0067", id="tag-character"),
    ],
)
def test_printable_escapes_other_format_characters_too(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("text", WELCOME)
def test_printable_keeps_every_script_as_it_is(text: str) -> None:
    assert printable(text) == text


def test_printable_json_escapes_what_json_lets_through_and_still_parses() -> None:
    row = {"customer_name": "Karim\x1b[2J\x85\u202eUddin", "agent_name": "র\u200d্যাব 😀"}
    text = printable_json(row, indent=2)
    assert "\x1b" not in text and "\x85" not in text and "\u202e" not in text
    assert "\\u001b" in text and "\\u0085" in text and "\\u202e" in text
    assert "র\u200d্যাব 😀" in text, "Bengali and emoji stay readable"
    assert json.loads(text) == row


@pytest.mark.parametrize(("character", "escaped"), REFUSED)
@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        pytest.param(GuestBody, lambda t: {"name": f"Karim{t}x"}, "name", id="guest-name"),
        pytest.param(
            CreateCallBody,
            lambda t: {"customer": {"id": "shop-42", "name": f"Karim{t}x"}},
            "customer.name",
            id="customer-name",
        ),
        pytest.param(
            CreateCallBody,
            lambda t: {"customer": {"id": "shop-42"}, "metadata": {"order": f"A{t}77"}},
            "metadata.order",
            id="metadata-value",
        ),
        pytest.param(
            TagCall,
            lambda t: {"call_id": "c_0123456789", "tags": ["refund", f"late{t}x"]},
            "tags.1",
            id="tag",
        ),
        pytest.param(
            RecordingSearch, lambda t: {"customer": f"Karim{t}x"}, "customer", id="search"
        ),
    ],
)
def test_every_free_text_field_refuses_them_naming_the_field(
    model: Any, data: Any, field: str, character: str, escaped: str
) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        parse(model, data(character))
    error = caught.value.to_wire()
    assert error["field"] == field
    assert error["message"] == (
        f"{field}: must not contain control or direction-override characters (found {escaped})"
    )


def test_a_refused_metadata_key_is_named_escaped() -> None:
    with pytest.raises(InvalidMessageError) as caught:
        parse(CreateCallBody, {"customer": {"id": "shop-42"}, "metadata": {"ord\x1ber": "1"}})
    assert caught.value.field == "metadata.ord\\x1ber.[key]"
    assert caught.value.message.isprintable()
