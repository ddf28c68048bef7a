"""Running an attacker process, watching the server's memory, and reporting the figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.attack.server import ROOT, ServerProcess
from tests.attack.wire import Endpoint, socket_connect

MEMORY_TOLERANCE = 0.10


class AttackRun:
    """One ``python -m tests.attack.attacker`` process and what it has said so far."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        self.marks: dict[str, dict[str, Any]] = {}
        self.summary: dict[str, Any] | None = None
        self._changed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(
        cls, attack: str, server: ServerProcess, workdir: Path, **options: Any
    ) -> AttackRun:
        """Start ``attack`` on ``server``; ``options`` become flags (``hold=3`` is ``--hold 3``)."""
        argv = [sys.executable, "-m", "tests.attack.attacker", attack, "--url", server.url]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value is not False and value is not None:
                argv += [flag, str(value)]
        stderr = _log_file(workdir, f"attacker-{attack}-{time.monotonic_ns()}.log")
        with stderr.open("ab") as errors:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                limit=2**22,
            )
        return cls(process, stderr)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if "mark" in data:
                    self.marks[data["mark"]] = data
                elif "summary" in data:
                    self.summary = data["summary"]
            self._changed.set()
        self._changed.set()

    async def wait_mark(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """The mark ``name`` (with its ``at``), once the attacker has reached it."""
        async with asyncio.timeout(timeout):
            while name not in self.marks:
                if self._reader.done():
                    raise AssertionError(f"the attacker ended before {name!r}: {self.errors()}")
                self._changed.clear()
                await self._changed.wait()
        return self.marks[name]

    async def go(self) -> None:
        """Let an attacker started with ``wait_go=True`` begin (after its "ready" mark)."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def result(self, timeout: float = 60.0) -> dict[str, Any]:
        """The attacker's summary, once it has finished."""
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.kill()
            raise AssertionError(f"the attacker ran over {timeout} s: {self.errors()}") from None
        await self._reader
        if self.summary is None:
            raise AssertionError(f"the attacker gave no summary: {self.errors()}")
        return self.summary

    def errors(self) -> str:
        with contextlib.suppress(OSError):
            return self.stderr.read_text("utf-8", "replace")[-3000:]
        return ""

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def close(self) -> None:
        self.kill()
        if self.process.stdin is not None:
            self.process.stdin.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 5)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


def _log_file(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


class RssWatch:
    """The server's resident memory, sampled every 100 ms while the block runs: the peak."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RssWatch:
        self.peak_mb = self.server.rss_mb()
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(OSError, KeyError):
            self.peak_mb = max(self.peak_mb, self.server.rss_mb())

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(OSError, KeyError):
                self.peak_mb = max(self.peak_mb, self.server.rss_mb())
            await asyncio.sleep(0.1)


class CpuTrace:
    """The server's CPU seconds, sampled every 100 ms with the wall clock (``time.time()``),
    so the CPU spent between two of an attacker's marks can be read afterwards."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CpuTrace:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.samples.append((time.time(), self.server.cpu_s()))
            await asyncio.sleep(0.1)

    def at(self, when: float) -> float:
        """CPU seconds at the last sample taken at or before ``when``."""
        earlier = [cpu for at, cpu in self.samples if at <= when]
        return earlier[-1] if earlier else (self.samples[0][1] if self.samples else 0.0)

    def between(self, start: float, end: float) -> float:
        return round(self.at(end) - self.at(start), 3)


async def settled_rss(server: ServerProcess, before_mb: float, timeout: float = 6.0) -> float:
    """The server's memory once back within 10 % of ``before_mb`` (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        now = server.rss_mb()
        if now <= before_mb * (1 + MEMORY_TOLERANCE) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


def report(name: str, **figures: Any) -> None:
    """One line of figures in the test's output (``pytest -s``, or shown on failure)."""
    print(f"ATTACK-FIGURES {name} " + json.dumps(figures, default=str), flush=True)


class Checks:
    """Every expectation of a test, checked together, so one failure does not hide the others."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failed: list[str] = []

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.failed.append(message)

    def extend(self, problems: list[str]) -> None:
        self.failed += problems

    def memory(self, before_mb: float, after_mb: float, what: str = "after the attack") -> None:
        self.expect(
            after_mb <= before_mb * (1 + MEMORY_TOLERANCE),
            f"memory {what} is {after_mb:.0f} MB, {after_mb / before_mb - 1:+.0%} of "
            f"{before_mb:.0f} MB before (at most +{MEMORY_TOLERANCE:.0%})",
        )

    def verify(self) -> None:
        assert not self.failed, f"{self.name}:\n- " + "\n- ".join(self.failed)


async def legit_get_state(server: ServerProcess, source: str, token: str) -> str | None:
    """A well-behaved client from ``source`` signs in and asks for its state; None if it could.

    Returns what went wrong otherwise (the outcome's kind and message).
    """
    sio, outcome = await socket_connect(Endpoint.of(server.url, source), token)
    if sio is None:
        return f"{outcome.kind}: {outcome.message}"
    try:
        sio.listen()
        ack = await sio.call("get_state", {}, timeout=10)
    except (OSError, TimeoutError) as exc:
        return f"get_state: {type(exc).__name__}"
    finally:
        await sio.close()
    if not (isinstance(ack, dict) and ack.get("ok")):
        return f"get_state refused: {ack}"
    return None
