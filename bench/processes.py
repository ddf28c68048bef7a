"""The bench's child processes: their environment, working directory, logs and stopping."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any

STOP_TIMEOUT_S = 20.0


async def wait_quietly(process: asyncio.subprocess.Process, patience_s: float) -> None:
    """Let a process end by itself; SIGTERM it when it does not, SIGKILL as a last resort."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), patience_s)
        return
    await terminate(process, patience_s)


async def terminate(process: asyncio.subprocess.Process, patience_s: float) -> None:
    """SIGTERM (kotha shuts down cleanly on it), then SIGKILL if it hangs."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), patience_s)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(project_root())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def project_root() -> Path:
    # bench/processes.py -> the repository root
    return Path(__file__).resolve().parent.parent


def log_tail(paths: Any, lines: int = 20) -> str:
    out = []
    for path in paths:
        with contextlib.suppress(OSError):
            text = Path(path).read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path}\n" + "\n".join(text))
    return "\n".join(out)
