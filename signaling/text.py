"""Text that people type (names, tags, call metadata): what is refused, and how it is printed.

A name travels to a supervisor's dashboard, a reviewer's list and an operator's
terminal. Control characters (NUL, BEL, ESC and the C1 controls U+0080-U+009F)
drive a terminal: ``ESC[2J`` clears it. Direction controls (U+202A-U+202E,
U+2066-U+2069, U+200E, U+200F, U+061C) make text read differently from what
it is (the "Trojan Source" trick, CVE-2021-42574). So:

* :func:`plain_text` is the validator of every free-text field the server
  accepts: such a character is refused with words, not silently removed (a
  caller that sent it should know). Lone surrogates are refused too: they
  cannot be written as UTF-8.
* :func:`printable` and :func:`printable_json` escape what is not printable
  in anything the CLI prints, since recordings made by an older version may
  still hold such names.

The zero-width joiner and non-joiner (U+200D, U+200C) are always kept: Bengali
script writes conjuncts with them (র‍্যাব), and emoji sequences need the joiner.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = ["REFUSED_MESSAGE", "plain_text", "printable", "printable_json"]

REFUSED_MESSAGE = "must not contain control or direction-override characters"

ZERO_WIDTH_JOINERS = frozenset("\u200c\u200d")

# C0 and DEL and C1 controls; the Unicode line and paragraph separators; the
# bidirectional marks, embeddings, overrides and isolates; lone surrogates.
_REFUSED = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)

# What a terminal must not be given raw: every "other" character that is a
# control or format character (Cc, Cf), a surrogate (Cs), or a line or
# paragraph separator (Zl, Zp). Private-use and unassigned characters are left
# alone: they draw a box at worst, and newer emoji are unassigned to older Pythons.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def plain_text(value: str) -> str:
    """The validator of every free-text field: ``value`` itself, or ValueError in words.

    Example: ``plain_text("Karim\\x1b[2J")`` raises ValueError("must not contain
    control or direction-override characters (found \\x1b)").
    """
    found = _REFUSED.search(value)
    if found is not None:
        raise ValueError(f"{REFUSED_MESSAGE} (found {_escape(found.group())})")
    return value


def printable(text: str) -> str:
    """``text`` with every character a terminal must not get raw written as an escape.

    ESC becomes ``\\x1b``, RIGHT-TO-LEFT OVERRIDE ``\\u202e``; letters of every
    script, emoji, spaces and the zero-width joiners stay as they are. Backslashes
    are not doubled: this is for people to read, not to parse back.
    """
    if text.isprintable():  # the usual case, and fast
        return text
    return "".join(_escape(char) if _unprintable(char) else char for char in text)


def printable_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON that stays valid and readable, with unprintable characters as ``\\u``.

    ``json.dumps(ensure_ascii=False)`` already escapes C0 controls but passes C1
    controls and direction overrides through; they can only occur inside
    strings, where a ``\\uXXXX`` escape means the same character.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    if text.replace("\n", "").isprintable():  # the usual case, and fast
        return text
    return "".join(
        _json_escape(char) if char != "\n" and _unprintable(char) else char for char in text
    )


def _unprintable(char: str) -> bool:
    if char in ZERO_WIDTH_JOINERS:
        return False
    return unicodedata.category(char) in _UNPRINTABLE_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters past U+FFFF
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
