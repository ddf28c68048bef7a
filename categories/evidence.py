"""Why a condition held, in a short sentence a supervisor reads at a glance.

Each sentence depends only on the call's facts, never on when the engine
happened to look (a silence reads "over 30 s", not however long it had lasted
at the tick that noticed it), so a call evaluated live and again after it
ended gives the same words.
"""

from __future__ import annotations

from .category import ANYONE, DurationRule, SaidRule, Window

MS_PER_S = 1000


def clock(ms: int) -> str:
    """A moment of the call: 0:42, 12:05, 1:02:03."""
    s = max(0, ms) // MS_PER_S
    hours, rest = divmod(s, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def length(ms: int) -> str:
    """A length of time: 30 s, 2 min, 1 min 30 s, 1.5 s."""
    if ms % MS_PER_S:
        return f"{ms / MS_PER_S:g} s"
    minutes, seconds = divmod(ms // MS_PER_S, 60)
    if not minutes:
        return f"{seconds} s"
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"


def said(role: str, words: str, at_ms: int) -> str:
    return f'the {role} said "{words}" at {clock(at_ms)}'


def not_said(rule: SaidRule) -> str:
    first = rule.phrases[0].text
    others = len(rule.phrases) - 1
    what = f'"{first}"' + (f" (or {others} other phrase{'s' * (others > 1)})" if others else "")
    who = "nobody" if rule.by == ANYONE else f"the {rule.by}"
    verb = "said" if rule.by == ANYONE else "did not say"
    where = {
        Window.FIRST: f" in the first {length(rule.window_ms)}",
        Window.LAST: f" in the last {length(rule.window_ms)}",
        Window.ANYWHERE: "",
    }[rule.window]
    return f"{who} {verb} {what}{where}"


def sentiment(role: str, label: str, score: float, at_ms: int, *, at_end: bool) -> str:
    if at_end:
        return f"the {role}'s sentiment at the end was {label} ({score:+.2f})"
    return f"the {role} sounded {label} ({score:+.2f}) at {clock(at_ms)}"


def silence(start_ms: int, longer_than_ms: int) -> str:
    return f"nobody spoke for over {length(longer_than_ms)} from {clock(start_ms)}"


def interruptions(count: int, by: str, over: str, at_ms: int, party: str) -> str:
    who = "" if party == ANYONE else f" by the {party}"
    return f"{count} interruptions{who}; the last: the {by} over the {over} at {clock(at_ms)}"


def quality(kind: str, role: str, at_ms: int, message: str) -> str:
    said = f": {message}" if message else ""
    return f"quality alert ({kind}) on the {role}'s line at {clock(at_ms)}{said}"


def duration(rule: DurationRule, duration_ms: int) -> str:
    if rule.shorter_than_ms is None and rule.longer_than_ms is not None:
        return f"the call ran longer than {length(rule.longer_than_ms)}"
    return f"the call lasted {clock(duration_ms)}"


def paused(start_ms: int, longer_than_ms: int) -> str:
    return f"the recording was paused {_in_all(start_ms, longer_than_ms)}"


def hold(start_ms: int, longer_than_ms: int) -> str:
    return f"the customer was on hold {_in_all(start_ms, longer_than_ms)}"


def _in_all(start_ms: int, longer_than_ms: int) -> str:
    return f"for over {length(longer_than_ms)} in all (from {clock(start_ms)})"
