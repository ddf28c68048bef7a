"""Counters read from a server's ``/metrics`` at the start and end of a window."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from callcenter.identity import Role
from signaling.auth import TokenAuthority


async def read_counters(url: str, secret: str, wanted: set[str]) -> dict[str, float]:
    """The ``wanted`` counters (their ``_total``) of the server at ``url``, as an admin."""
    token = TokenAuthority(secret).issue(Role.ADMIN, "bench", name="bench", ttl_s=600)
    async with aiohttp.ClientSession() as session:
        reply = await session.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
        reply.raise_for_status()
        text = await reply.text()
    figures: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name in wanted:
            figures[family.name] = sum(s.value for s in family.samples if s.name.endswith("_total"))
    missing = wanted - set(figures)
    if missing:
        raise RuntimeError(f"the server's /metrics has no {', '.join(sorted(missing))}")
    return figures


async def read_talk_cpu(url: str, secret: str) -> dict[str, float]:
    """The talk monitor's thread CPU seconds so far."""
    return await read_counters(url, secret, {"kotha_talk_cpu_seconds"})
