"""The operator's rules file (TOML) read strictly into categories.

An operator writes the rules by hand, and a rule that silently does nothing
(a misspelt key, a phrase list left empty, "30" in quotes) is worse than one
that is refused: the supervisors would trust a category that never fires. So
every key is checked against the few its table may hold (``schema.py``), and
each mistake is a :class:`RulesError` that names the category and the field
and says what to write instead. The file is bounded (categories, phrases,
their length) because every live call on the node evaluates all of it. See
docs/categories.md.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .category import Category, Severity
from .errors import RulesError
from .rules import Rules
from .schema import EXAMPLES, Place, check_keys, condition, flag

MAX_FILE_BYTES = 1_000_000
MAX_CATEGORIES = 200
MAX_CONDITIONS = 20
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 1000

CATEGORY_KEYS = ("name", "description", "severity", "alert", "live", "condition")
_ERROR_LINE = re.compile(r"at line (\d+)")
_CATEGORY_HEADER = re.compile(r"^\s*\[\[\s*category\s*\]\]")
_NAME_LINE = re.compile(r'^\s*name\s*=\s*"([^"]*)"')


def load_rules(path: str | Path) -> Rules:
    """The rules in the TOML file at ``path``."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RulesError(
                f"{path} is larger than {MAX_FILE_BYTES // 1000} kB: keep the rules to "
                f"at most {MAX_CATEGORIES} categories of a few phrases each."
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"Cannot read the rules file {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path} is not UTF-8 text: save it as UTF-8.") from exc
    return parse_rules(text, source=str(path))


def parse_rules(text: str, *, source: str = "The rules") -> Rules:
    """The rules written in ``text`` (TOML)."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise RulesError(f"{source}: the text is larger than {MAX_FILE_BYTES // 1000} kB.")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, category = _syntax_error(text, source, str(exc))
        raise RulesError(message, category=category) from exc
    unknown = [k for k in data if k != "category"]
    if unknown:
        raise RulesError(
            f'{source}: unknown top-level key "{unknown[0]}". The file holds only categories: '
            'start each one with [[category]] and give it a name = "...".'
        )
    tables = data.get("category", [])
    if not isinstance(tables, list):
        raise RulesError(
            f"{source}: write [[category]] (two brackets) before each category, not [category]."
        )
    if len(tables) > MAX_CATEGORIES:
        raise RulesError(
            f"{source}: {len(tables)} categories; at most {MAX_CATEGORIES} are allowed "
            "(every live call evaluates all of them)."
        )
    return Rules([_category(table, n) for n, table in enumerate(tables, 1)])


def _syntax_error(text: str, source: str, message: str) -> tuple[str, str | None]:
    """A TOML syntax error, placed in the category it is in (the last name before it)."""
    found = _ERROR_LINE.search(message)
    name = None
    if found:
        for line in text.splitlines()[: int(found.group(1))]:
            if _CATEGORY_HEADER.match(line):
                name = None
            elif (named := _NAME_LINE.match(line)) and name is None:
                name = named.group(1)
    where = f' (in category "{name}")' if name else ""
    return (
        f"{source}: this is not valid TOML{where}: {message}. Check the quotes around text, "
        "the commas between list items and the braces of each condition, e.g. "
        f"{EXAMPLES['said']}"
    ), name


def _category(table: Any, n: int) -> Category:
    place = Place(n)
    if not isinstance(table, dict):
        raise place.error("is not a table", 'Start it with [[category]] and a name = "..." line.')
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise place.error(
            "has no name", 'Give it one, e.g. name = "Long hold" (the floor shows it).'
        )
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise place.at("name").error(
            f"is {len(name)} characters long", f"Keep it to {MAX_NAME_CHARS} at most."
        )
    place = Place(n, name)
    check_keys(table, CATEGORY_KEYS, place, "Conditions go under [[category.condition]].")
    description = table.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        raise place.at("description").error(
            "must be text in quotes",
            f"Write a sentence or two, at most {MAX_DESCRIPTION_CHARS} characters.",
        )
    severity = table.get("severity", Severity.INFO.value)
    if severity not in tuple(s.value for s in Severity):
        raise place.at("severity").error(
            f"cannot be {severity!r}", 'Write severity = "info", "warning" or "critical".'
        )
    alert = flag(table, "alert", False, place)
    live = flag(table, "live", True, place)
    conditions = table.get("condition")
    if conditions is None or conditions == []:
        raise place.error(
            "has no conditions",
            f"Add at least one [[category.condition]] below it, e.g. {EXAMPLES['paused']}",
        )
    if not isinstance(conditions, list):
        raise place.at("condition").error(
            "is a single table", "Write [[category.condition]] (two brackets) for each condition."
        )
    if len(conditions) > MAX_CONDITIONS:
        raise place.error(
            f"has {len(conditions)} conditions", f"At most {MAX_CONDITIONS} are allowed."
        )
    return Category(
        name=name,
        conditions=tuple(
            condition(c, place.at(f"condition {k}")) for k, c in enumerate(conditions, 1)
        ),
        description=description.strip(),
        severity=Severity(severity),
        alert=alert,
        live=live,
    )
