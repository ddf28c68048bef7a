"""``kotha serve --nodes 2``: an operator uses both cores of a machine with one command.

Two node processes share one port and a redis-server the command starts itself; the banner
names both; both answer on that port and list each other; SIGTERM stops the nodes and
Redis, and the command exits cleanly.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.identity import Role
from node.config import Config
from signaling.auth import TokenAuthority
from signaling.local_redis import free_port

START_TIMEOUT_S = 90.0


def read_until(process: subprocess.Popen[bytes], pattern: str, timeout_s: float) -> str:
    """stdout up to the first line matching ``pattern`` (read from the pipe as it comes:
    a buffered reader would hold lines that select() no longer sees)."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
            if re.search(pattern, seen):
                return seen
        elif process.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern!r} within {timeout_s} s:\n{seen}")


def nodes_answering(port: int, token: str, within_s: float = 10.0) -> set[str]:
    """The node ids that answered ``/api/nodes`` on fresh connections to the shared port,
    each listing both nodes (a node reads the directory at every beat, 2 s apart)."""
    answered: set[str] = set()
    deadline = time.monotonic() + within_s
    while len(answered) < 2 and time.monotonic() < deadline:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/nodes", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.load(response)
        if len({node["node_id"] for node in body["nodes"]}) == 2:
            answered.add(body["node_id"])
        time.sleep(0.05)
    return answered


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    port: int
    names: tuple[str, str]
    redis_port: int

    def gone(self, timeout_s: float = 20.0) -> bool:
        """Whether neither the nodes' port nor the Redis it started answers any more."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(_listens(port) for port in (self.port, self.redis_port)):
                return True
            time.sleep(0.2)
        return False


def _listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    """``kotha serve --nodes 2`` with no Redis configured, until its banner is printed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTHA_")}
    with (tmp_path / "nodes.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *[sys.executable, "-m", "signaling.cli", "serve", "--nodes", "2"],
                *["--port", str(port), "--data-dir", str(tmp_path)],
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        try:
            try:
                banner = read_until(process, r"2 nodes share port.*\n", START_TIMEOUT_S)
            except AssertionError:
                print((tmp_path / "nodes.log").read_text()[-3000:])
                raise
            assert f"http://127.0.0.1:{port}/agent" in banner
            names = re.search(r"2 nodes share port \d+: (\S+), (\S+);", banner)
            redis = re.search(r"Redis at redis://127\.0\.0\.1:(\d+)/0 \(started here", banner)
            assert names is not None and redis is not None, banner
            yield Launched(process, port, (names.group(1), names.group(2)), int(redis.group(1)))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_two_nodes_share_one_port_and_one_redis_and_stop_together(
    launched: Launched, tmp_path: Path
) -> None:
    secret = (tmp_path / "jwt_secret").read_text().strip()
    admin = TokenAuthority(secret).issue(Role.ADMIN, "arif", name="Arif", ttl_s=600)
    assert nodes_answering(launched.port, admin) == set(launched.names)

    launched.process.send_signal(signal.SIGTERM)
    assert launched.process.wait(timeout=Config().shutdown_timeout_s + 15) == 0
    assert launched.gone(timeout_s=1.0), "a node or the redis-server it started still runs"


def test_nothing_it_started_outlives_the_command_even_when_it_is_killed(
    launched: Launched,
) -> None:
    """SIGKILL gives the command no chance to stop its nodes: they and Redis stop anyway."""
    launched.process.kill()
    launched.process.wait()
    assert launched.gone(), "a node or the redis-server outlived the killed command"
