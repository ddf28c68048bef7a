"""Thousands of sockets signed in with one token, from one address.

Guards (hardening issue, item 2): 2,000 socket.io connections on ONE valid guest customer
token (``POST /api/guest`` gives one), from 127.0.0.2: at most ``max_sockets_per_token`` (8)
are signed in at once; every other one gets a clear refusal (a socket.io ``connect_error``
whose data is ``{"code": "too_many_sockets", "message"}``, or, once the address's own limits
bite, HTTP 429 ``rate_limited`` / 503 with a JSON error); the server's memory is back within
10 % afterwards, and a real call beside the attack keeps >= 45 frames/s with no gap over 200 ms.
"""

from __future__ import annotations

from tests.attack.conftest import StartAttack, StartProbe, StartServer
from tests.attack.harness import Checks, RssWatch, report, settled_rss

ATTACK_S = 8.0
SOCKETS = 2000


async def test_one_token_gets_at_most_eight_sockets_and_the_call_keeps_its_audio(
    kotha: StartServer, attack: StartAttack, probe: StartProbe
) -> None:
    server = await kotha()
    call = await probe(server)
    before = server.rss_mb()
    async with RssWatch(server) as rss, call.measure() as measured:
        run = await attack(
            "socket_flood", server, count=SOCKETS, concurrency=100, seconds=ATTACK_S, hold=1
        )
        result = await run.result()
    after = await settled_rss(server, before)
    audio = measured.get()
    report(
        "socket_flood",
        attacker=result,
        probe=audio.to_dict(),
        rss_before_mb=before,
        rss_peak_mb=rss.peak_mb,
        rss_after_mb=after,
    )

    checks = Checks(f"{SOCKETS} sockets on one guest token")
    checks.expect(
        result["max_open"] <= 8,
        f"one token had {result['max_open']} sockets signed in at once (at most 8); "
        f"{result['accepted']} of {result['attempts']} were accepted",
    )
    checks.expect(
        result["outcomes"].get("connect_error:too_many_sockets", 0) > 0,
        f"no socket was refused with too_many_sockets: {result['outcomes']}",
    )
    checks.expect(
        result["unclear"] == 0,
        f"{result['unclear']} refusals had no clear error: {result['samples']}",
    )
    checks.memory(before, after)
    checks.extend(audio.problems())
    checks.verify()
