"""Call categories: an operator's named rules, matched live during a call and after it.

Like the rules of Amazon Connect Contact Lens: a category is a name ("Recording
disclosure missing", "Long hold") and conditions over what was said by whom and
when, sentiment, silences, interruptions, quality alerts, the call's length, its
time on hold and the time its recording was paused. A live call's facts are fed
to a :class:`CallCategories`, which returns each category the moment the call
matches it, for the supervisors' floor; :func:`categorize` gives a stored call
the same matches afterwards.

Pure domain: plain values in, plain values out, no sockets, no media, no clock of
its own. The rules are TOML (``docs/categories.md``), loaded with :func:`load_rules`.
"""

from .call_categories import TRANSCRIPT_LAG_MS, CallCategories, CallState
from .category import (
    Category,
    Condition,
    DurationRule,
    HoldRule,
    InterruptionsRule,
    PausedRule,
    QualityRule,
    SaidRule,
    SentimentAt,
    SentimentRule,
    Severity,
    SilenceRule,
    Window,
)
from .errors import CallFinishedError, CategoriesError, RulesError
from .facts import Fact, Hold, Pause, QualityAlert, Talk, Tick, Utterance
from .loading import load_rules, parse_rules
from .match import Match
from .post_call import categorize
from .rules import Rules
from .text import normalize

__all__ = [
    "TRANSCRIPT_LAG_MS",
    "CallCategories",
    "CallFinishedError",
    "CallState",
    "CategoriesError",
    "Category",
    "Condition",
    "DurationRule",
    "Fact",
    "Hold",
    "HoldRule",
    "InterruptionsRule",
    "Match",
    "Pause",
    "PausedRule",
    "QualityAlert",
    "QualityRule",
    "Rules",
    "RulesError",
    "SaidRule",
    "SentimentAt",
    "SentimentRule",
    "Severity",
    "SilenceRule",
    "Talk",
    "Tick",
    "Utterance",
    "Window",
    "categorize",
    "load_rules",
    "normalize",
    "parse_rules",
]
