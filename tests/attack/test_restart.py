"""After a crash, the calls that were live are not silently gone.

Guards (hardening issue, item 11: "after a crash or restart, live calls are gone without
a ``call_ended`` to anyone and ``GET /api/calls/{id}`` says 404"):
- a server killed with SIGKILL during a call is started again on the same data folder;
- the customer and the agent, reconnecting with the tokens they had, are each told
  ``call_ended`` with reason ``interrupted``;
- ``GET /api/calls/{id}`` answers with the call, ended as ``interrupted``;
- the recording of the call is recovered, as before.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp

from callcenter.identity import Role
from client.participant import KothaClient
from tests.attack.conftest import StartProbe, StartServer
from tests.attack.server import ServerProcess


async def test_a_crash_ends_live_calls_as_interrupted_and_their_parties_hear_it(
    kotha: StartServer, probe: StartProbe
) -> None:
    server = await kotha()
    call = await probe(server)
    assert call.customer is not None and call.agent is not None
    customer_token, agent_token = call.customer.token, call.agent.token
    await asyncio.sleep(1)
    assert server.process is not None
    server.process.kill()  # kill -9: no goodbye to anyone
    await server.process.wait()
    await call.close()

    again = ServerProcess(server.workdir, **server.settings)
    try:
        await again.start()
        endings = []
        for token in (customer_token, agent_token):
            client = KothaClient(again.url, token)
            try:
                await client.connect()
                endings.append(await client.wait_for("call_ended", timeout=5))
            finally:
                await client.close()
        assert [e["reason"] for e in endings] == ["interrupted", "interrupted"]
        assert {e["call_id"] for e in endings} == {call.call_id}

        admin = again.token(Role.ADMIN, "arif")
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{again.url}/api/calls/{call.call_id}",
                headers={"Authorization": f"Bearer {admin}"},
            ) as response,
        ):
            assert response.status == 200, await response.text()
            body = await response.json()
        assert (body["call"]["state"], body["call"]["end_reason"]) == ("ended", "interrupted")

        folders = list((again.data_dir / "recordings").glob(f"*/*/*/{call.call_id}"))
        for _ in range(50):
            if folders and (folders[0] / "meta.json").is_file():
                break
            await asyncio.sleep(0.2)
        meta = json.loads((folders[0] / "meta.json").read_text())
        assert meta["recovered"] is True
    finally:
        await again.stop()
