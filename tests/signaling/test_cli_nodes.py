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
from pathlib import Path

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


def test_two_nodes_share_one_port_and_one_redis_and_stop_together(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOTHA_")}
    log = (tmp_path / "nodes.log").open("wb")
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
        assert names is not None
        redis_port = re.search(r"Redis at redis://127\.0\.0\.1:(\d+)/0 \(started here", banner)
        assert redis_port is not None, banner

        secret = (tmp_path / "jwt_secret").read_text().strip()
        admin = TokenAuthority(secret).issue(Role.ADMIN, "arif", name="Arif", ttl_s=600)
        assert nodes_answering(port, admin) == {names.group(1), names.group(2)}

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=Config().shutdown_timeout_s + 15) == 0
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(redis_port.group(1)))) != 0, (
                "the redis-server it started is still running"
            )
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "a node still listens"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
