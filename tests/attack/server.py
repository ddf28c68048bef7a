"""kotha as an operator runs it, in a process of its own, and what can be read of that process.

The attack tests (and ``bench/soak.py``) need the server's cost to land on the
server: it runs as ``python -m signaling --config <toml> serve`` in a child
process, its stdout and stderr go to one log file, and its memory, open files,
threads and CPU time are read from ``/proc/<pid>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.identity import Role
from signaling.auth import TokenAuthority

ROOT = Path(__file__).resolve().parents[2]
# The source tree the server runs from: this one, or another (ATTACK_SERVER_ROOT=/tmp/old,
# from `git archive <commit>`) to see how an older server fares against the same attacks.
SERVER_ROOT = Path(os.environ.get("ATTACK_SERVER_ROOT") or ROOT)
SECRET = "kotha-attack-secret-0123456789abcdefghijklmnop"
API_KEY = "attack-shop-api-key-0123456789"
METRICS_TOKEN = "attack-metrics-token-0123456789"
HEALTH_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 12.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_value(value: Any) -> str:
    """A TOML literal for the few types a kotha config holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        text = str(value).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def default_settings() -> dict[str, Any]:
    """The config every attack test starts from; a test overrides what it is about."""
    return {
        "jwt_secret": SECRET,
        "api_keys": [API_KEY],
        "guest_mode": True,
        "ice_addresses": ["127.0.0.1"],
        "log_format": "text",
        "metrics_token": METRICS_TOKEN,
        # Calls here are Bengali, which has no speech model: transcription would only
        # say so. Off, the server's CPU is what the attack and the call cost.
        "transcribe_enabled": False,
    }


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of every thread of ``pid`` (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after it do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_status(pid: int, field: str) -> int:
    """One number of ``/proc/<pid>/status`` (``VmRSS`` in kB, ``Threads``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise KeyError(field)


class ServerProcess:
    """One kotha server in a child process, on a free port of 127.0.0.1.

    Args:
        workdir: holds the config, the data directory and the log.
        settings: config values over :func:`default_settings`.
    """

    def __init__(self, workdir: Path, **settings: Any) -> None:
        self.workdir = workdir
        self.settings = {**default_settings(), **settings}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.config_path = workdir / "kotha.toml"
        self.log_path = workdir / "server.log"
        self.authority = TokenAuthority(self.settings["jwt_secret"])
        self.process: asyncio.subprocess.Process | None = None
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server was not started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            "".join(f"{key} = {toml_value(value)}\n" for key, value in self.settings.items())
        )
        # Only the config file speaks: no KOTHA_* variable of the caller's environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOTHA_")}
        env["PYTHONPATH"] = str(SERVER_ROOT)
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "signaling",
                "--config",
                str(self.config_path),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                cwd=SERVER_ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if not self.running:
                    raise RuntimeError(f"the server exited at start:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the server was not healthy within {HEALTH_TIMEOUT_S:.0f} s")

    def terminate(self) -> float:
        """Send SIGTERM; returns when it was sent (``time.monotonic()``)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return time.monotonic()

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None if it is still running after ``timeout`` seconds."""
        assert self.process is not None
        try:
            self.exit_code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            return None
        return self.exit_code

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``; safe to call twice."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            if await self.wait_exit(timeout) is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        self.exit_code = self.process.returncode
        return self.exit_code

    # -- tokens ----------------------------------------------------------

    def token(
        self, role: Role, subject: str, *, call_id: str | None = None, ttl_s: int = 3600
    ) -> str:
        return self.authority.issue(
            role, subject, name=subject.title(), call_id=call_id, ttl_s=ttl_s
        )

    # -- what /proc says -------------------------------------------------

    def rss_mb(self) -> float:
        return process_status(self.pid, "VmRSS") / 1024

    def threads(self) -> int:
        return process_status(self.pid, "Threads")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_s(self) -> float:
        return process_cpu_s(self.pid)

    # -- the log -----------------------------------------------------------

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        """What the server wrote to its log after ``offset`` bytes."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-chars:]
        except FileNotFoundError:
            return ""
