"""Engine.io handshakes from one address: long-polling sessions, and websockets that never sign in.

Guards (hardening issue, item 1), against the real server in its own process:
- 50 concurrent unauthenticated long-poll handshakes from 127.0.0.2 for 6 s: every one is
  refused with HTTP 400 and a JSON error ``websocket_only`` (or a clear rate-limit or
  connection-limit error), no engine.io session is created, the server's memory is back
  within 10 % a few seconds later, and a real call beside the attack keeps >= 45 audio
  frames a second with no gap over 200 ms;
- websocket handshakes in a loop from one address, never signing in: the address holds at
  most ``max_connections_per_address`` (64) connections at once (beyond: 503 with a JSON
  error), its new sockets are rate-limited (``socket_connects_per_address_per_min``: 429
  ``rate_limited`` with Retry-After), a socket that has not signed in within
  ``socket_sign_in_timeout_s`` (3 s here) is closed, and a client from 127.0.0.3 still signs
  in meanwhile; the call beside it keeps its audio.
"""

from __future__ import annotations

import asyncio

from callcenter.identity import Role
from tests.attack.conftest import StartAttack, StartProbe, StartServer
from tests.attack.harness import Checks, RssWatch, legit_get_state, report, settled_rss

ATTACK_S = 6.0


async def test_long_polling_handshakes_are_refused_and_the_call_keeps_its_audio(
    kotha: StartServer, attack: StartAttack, probe: StartProbe
) -> None:
    server = await kotha()
    call = await probe(server)
    before = server.rss_mb()
    async with RssWatch(server) as rss, call.measure() as measured:
        run = await attack("polling", server, concurrency=50, seconds=ATTACK_S)
        result = await run.result()
    after = await settled_rss(server, before)
    audio = measured.get()
    report(
        "polling_flood",
        attacker=result,
        probe=audio.to_dict(),
        rss_before_mb=before,
        rss_peak_mb=rss.peak_mb,
        rss_after_mb=after,
    )

    checks = Checks("50 long-poll handshakes at a time from one address")
    checks.expect(
        result["sessions"] == 0,
        f"{result['sessions']} long-polling sessions were created in {ATTACK_S:.0f} s "
        f"({result['attempts']} handshakes; outcomes {result['outcomes']})",
    )
    checks.expect(
        result["outcomes"].get("http_400:websocket_only", 0) > 0,
        f"no handshake was refused with 400 websocket_only: {result['outcomes']}",
    )
    checks.expect(result["accepted"] == 0, f"{result['accepted']} handshakes were accepted")
    checks.expect(
        result["unclear"] == 0,
        f"{result['unclear']} refusals had no clear error: {result['samples']}",
    )
    checks.memory(before, after)
    checks.extend(audio.problems())
    checks.verify()


async def test_websockets_that_never_sign_in_are_limited_and_closed(
    kotha: StartServer, attack: StartAttack, probe: StartProbe
) -> None:
    sign_in_timeout_s = 3.0
    server = await kotha(socket_sign_in_timeout_s=sign_in_timeout_s)
    call = await probe(server)
    before = server.rss_mb()
    async with call.measure() as measured:
        run = await attack(
            "websockets",
            server,
            concurrency=20,
            seconds=ATTACK_S,
            # Long enough that a socket opened last, and not closed, is seen to outlive
            # the sign-in timeout with its margin.
            hold=sign_in_timeout_s + 3,
        )
        await run.wait_mark("attacking")
        await asyncio.sleep(2)
        legit = await legit_get_state(server, "127.0.0.3", server.token(Role.AGENT, "nusrat"))
        result = await run.result()
    after = await settled_rss(server, before)
    audio = measured.get()
    report(
        "websocket_handshakes",
        attacker=result,
        legit_from_127_0_0_3=legit or "ok",
        probe=audio.to_dict(),
        rss_before_mb=before,
        rss_after_mb=after,
    )

    # socket_connects_per_address_per_min 120: a burst of 30, then 2 a second.
    most_accepted = 30 + 2 * ATTACK_S + 2
    longest = max(result["longest_closed_lifetime_s"], result["oldest_open_s"])
    checks = Checks("websockets that never sign in, from one address")
    checks.expect(
        result["max_open"] <= 64,
        f"one address held {result['max_open']} websockets at once (at most 64)",
    )
    checks.expect(
        result["accepted"] <= most_accepted,
        f"{result['accepted']} websockets opened in {ATTACK_S:.0f} s from one address "
        f"(the rate limit allows about {most_accepted:.0f})",
    )
    checks.expect(
        result["outcomes"].get("http_429:rate_limited", 0) > 0,
        f"no handshake was refused with 429 rate_limited: {result['outcomes']}",
    )
    checks.expect(
        result["retry_after"] > 0, "no refused handshake said when to come back (Retry-After)"
    )
    checks.expect(
        result["unclear"] == 0,
        f"{result['unclear']} refusals had no clear error: {result['samples']}",
    )
    checks.expect(
        longest <= sign_in_timeout_s + 2,
        f"a socket that never signed in stayed open {longest:.1f} s "
        f"(sign-in timeout {sign_in_timeout_s:.0f} s; {result['open_at_end']} of "
        f"{result['held']} still open at the end)",
    )
    checks.expect(legit is None, f"a client from 127.0.0.3 could not sign in: {legit}")
    checks.memory(before, after)
    checks.extend(audio.problems())
    checks.verify()
