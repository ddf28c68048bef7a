"""A signed-in socket that announces a million binary attachments and sends 250 KiB frames.

Guards (hardening issue, item 4): python-socketio buffers a binary event's attachments until
all have arrived, so ``451000000-/call,["request_call",{"_placeholder":true,"num":0}]``
followed by 2,000 frames of 250 KiB would hold 500 MB. kotha uses no binary events: the socket
is disconnected at the first binary packet (a ``refused`` event with code ``binary_refused``
may come first; if it does, it must say so), the server's memory never grows by more than 10 %
during the attack and is back within 10 % after it, and a real call beside the attack keeps
>= 45 frames/s with no gap over 200 ms.
"""

from __future__ import annotations

from tests.attack.conftest import StartAttack, StartProbe, StartServer
from tests.attack.harness import Checks, RssWatch, report, settled_rss

FRAMES = 2000


async def test_binary_packets_close_the_socket_before_memory_grows(
    kotha: StartServer, attack: StartAttack, probe: StartProbe
) -> None:
    server = await kotha()
    call = await probe(server)
    before = server.rss_mb()
    async with RssWatch(server) as rss, call.measure() as measured:
        run = await attack("binary", server, count=FRAMES, frame_kib=250, hold=2)
        result = await run.result()
    after = await settled_rss(server, before)
    audio = measured.get()
    report(
        "binary_flood",
        attacker=result,
        probe=audio.to_dict(),
        rss_before_mb=before,
        rss_peak_mb=rss.peak_mb,
        rss_after_mb=after,
    )

    checks = Checks("a binary event announcing 10**6 attachments, then 250 KiB frames")
    checks.expect(result["accepted"] == 1, f"the attacker could not sign in: {result['samples']}")
    checks.expect(
        result["closed_by_server"],
        f"the socket stayed open after {result['frames_sent']} binary frames "
        f"({result['megabytes_sent']} MB)",
    )
    checks.expect(
        result["frames_sent"] < FRAMES,
        f"all {FRAMES} frames ({result['megabytes_sent']} MB) were taken before any close",
    )
    refused = result["refused_event"]
    if refused is not None:
        checks.expect(
            isinstance(refused, dict)
            and refused.get("code") == "binary_refused"
            and bool(refused.get("message")),
            f"the refused event does not say binary_refused with a message: {refused}",
        )
    checks.memory(before, rss.peak_mb, "at its peak during the attack")
    checks.memory(before, after)
    checks.extend(audio.problems())
    checks.verify()
