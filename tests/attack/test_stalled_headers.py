"""Connections that send half a request head and then nothing (slowloris).

Guards (hardening issue, item 3): 80 connections from 127.0.0.2 each send
``GET / HTTP/1.1\\r\\nHost: x\\r\\n`` and stall. The server closes every one within
``http_idle_timeout_s`` (3 s here) plus 2 s, and those beyond ``max_connections_per_address``
(64) are refused at once (well before the idle timeout; a refusal that answers must be a clear
error). While the 64 are held, whole requests from the same address are answered 503 with a
JSON error (item 1's connection limit), not served and not cut off without a word.
"""

from __future__ import annotations

from tests.attack.conftest import StartAttack, StartServer
from tests.attack.harness import Checks, report

IDLE_TIMEOUT_S = 3.0
CONNECTIONS = 80
PER_ADDRESS = 64


async def test_stalled_request_heads_are_closed_and_the_excess_refused_at_once(
    kotha: StartServer, attack: StartAttack
) -> None:
    server = await kotha(http_idle_timeout_s=IDLE_TIMEOUT_S)
    fds_before = server.open_fds()
    run = await attack("stalled", server, count=CONNECTIONS, hold=IDLE_TIMEOUT_S + 3)
    await run.wait_mark("attacking")
    result = await run.result()
    report("stalled_headers", attacker=result, server_fds_before=fds_before)

    checks = Checks(f"{CONNECTIONS} stalled request heads from one address")
    checks.expect(
        result["open_at_end"] == 0,
        f"{result['open_at_end']} of {result['opened']} stalled connections were still open "
        f"{IDLE_TIMEOUT_S + 3:.0f} s later (idle timeout {IDLE_TIMEOUT_S:.0f} s)",
    )
    checks.expect(
        result["longest_closed_lifetime_s"] <= IDLE_TIMEOUT_S + 2,
        f"a stalled connection was closed only after {result['longest_closed_lifetime_s']} s",
    )
    refused_at_once = sum(1 for t in result["lifetimes_s"] if t <= IDLE_TIMEOUT_S / 2)
    checks.expect(
        refused_at_once >= CONNECTIONS - PER_ADDRESS,
        f"{refused_at_once} connections were refused at once (within "
        f"{IDLE_TIMEOUT_S / 2:.1f} s); those beyond {PER_ADDRESS} per address "
        f"({CONNECTIONS - PER_ADDRESS}) should be",
    )
    checks.expect(
        result["unclear"] == 0,
        f"{result['unclear']} refusals had no clear error: {result['samples']}",
    )
    whole = result["whole_requests"]
    refused_503 = sum(n for kind, n in whole["outcomes"].items() if kind.startswith("http_503:"))
    checks.expect(
        refused_503 == whole["attempts"] and whole["unclear"] == 0,
        f"with {result['held_when_requesting']} stalled connections held, whole requests from "
        f"the same address were answered {whole['outcomes']} (each should get a 503 with a "
        f"JSON error): {whole['samples']}",
    )
    checks.verify()
