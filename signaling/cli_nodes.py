"""``kotha serve --nodes N``: N nodes on this machine, one port, one Redis; every core used.

One kotha process is one event loop on one core. This launcher starts N of them as child
processes, each a whole node (``kotha serve`` with a node id of its own), sharing:

- the port (``SO_REUSEPORT``: the kernel spreads new connections over the nodes; a call's
  signalling that lands on a node without its media is relayed to the one with it);
- ``data_dir`` (the secret, revocations, the audit log and the recordings; each node keeps
  its own call journal under ``data_dir/nodes/<node id>/``);
- Redis: ``redis_url`` if set, else a ``redis-server`` started here (its append-only file
  in ``data_dir/redis``) and stopped with the nodes.

The banner is printed once every node has beaten in the directory. SIGTERM or Ctrl-C stops
every node (each drains: its calls end, told why) and then Redis. A node that dies is
reported; the others carry on.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

from redis import Redis
from redis.exceptions import RedisError

from node.config import Config

from .local_redis import LocalRedis, start_redis, stop_with_parent

MAX_NODES = 64
READY_TIMEOUT_S = 60.0


def node_ids(count: int) -> list[str]:
    host = socket.gethostname().replace(":", "-")[:40]
    return [f"{host}-{n}" for n in range(1, count + 1)]


def serve_nodes(args: argparse.Namespace, config: Config, banner: str) -> int:
    """Run ``args.nodes`` nodes until SIGTERM or SIGINT; the exit code is 0 on a clean stop."""
    local: LocalRedis | None = None
    redis_url = config.redis_url
    if not redis_url:
        local = start_redis(config.data_dir / "redis", keep=True)
        redis_url = local.url
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ids = node_ids(args.nodes)
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for node_id in ids:
            children[node_id] = subprocess.Popen(
                _node_command(args, config),
                env={
                    **os.environ,
                    "KOTHA_REDIS_URL": redis_url,
                    "KOTHA_NODE_ID": node_id,
                    "KOTHA_REUSE_PORT": "true",
                },
                stdin=subprocess.DEVNULL,
                preexec_fn=stop_with_parent,  # noqa: PLW1509 (the launcher has one thread)
            )
        if not _wait_ready(redis_url, config.redis_prefix, ids, children, lambda: stopping):
            return 1
        where = "started here, stopped with the nodes" if local else "yours (redis_url)"
        print(
            f"{banner}\n  {len(ids)} nodes share port {config.port}: {', '.join(ids)}; "
            f"Redis at {redis_url} ({where})",
            flush=True,
        )
        while not stopping and children:
            time.sleep(0.2)
            for node_id, child in list(children.items()):
                if child.poll() is not None:
                    del children[node_id]
                    print(
                        f"kotha: node {node_id} stopped (exit code {child.returncode}); the "
                        "other nodes carry on, and its calls' parties rejoin on them",
                        file=sys.stderr,
                        flush=True,
                    )
        return 0 if stopping else 1
    finally:
        _stop_all(children, config.shutdown_timeout_s + 5)
        if local is not None:
            local.stop()


def _node_command(args: argparse.Namespace, config: Config) -> list[str]:
    command = [sys.executable, "-m", "signaling.cli"]
    if args.config is not None:
        command += ["--config", str(args.config)]
    command += ["serve", "--node-of-many", "--host", config.host, "--port", str(config.port)]
    command += ["--data-dir", str(config.data_dir)]
    if args.demo:
        command.append("--demo")
    return command


def _wait_ready(
    redis_url: str,
    prefix: str,
    ids: list[str],
    children: dict[str, subprocess.Popen[bytes]],
    stopping: object,
) -> bool:
    """Wait until every node has beaten in the directory (False: one died, or time ran out)."""
    redis = Redis.from_url(redis_url, socket_connect_timeout=2)
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if callable(stopping) and stopping():
                return False
            for node_id, child in children.items():
                if child.poll() is not None:
                    print(
                        f"kotha: node {node_id} did not start (exit code {child.returncode}); "
                        "its messages are above. Stopping the others",
                        file=sys.stderr,
                    )
                    return False
            try:
                if all(redis.exists(f"{prefix}node:{node_id}") for node_id in ids):
                    return True
            except RedisError:
                pass
            time.sleep(0.2)
    finally:
        redis.close()
    print(
        f"kotha: the nodes did not all start within {READY_TIMEOUT_S:.0f} s; stopping them",
        file=sys.stderr,
    )
    return False


def _stop_all(children: dict[str, subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM every node (each drains), then SIGKILL what is left after ``timeout_s``."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


__all__ = ["MAX_NODES", "node_ids", "serve_nodes"]
