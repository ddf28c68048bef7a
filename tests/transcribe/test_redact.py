"""Card, wallet, OTP and PIN numbers never reach a transcript, however they were spoken.

Guards: Latin digits, Bengali digits and number words (English, Bengali, romanised Bengali,
Korean, and the bracketed number tokens of the Korean model) are all masked; the mask keeps
the utterance readable (the last digits of a card or wallet number stay, in the script they
were said in); OTPs and PINs are masked whole when the utterance says what they are; an
order number or a quantity stays as said. While a number is still being said, the
partial results the agent reads live show at most its first three digits, never the
number (an OTP not even those).
"""

from __future__ import annotations

import unicodedata

import pytest

from transcribe.recognizer import Partial
from transcribe.redact import NUMBER_WORDS, redact
from transcribe.utterance import Speaker, partial_of

CUSTOMER = Speaker("p1", "customer", "Karim")


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        # a bKash wallet (a Bangladeshi mobile number), in Latin digits, grouped or not
        ("my bKash number is 01712345789", "my bKash number is •••• •••• 789"),
        ("my bKash number is 017-1234-5789", "my bKash number is •••• •••• 789"),
        ("call me on 8801712345789 please", "call me on •••• •••• •• 789 please"),
        # ...in Bengali digits: the digits left are Bengali too
        ("আমার বিকাশ নম্বর ০১৭১২৩৪৫৭৮৯", "আমার বিকাশ নম্বর •••• •••• ৭৮৯"),
        # ...and as number words
        (
            "nagad zero one seven one two three four five seven eight nine ok",
            "nagad •••• •••• 789 ok",
        ),
        ("রকেট শূন্য এক সাত এক দুই তিন চার পাঁচ সাত আট নয়", "রকেট •••• •••• 789"),
        ("amar number shunno ek sat ek dui tin char panch sat at noy", "amar number •••• •••• 789"),
        # a card number: all but the last four
        ("card 4111 1111 1111 1234 expires soon", "card •••• •••• •••• 1234 expires soon"),
        # OTPs and PINs: masked whole when the utterance says what they are
        ("my OTP is 4 8 2 9 1 7", "my OTP is •••• ••"),
        ("the pin is one two three four", "the pin is ••••"),
        ("ওটিপি হলো ৪৮২৯", "ওটিপি হলো ••••"),
        ("인증 번호는 일 이 삼 사 오 육 입니다", "인증 번호는 •••• •• 입니다"),
        # numbers the Korean model writes as bracketed tokens
        ("인증 번호는 [4] [8] [2] [9] 입니다", "인증 번호는 •••• 입니다"),
        ("카드 [4111] [1111] [1111] [1234]", "카드 •••• •••• •••• 1234"),
    ],
)
def test_numbers_that_open_an_account_are_masked(said: str, shown: str) -> None:
    assert redact(said) == shown


@pytest.mark.parametrize(
    "said",
    [
        "my order number is 4471",  # four digits, no OTP or PIN in sight
        "I ordered two phones and one charger",
        "আমি তিনটা জামা অর্ডার করেছি",
        "이 상품은 좋아요",  # "이" is also "this": one word is not a number
        "",
    ],
)
def test_everything_else_stays_as_said(said: str) -> None:
    assert redact(said) == said


def partials_of(said: str) -> list[str]:
    """What the agent reads live as ``said`` is spoken, one more word in each partial."""
    words = said.split()
    return [
        partial_of(Partial(" ".join(words[:n])), speaker=CUSTOMER, t_ms=0).text
        for n in range(1, len(words) + 1)
    ]


def digits_shown(text: str) -> int:
    """How many digits ``text`` shows, however they were said (digits or number words)."""
    count = 0
    for word in text.split():
        if word.isdigit():  # Latin or Bengali digits
            count += len(word)
        elif unicodedata.normalize("NFC", word.lower()) in NUMBER_WORDS:
            count += 1
    return count


@pytest.mark.parametrize(
    ("before", "number", "after"),
    [
        ("my bkash number is", "zero one seven one two three four five seven eight nine", "ok"),
        ("card", "4111 1111 1111 1234", "expires soon"),
        ("আমার নম্বর", "শূন্য এক সাত এক দুই তিন চার পাঁচ সাত আট নয়", "ঠিক আছে"),
    ],
)
def test_a_number_spoken_across_partials_never_shows_in_them(
    before: str, number: str, after: str
) -> None:
    while_said = partials_of(f"{before} {number}")
    assert max(digits_shown(partial) for partial in while_said) <= 3, while_said
    # Once the speaker has moved on, the number reads as the final utterance will.
    said = f"{before} {number} {after}"
    assert partials_of(said)[-1] == redact(said)


def test_an_otp_being_said_is_masked_from_its_first_digit() -> None:
    assert partials_of("my otp is four eight two nine") == [
        "my",
        "my otp",
        "my otp is",
        "my otp is •",
        "my otp is ••",
        "my otp is •••",
        "my otp is ••••",
    ]


def test_a_short_number_said_in_passing_stays_readable_in_partials() -> None:
    assert partials_of("I want two phones") == ["I", "I want", "I want two", "I want two phones"]
