"""SIGTERM: the server exits in time, even with a slow upload pending, and ends calls cleanly.

Guards (hardening issue, item 7):
- a client trickles a 300 KB body (to a long-polling session, and to a REST endpoint that
  reads its body) and the server gets SIGTERM: it exits with code 0 within
  ``shutdown_timeout_s`` (8 s) + 2 s;
- with a live call (customer and agent joined, audio flowing), SIGTERM: both receive
  ``call_ended`` with ``reason: "shutdown"`` before their sockets close, the call's
  recording is finished (meta.json, not ``recovered``, its stream files present), and the
  process exits with code 0 within 10 s.
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.attack.conftest import StartAttack, StartProbe, StartServer
from tests.attack.harness import Checks, report

EXIT_WITHIN_S = 10.0


async def test_sigterm_exits_in_time_with_a_slow_upload_pending(
    kotha: StartServer, attack: StartAttack
) -> None:
    server = await kotha()
    run = await attack("slow_post", server, seconds=20, body_kib=300, interval=0.1)
    await run.wait_mark("posting")
    await asyncio.sleep(1)
    sent = server.terminate()
    code = await server.wait_exit(EXIT_WITHIN_S + 2)
    took = time.monotonic() - sent
    run.kill()
    report(
        "shutdown_slow_upload",
        exit_code=code,
        exit_after_s=round(took, 2) if code is not None else None,
        attacker_marks=run.marks,
        log_tail=server.log_tail(800),
    )

    checks = Checks("SIGTERM with a slow upload pending")
    checks.expect(
        code is not None and took <= EXIT_WITHIN_S,
        f"the server had not exited {took:.1f} s after SIGTERM"
        if code is None
        else f"the server exited only {took:.1f} s after SIGTERM (within {EXIT_WITHIN_S:.0f})",
    )
    checks.expect(code in (None, 0), f"the server exited with code {code}, not 0")
    checks.verify()


async def test_sigterm_ends_live_calls_and_finishes_their_recordings(
    kotha: StartServer, probe: StartProbe
) -> None:
    server = await kotha()
    call = await probe(server)
    await asyncio.sleep(1)  # a second of the call on the recording
    sent = server.terminate()
    code = await server.wait_exit(EXIT_WITHIN_S + 2)
    took = time.monotonic() - sent
    if code is None:
        await server.stop(0.1)  # it is killed: what follows shows what it left behind
    await call.wait_disconnected(3)

    checks = Checks("SIGTERM during a live call")
    told: dict[str, str] = {}
    for name, client in (("customer", call.customer), ("agent", call.agent)):
        assert client is not None
        ended = [r for r in client.received if r.event == "call_ended"]
        closed_at = call.disconnected_at.get(name)
        if not ended:
            told[name] = "no call_ended"
        else:
            reason = ended[0].payload.get("reason")
            before_close = closed_at is None or ended[0].at <= closed_at
            told[name] = f"call_ended {reason}" + (
                "" if before_close else " after its socket closed"
            )
            checks.expect(reason == "shutdown", f"the {name} was told {reason!r}, not 'shutdown'")
            checks.expect(before_close, f"the {name} heard call_ended only after its socket closed")
        checks.expect(bool(ended), f"the {name} was never told the call ended")

    folders = list((server.data_dir / "recordings").glob(f"*/*/*/{call.call_id}"))
    meta = None
    if folders and (folders[0] / "meta.json").is_file():
        meta = json.loads((folders[0] / "meta.json").read_text())
    streams = [s for s in (meta or {}).get("streams", []) if (folders[0] / s["file"]).is_file()]
    report(
        "shutdown_live_call",
        exit_code=code,
        exit_after_s=round(took, 2) if code is not None else None,
        told=told,
        recording_folder=str(folders[0]) if folders else None,
        recording_files=sorted(p.name for p in folders[0].rglob("*")) if folders else [],
        meta_recovered=(meta or {}).get("recovered"),
        meta_end_reason=(meta or {}).get("end_reason"),
        log_tail=server.log_tail(800),
    )
    checks.expect(
        code is not None and took <= EXIT_WITHIN_S,
        f"the server had not exited {took:.1f} s after SIGTERM (it was killed)"
        if code is None
        else f"the server exited only {took:.1f} s after SIGTERM (within {EXIT_WITHIN_S:.0f})",
    )
    checks.expect(code in (None, 0), f"the server exited with code {code}, not 0")
    checks.expect(bool(folders), "the call has no recording folder")
    checks.expect(meta is not None, "the call's recording was not finished (no meta.json)")
    if meta is not None:
        checks.expect(not meta.get("recovered"), "the recording is marked recovered")
        checks.expect(bool(streams), "the finished recording has no stream files")
    checks.verify()
