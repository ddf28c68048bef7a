"""A redis-server of this machine's own, for ``kotha serve --nodes N`` with no ``redis_url``
(and for the tests): started on 127.0.0.1 and a free port, stopped by its PID."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter.errors import ConfigError

START_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """In a child process, before it runs: SIGTERM it when the process that started it dies,
    even by SIGKILL (Linux ``prctl``), so that nothing it started outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class LocalRedis:
    port: int
    pid: int
    process: subprocess.Popen[bytes]
    directory: Path
    keep: bool

    def restart(self) -> LocalRedis:
        """Start it again on the same port and files (stopped first if it still runs)."""
        self.stop()
        return start_redis(self.directory, keep=self.keep, port=self.port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it has not gone within 5 s."""
        if self.process.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(directory: Path, *, keep: bool = False, port: int | None = None) -> LocalRedis:
    """redis-server on 127.0.0.1 and a free port, its files in ``directory`` (``keep``: an
    append-only file there, so a restart of Redis keeps the call centre's state)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigError(
            "redis-server is not installed: install it (apt-get install redis-server; "
            "make run NODES=2 does) or set redis_url to a Redis of yours"
        )
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [
            *[binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            *["--appendonly", "yes" if keep else "no", "--dir", str(directory)],
            *["--logfile", str(log)],
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal is the launcher's to pass on
        preexec_fn=stop_with_parent,  # noqa: PLW1509 (called from one thread)
    )
    server = LocalRedis(port, process.pid, process, directory, keep)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ConfigError(f"redis-server stopped as it started ({process.returncode}): {tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise ConfigError(f"redis-server did not answer on port {port} within {START_TIMEOUT_S:.0f} s")


__all__ = ["LocalRedis", "free_port", "start_redis", "stop_with_parent"]
