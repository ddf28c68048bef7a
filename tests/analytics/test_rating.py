"""The customer rates the call after hanging up: 1 to 5 and a comment, once.

Guards: the rating is refused before an agent answered or while the call goes on,
taken once after it ended (a second one is refused in words), only with the call's own
customer token, bounded (score 1-5, comment ≤ 500 characters, no control characters);
the floor's CSAT counts it.
"""

from __future__ import annotations

from typing import Any

from callcenter.identity import Role
from tests.conftest import Server, api_request, connect_call


async def rate(server: Server, call_id: str, token: str | None, body: Any) -> tuple[int, Any]:
    status, reply, _ = await api_request(
        server, "POST", f"/api/calls/{call_id}/rating", token, json=body
    )
    return status, reply


async def test_a_customer_rates_the_call_once_after_it_ended(server: Server) -> None:
    pair = await connect_call(server, join=False)
    token = server.token(Role.CUSTOMER, "Karim", call_id=pair.call_id)
    status, reply = await rate(server, pair.call_id, token, {"score": 5})
    assert status == 409, reply  # the call goes on
    assert "once an agent answered it and it has ended" in reply["error"]["message"]

    await pair.agent.hang_up()
    for bad in (
        {"score": 6},
        {"score": 0},
        {"score": "5"},
        {"score": 4, "comment": "x" * 501},
        {"score": 4, "comment": "ok\x1b[2J"},
        {"score": 4, "extra": 1},
        [],
        "5",
    ):
        status, reply = await rate(server, pair.call_id, token, bad)
        assert status == 422, (bad, reply)
    someone_else = server.token(Role.CUSTOMER, "Salma", call_id="c_other00001")
    status, reply = await rate(server, pair.call_id, someone_else, {"score": 1})
    assert status == 403, reply
    agent = server.token(Role.AGENT, "Rahim")
    status, reply = await rate(server, pair.call_id, agent, {"score": 5})
    assert status == 403, reply

    status, reply = await rate(
        server, pair.call_id, token, {"score": 4, "comment": "ভালো  সেবা,\nধন্যবাদ"}
    )
    assert status == 200, reply
    assert reply == {"call_id": pair.call_id, "score": 4, "comment": "ভালো সেবা, ধন্যবাদ"}
    status, reply = await rate(server, pair.call_id, token, {"score": 1})
    assert status == 409 and "rated already" in reply["error"]["message"], reply

    contact = await server.switchboard.contacts.store.get(pair.call_id)
    assert contact is not None and (contact.csat, contact.csat_comment) == (4, "ভালো সেবা, ধন্যবাদ")
    supervisor = server.token(Role.SUPERVISOR, "Nasrin")
    status, live, _ = await api_request(server, "GET", "/api/reports/live", supervisor)
    assert status == 200
    today = live["today"]
    assert (today["csat_average"], today["csat_count"]) == (4.0, 1)
    assert today["csat_distribution"] == [0, 0, 0, 1, 0]


async def test_a_call_that_never_reached_the_queue_has_nothing_to_rate(server: Server) -> None:
    call_id, token = await server.customer_call("Jamal")
    status, reply = await rate(server, call_id, token, {"score": 3})
    assert status == 404, reply
