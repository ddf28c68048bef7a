"""Imports run one way: the layers named in docs/architecture.md, read from the source.

A module that imports against the arrows (media reaching up into signalling, the domain
importing a web framework, production code reaching into the benchmarks) fails here with
the file and the import that does it. ``bench`` sits on top and may import anything; the
one production module that reaches it is the CLI, and only inside a ``kotha bench``
subcommand's function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level modules it must never import (``bench``, on top of everything, may
# import anything, so it has no entry; no production package may import it)
EDGES = frozenset({"signaling", "api", "client"})
BENCH = "bench"
FORBIDDEN: dict[str, frozenset[str]] = {
    # The media plane is the bottom layer: everything consumes its taps, it knows nobody.
    "media": EDGES
    | {
        "recording",
        "quality",
        "transcribe",
        "conversation",
        "categories",
        "analytics",
        "webhooks",
        "callcenter",
        "node",
        BENCH,
    },
    # The node-local runtime (sockets, timers, each call's media) serves the edges: it may
    # use the domain and media's consumers, never an edge.
    "node": EDGES | {BENCH},
    # The domain: plain values and rules, on one node or many; no edge, no media stack.
    "callcenter": EDGES
    | {
        "recording",
        "quality",
        "transcribe",
        "conversation",
        "categories",
        "analytics",
        "webhooks",
        "aiohttp",
        "socketio",
        "engineio",
        "aiortc",
        "av",
        "node",
        BENCH,
    },
    # Consumers of media's taps know nothing of the edges or the domain.
    "recording": EDGES | {"callcenter", "node", BENCH},
    "quality": EDGES | {"callcenter", "node", BENCH},
    "transcribe": EDGES | {"callcenter", "node", BENCH},
    # Conversation characteristics: measured from media's taps, added up from plain
    # spans; the recording writes them beside its files, so it sits below recording.
    "conversation": EDGES | {"callcenter", "node", "recording", "quality", "transcribe", BENCH},
    # Categories: an operator's rules over a call's facts (plain values), live or after it.
    "categories": EDGES
    | {
        "callcenter",
        "node",
        "media",
        "recording",
        "quality",
        "transcribe",
        "aiohttp",
        "socketio",
        "aiortc",
        BENCH,
    },
    # Webhooks: the shop's backend told over HTTP (aiohttp's client), from plain values.
    "webhooks": EDGES
    | {
        "media",
        "recording",
        "quality",
        "transcribe",
        "conversation",
        "categories",
        "callcenter",
        "node",
        "analytics",
        BENCH,
    },
    # Contact analytics: the floor's numbers from contact records (the domain's values).
    "analytics": EDGES
    | {"media", "recording", "quality", "transcribe", "node", "aiohttp", "aiortc", BENCH},
    # The protocol client speaks the wire (node.events) over media's client peer; it
    # knows nothing of the server's insides.
    "client": frozenset(
        {
            "api",
            "callcenter",
            "recording",
            "quality",
            "transcribe",
            "conversation",
            "categories",
            BENCH,
        }
    ),
    # The REST edge calls into the switchboard; the socket edge never calls into it.
    "api": frozenset({"client", BENCH}),
    "signaling": frozenset({"api", "client", BENCH}),
}
# Where one edge may reach another: the app factory wires the REST edge into the server,
# and the CLI's ``kotha bench`` subcommands run the benchmarks (inside their functions:
# see test_the_cli_reaches_bench_only_when_a_benchmark_runs).
ALLOWED: set[tuple[str, str]] = {
    ("signaling/app.py", "api"),
    ("signaling/cli_bench.py", BENCH),
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
            if (path.relative_to(ROOT).as_posix(), top) in ALLOWED:
                continue
            if top in FORBIDDEN[package] or (
                media_in_domain and module not in ALLOWED_MEDIA_IN_DOMAIN
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


# What changes the call centre's state: only the node runs these (Switchboard.commit).
STATE_CHANGES = frozenset(
    {
        "callcenter.lifecycle",
        "callcenter.in_call",
        "callcenter.agents",
        "callcenter.memory_registry",
        "callcenter.redis_registry",
    }
)
# What the edges may read of the changes' modules: a pure lookup, no change.
EDGE_READS = {("signaling/rooms.py", "callcenter.in_call")}


@pytest.mark.parametrize("edge", sorted(EDGES - {"client"}))
def test_the_edges_change_no_state_themselves(edge: str) -> None:
    """The socket and REST edges parse, authorise and call the node; the node changes state."""
    wrong = []
    for path in sorted((ROOT / edge).rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for line, module in imports_of(path):
            if module in STATE_CHANGES and (where, module) not in EDGE_READS:
                wrong.append(f"{where}:{line} imports {module}")
    assert wrong == [], "an edge changing state itself:\n" + "\n".join(wrong)


def test_the_cli_reaches_bench_only_when_a_benchmark_runs() -> None:
    """``kotha serve`` never loads a benchmark: bench is imported inside ``_bench_*`` only."""
    reaches: list[str] = []
    for path in sorted((ROOT / "signaling").glob("cli*.py")):
        tree = ast.parse(path.read_text(), str(path))
        imports_bench = {
            node
            for node in ast.walk(tree)
            if (
                isinstance(node, ast.Import)
                and any(alias.name.split(".")[0] == BENCH for alias in node.names)
            )
            or (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").split(".")[0] == BENCH
            )
        }
        in_functions: set[ast.AST] = set()
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if node in imports_bench:
                    reaches.append(f"{path.name}:{function.name}")
                    in_functions.add(node)
        at_load = sorted(node.lineno for node in imports_bench - in_functions)
        where = path.relative_to(ROOT).as_posix()
        assert at_load == [], f"{where} imports bench when it loads (lines {at_load})"
    assert reaches, "the kotha bench subcommands no longer import bench: update this test"
    assert all(name.split(":")[1].startswith("_bench_") for name in reaches), reaches
