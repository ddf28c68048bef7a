"""One condition of a category, as the operator writes it in TOML, checked strictly.

Each condition kind has a few keys, a line that shows how it is written (quoted
back in every error about it), and a builder that turns the checked table into
its rule. A value is never coerced: "30" in quotes is refused with the line to
write instead, because a guess would make a rule the operator did not write.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from .category import (
    ANY_KIND,
    ANYONE,
    PARTIES,
    QUALITY_KINDS,
    SENTIMENT_LABELS,
    Condition,
    DurationRule,
    HoldRule,
    InterruptionsRule,
    PausedRule,
    QualityRule,
    SaidRule,
    SentimentAt,
    SentimentRule,
    SilenceRule,
    Window,
)
from .errors import RulesError
from .text import phrase_of

MAX_PHRASES = 100
MAX_PHRASE_CHARS = 200
MAX_SECONDS = 24 * 3600
MAX_COUNT = 10_000
MS = 1000

CONDITION_KEYS: dict[str, tuple[str, ...]] = {
    "said": ("by", "phrases", "within_first_s", "within_last_s", "negate"),
    "sentiment": ("of", "at", "label", "below", "above"),
    "silence": ("longer_than_s",),
    "interruptions": ("more_than", "by"),
    "quality": ("kind", "of"),
    "duration": ("longer_than_s", "shorter_than_s"),
    "paused": ("longer_than_s",),
    "hold": ("longer_than_s",),
}
EXAMPLES = {
    "said": 'said = { by = "agent", phrases = ["this call is recorded"], within_first_s = 30 }',
    "sentiment": 'sentiment = { of = "customer", at = "end", label = "negative" }',
    "silence": "silence = { longer_than_s = 30 }",
    "interruptions": 'interruptions = { more_than = 3, by = "agent" }',
    "quality": 'quality = { kind = "loss", of = "customer" }',
    "duration": "duration = { longer_than_s = 900 }",
    "paused": "paused = { longer_than_s = 60 }",
    "hold": "hold = { longer_than_s = 120 }",
}


class Place:
    """Where in the file a value is, for messages: the category, then the field."""

    def __init__(self, n: int, name: str | None = None, field: str = "") -> None:
        self.n, self.name, self.field = n, name, field

    def at(self, field: str, *, sep: str = ".") -> Place:
        return Place(self.n, self.name, f"{self.field}{sep}{field}" if self.field else field)

    def error(self, problem: str, fix: str) -> RulesError:
        who = f'Category "{self.name}"' if self.name else f"Category {self.n}"
        where = f"{who} (the {ordinal(self.n)} [[category]])"
        field = f", {self.field}" if self.field else ""
        stop = "" if problem.endswith("?") else "."
        return RulesError(
            f"{where}{field}: {problem}{stop} {fix}", category=self.name, field=self.field or None
        )


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def check_keys(table: Mapping[str, Any], known: tuple[str, ...], place: Place, fix: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise place.error(
                f'unknown key "{key}"{hint}',
                f"The keys allowed here are: {', '.join(known)}. {fix}",
            )


def flag(table: Mapping[str, Any], key: str, default: bool, place: Place) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise place.at(key).error(
            f"cannot be {value!r}", f"Write {key} = true or {key} = false (no quotes)."
        )
    return value


def condition(table: Any, place: Place) -> Condition:
    kinds = ", ".join(CONDITION_KEYS)
    if not isinstance(table, dict) or len(table) != 1:
        raise place.error(
            "must hold exactly one condition",
            f"Write each condition in its own [[category.condition]] as one of {kinds}, "
            f"e.g. {EXAMPLES['silence']}",
        )
    ((kind, body),) = table.items()
    if kind not in CONDITION_KEYS:
        close = difflib.get_close_matches(kind, CONDITION_KEYS, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise place.error(f'has an unknown kind "{kind}"{hint}', f"The kinds are: {kinds}.")
    place = place.at(kind, sep=", ")
    fix = f"Write it like {EXAMPLES[kind]}"
    if not isinstance(body, dict):
        raise place.error("must be a table in braces", fix)
    check_keys(body, CONDITION_KEYS[kind], place, fix)
    return _BUILDERS[kind](body, place, fix)


def _party(body: Mapping[str, Any], key: str, place: Place) -> str:
    value = body.get(key, ANYONE)
    if value not in PARTIES:
        raise place.at(key).error(
            f"cannot be {value!r}", f'Write {key} = "agent", "customer", "supervisor" or "anyone".'
        )
    return str(value)


def _seconds(body: Mapping[str, Any], key: str, place: Place, *, positive: bool = False) -> int:
    """Seconds as ms: a plain number (no quotes), 0 or more (more than 0 if ``positive``)."""
    value = body[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0) or value > MAX_SECONDS:
        least = "more than 0" if positive else "0 or more"
        raise place.at(key).error(
            f"cannot be {value!r}",
            f"Write a number of seconds, {least} and at most {MAX_SECONDS}, without quotes: "
            f"{key} = 30",
        )
    return round(float(value) * MS)


def _required(body: Mapping[str, Any], key: str, place: Place, fix: str) -> None:
    if key not in body:
        raise place.error(f'needs "{key}"', fix)


def _said(body: Mapping[str, Any], place: Place, fix: str) -> SaidRule:
    _required(body, "phrases", place, fix)
    phrases = body["phrases"]
    where = place.at("phrases")
    if not isinstance(phrases, list) or not phrases:
        raise where.error(
            "must be a list of one or more phrases in quotes",
            'Write e.g. phrases = ["cancel", "বাতিল"]',
        )
    if len(phrases) > MAX_PHRASES:
        raise where.error(f"has {len(phrases)} phrases", f"At most {MAX_PHRASES} are allowed.")
    compiled = []
    for k, phrase in enumerate(phrases, 1):
        if not isinstance(phrase, str) or len(phrase) > MAX_PHRASE_CHARS:
            raise where.error(
                f"phrase {k} ({phrase!r}) is not a phrase",
                f"Write each phrase as text in quotes, at most {MAX_PHRASE_CHARS} characters.",
            )
        try:
            compiled.append(phrase_of(phrase))
        except ValueError as exc:
            raise where.error(
                f"phrase {k} ({phrase!r}) cannot be matched: {exc}",
                "Write the words the speaker says; punctuation is ignored.",
            ) from exc
    if "within_first_s" in body and "within_last_s" in body:
        raise place.error(
            "has both within_first_s and within_last_s",
            "Keep one, or make two conditions (or two categories).",
        )
    window, window_ms = Window.ANYWHERE, 0
    if "within_first_s" in body:
        window, window_ms = Window.FIRST, _seconds(body, "within_first_s", place, positive=True)
    elif "within_last_s" in body:
        window, window_ms = Window.LAST, _seconds(body, "within_last_s", place, positive=True)
    return SaidRule(
        phrases=tuple(compiled),
        by=_party(body, "by", place),
        window=window,
        window_ms=window_ms,
        negate=flag(body, "negate", False, place),
    )


def _score(body: Mapping[str, Any], key: str, place: Place) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise place.at(key).error(
            f"cannot be {value!r}",
            f"Write a sentiment score from -1 (very negative) to 1 (very positive): {key} = -0.5",
        )
    return float(value)


def _sentiment(body: Mapping[str, Any], place: Place, fix: str) -> SentimentRule:
    given = [k for k in ("label", "below", "above") if k in body]
    if len(given) != 1:
        raise place.error(
            "needs exactly one of label, below or above",
            f'{fix}, or sentiment = {{ of = "customer", below = -0.5 }}',
        )
    at = body.get("at", SentimentAt.ANY.value)
    if at not in tuple(a.value for a in SentimentAt):
        raise place.at("at").error(
            f"cannot be {at!r}",
            'Write at = "end" (their sentiment as the call ended) or at = "any" (any utterance).',
        )
    label = body.get("label")
    if label is not None and label not in SENTIMENT_LABELS:
        raise place.at("label").error(
            f"cannot be {label!r}", 'Write label = "negative", "neutral" or "positive".'
        )
    return SentimentRule(
        of=_party(body, "of", place),
        at=SentimentAt(at),
        label=label,
        below=_score(body, "below", place) if "below" in body else None,
        above=_score(body, "above", place) if "above" in body else None,
    )


def _silence(body: Mapping[str, Any], place: Place, fix: str) -> SilenceRule:
    _required(body, "longer_than_s", place, fix)
    return SilenceRule(_seconds(body, "longer_than_s", place, positive=True))


def _interruptions(body: Mapping[str, Any], place: Place, fix: str) -> InterruptionsRule:
    _required(body, "more_than", place, fix)
    value = body["more_than"]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise place.at("more_than").error(
            f"cannot be {value!r}", "Write a whole number, 0 or more, without quotes: more_than = 3"
        )
    return InterruptionsRule(value, _party(body, "by", place))


def _quality(body: Mapping[str, Any], place: Place, fix: str) -> QualityRule:
    kind = body.get("kind", ANY_KIND)
    if kind not in (ANY_KIND, *QUALITY_KINDS):
        kinds = ", ".join(f'"{k}"' for k in (ANY_KIND, *QUALITY_KINDS))
        raise place.at("kind").error(f"cannot be {kind!r}", f"Write kind = one of {kinds}.")
    return QualityRule(str(kind), _party(body, "of", place))


def _duration(body: Mapping[str, Any], place: Place, fix: str) -> DurationRule:
    if not body:
        raise place.error("needs longer_than_s or shorter_than_s", fix)
    longer = _seconds(body, "longer_than_s", place) if "longer_than_s" in body else None
    shorter = (
        _seconds(body, "shorter_than_s", place, positive=True) if "shorter_than_s" in body else None
    )
    if longer is not None and shorter is not None and longer >= shorter:
        raise place.error(
            "can never hold: longer_than_s is not below shorter_than_s",
            "Write the shorter bound first, e.g. { longer_than_s = 60, shorter_than_s = 300 }.",
        )
    return DurationRule(longer, shorter)


def _longer_than(body: Mapping[str, Any], place: Place, fix: str) -> int:
    """A total time (``longer_than_s``, required; 0: any at all), as ms."""
    _required(body, "longer_than_s", place, fix)
    return _seconds(body, "longer_than_s", place)


def _paused(body: Mapping[str, Any], place: Place, fix: str) -> PausedRule:
    return PausedRule(_longer_than(body, place, fix))


def _hold(body: Mapping[str, Any], place: Place, fix: str) -> HoldRule:
    return HoldRule(_longer_than(body, place, fix))


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Place, str], Condition]] = {
    "said": _said,
    "sentiment": _sentiment,
    "silence": _silence,
    "interruptions": _interruptions,
    "quality": _quality,
    "duration": _duration,
    "paused": _paused,
    "hold": _hold,
}
