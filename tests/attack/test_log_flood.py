"""Truncated socket.io packets as fast as a socket can send them: the server's log.

Guards (hardening issue, item 5): 20,000 frames ``42/call,1["get_state",{`` (cut-off JSON) on
one websocket, unauthenticated (engine.io open, no namespace sign-in) or signed in. The
connection is closed at the first malformed packet, the server writes less than 5 KB to its
log over the whole attack and no traceback, its memory is back within 10 % afterwards, and a
real call beside the attack keeps >= 45 frames/s with no gap over 200 ms.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.attack.conftest import StartAttack, StartProbe, StartServer
from tests.attack.harness import Checks, RssWatch, report, settled_rss

FRAMES = 20_000
MAX_LOG_BYTES = 5 * 1024


@pytest.mark.parametrize("signed_in", [False, True], ids=["unauthenticated", "signed-in"])
async def test_malformed_packets_close_the_socket_and_barely_touch_the_log(
    kotha: StartServer, attack: StartAttack, probe: StartProbe, signed_in: bool
) -> None:
    server = await kotha()
    call = await probe(server)
    run = await attack("log_flood", server, count=FRAMES, signed_in=signed_in, wait_go=True)
    await run.wait_mark("ready")
    before = server.rss_mb()
    log_offset = server.log_size()
    async with RssWatch(server) as rss, call.measure() as measured:
        await run.go()
        result = await run.result()
        await asyncio.sleep(1)  # what the server still had queued lands in the log
    written = server.log_since(log_offset)
    after = await settled_rss(server, before)
    audio = measured.get()
    report(
        "log_flood_signed_in" if signed_in else "log_flood_unauthenticated",
        attacker=result,
        probe=audio.to_dict(),
        log_bytes=len(written.encode()),
        log_lines=written.count("\n"),
        tracebacks=written.count("Traceback"),
        log_head=written[:600],
        rss_before_mb=before,
        rss_peak_mb=rss.peak_mb,
        rss_after_mb=after,
    )

    checks = Checks(f"{FRAMES} truncated packets ({'signed in' if signed_in else 'no sign-in'})")
    size = len(written.encode())
    checks.expect(
        size < MAX_LOG_BYTES,
        f"the server wrote {size} bytes ({written.count(chr(10))} lines) to its log "
        f"(less than {MAX_LOG_BYTES} allowed)",
    )
    checks.expect(
        "Traceback" not in written,
        f"the log holds {written.count('Traceback')} tracebacks",
    )
    checks.expect(
        result["closed_by_server"] and result["frames_sent"] == 1,
        f"the socket was not closed at the first malformed packet: {result['frames_sent']} "
        f"frames sent, closed by the server: {result['closed_by_server']}",
    )
    checks.memory(before, after)
    checks.extend(audio.problems())
    checks.verify()
