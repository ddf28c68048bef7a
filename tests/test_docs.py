"""The map in the docs is the code: every module docs/architecture.md and the README name exists.

Guards: after modules move (issue 14 moved most of ``signaling/`` into ``node/`` and
``callcenter/``), a page that still sends a reader to ``signaling/switchboard.py`` sends
them nowhere. A path (``node/call_media.py``) must exist from the repository's root; a bare
module name (``connections.py``) in a README package row, or under an architecture heading
that names a package (``## The node: `node/` ``), must exist in that package.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATH = re.compile(r"`([a-z_]+/[a-z_/.-]+\.(?:py|js|md|html|css))`")
MODULE = re.compile(r"`([a-z_]+\.py)`")
PACKAGE = re.compile(r"`([a-z_]+)/`")


def _missing(text: str) -> list[str]:
    missing = []
    package: str | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            named = PACKAGE.search(line)
            package = named.group(1) if named else None
        row = re.match(r"\| `([a-z_]+)/` \|", line)
        where = row.group(1) if row else package
        missing += [p for p in PATH.findall(line) if not (ROOT / p).exists()]
        if where is not None:
            missing += [
                f"{where}/{m}" for m in MODULE.findall(line) if not (ROOT / where / m).exists()
            ]
    return missing


@pytest.mark.parametrize("page", ["docs/architecture.md", "README.md"])
def test_every_module_a_page_names_exists(page: str) -> None:
    missing = _missing((ROOT / page).read_text(encoding="utf-8"))
    assert missing == [], f"{page} names modules that do not exist: {sorted(set(missing))}"


def test_a_moved_module_is_caught() -> None:
    """The check itself: a page naming a module that is gone fails."""
    page = "## The desks: `node/`\n\n| `gone_desk.py` | x |\nsee `signaling/switchboard.py`\n"
    assert _missing(page) == ["node/gone_desk.py", "signaling/switchboard.py"]
