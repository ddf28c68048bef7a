"""Imports run one way: the layers named in docs/architecture.md, read from the source.

A module that imports against the arrows (media reaching up into signalling, the domain
importing a web framework) fails here with the file and the import that does it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level modules it must never import
FORBIDDEN: dict[str, frozenset[str]] = {
    # The media plane is the bottom layer: everything consumes its taps, it knows nobody.
    "media": frozenset({"signaling", "recording", "quality", "transcribe", "callcenter"}),
    # The domain: plain values and rules, on one node or many; no edge, no media stack.
    "callcenter": frozenset(
        {"signaling", "recording", "quality", "transcribe", "aiohttp", "socketio", "engineio"}
        | {"aiortc", "av"}
    ),
    # Consumers of media's taps know nothing of the signalling edge.
    "recording": frozenset({"signaling", "callcenter"}),
    "quality": frozenset({"signaling", "callcenter"}),
    "transcribe": frozenset({"signaling", "callcenter"}),
}
# The domain may name media's monitoring modes (a plain enum), nothing else of media.
ALLOWED_MEDIA_IN_DOMAIN = {"media.monitor"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in a file, relative ones left out."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_what_is_below_it(package: str) -> None:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imports_of(path):
            top = module.split(".")[0]
            media_in_domain = package == "callcenter" and top == "media"
            if top in FORBIDDEN[package] or (
                media_in_domain and module not in ALLOWED_MEDIA_IN_DOMAIN
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)
