"""The node processes of a server under test: ``kotha serve --nodes N`` starts them as its
children; the bench waits until every one is in the node directory, and measures each."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from callcenter.identity import Role
from signaling.auth import TokenAuthority

from .measure import child_pids

NODES_TIMEOUT_S = 60.0


async def wait_nodes(
    url: str, secret: str, server: asyncio.subprocess.Process, count: int
) -> list[int]:
    """The PIDs of the server's nodes once ``count`` of them list each other (one node:
    the server itself)."""
    if count <= 1:
        return [server.pid]
    token = TokenAuthority(secret).issue(Role.ADMIN, "bench", name="Bench", ttl_s=600)
    deadline = time.monotonic() + NODES_TIMEOUT_S
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"kotha serve --nodes {count} exited ({server.returncode})")
            try:
                async with session.get(f"{url}/api/nodes") as response:
                    listed = (await response.json())["nodes"] if response.status == 200 else []
            except (aiohttp.ClientError, ValueError, KeyError):
                listed = []
            pids = child_pids(server.pid)
            if len(listed) == count and len(pids) == count:
                return pids
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{count} nodes did not all start within {NODES_TIMEOUT_S:.0f} s")
