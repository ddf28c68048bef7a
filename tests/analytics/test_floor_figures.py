"""The floor's numbers, computed by the server from calls whose story the test wrote.

Guards (real customers and agents over socket.io; service level target 1 s):
- three customers call: one is answered by Rahim after ~0.3 s, one by Sumi after
  ~1.6 s, one gives up after ~0.6 s; the server counts 3 offered, 2 answered, 1
  abandoned, 1 answered within the target (service level 1/3), the average speed of
  answer, the abandoned wait and the handle time as the test's own clock measured
  them (within 0.25 s), and each agent's calls and handle time;
- the live figures (today, the last 15 minutes) say the same, and so does the report
  by agent and by hour, and its CSV;
- after the server restarts on the same data, the report is unchanged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest

from callcenter.identity import Role
from tests.conftest import Server, ServerFactory, api_request

TARGET_S = 1.0
CLOCK_SLACK_S = 0.25


async def answered_after(
    server: Server, customer: str, agent: str, wait_s: float
) -> dict[str, float]:
    """A customer waits ``wait_s`` in the queue, then ``agent`` becomes free and takes it;
    they talk a little and the agent hangs up. Returns the test's own clock of it."""
    call_id, token = await server.customer_call(customer)
    client = server.client(token)
    staff = server.client(server.token(Role.AGENT, agent))
    await client.connect()
    await staff.connect()
    queued = time.time()
    await client.request_call()
    await asyncio.sleep(wait_s)
    await staff.set_availability("available")
    await staff.accept_call(call_id)
    answered = time.time()
    await asyncio.sleep(0.4)
    await staff.hang_up()
    ended = time.time()
    await staff.set_availability("away")
    return {"wait": answered - queued, "handle": ended - answered}


async def abandoned_after(server: Server, customer: str, wait_s: float) -> float:
    _, token = await server.customer_call(customer)
    client = server.client(token)
    await client.connect()
    queued = time.time()
    await client.request_call()
    await asyncio.sleep(wait_s)
    await client.hang_up()
    return time.time() - queued


def check(figures: dict[str, Any], truth: dict[str, Any]) -> None:
    assert (figures["offered"], figures["answered"], figures["abandoned"]) == (3, 2, 1), figures
    assert (figures["handled"], figures["answered_in_target"]) == (2, 1), figures
    assert figures["service_level"] == pytest.approx(1 / 3, abs=0.001)
    assert figures["abandonment_rate"] == pytest.approx(1 / 3, abs=0.001)
    asa = (truth["rahim"]["wait"] + truth["sumi"]["wait"]) / 2
    assert figures["average_speed_of_answer_s"] == pytest.approx(asa, abs=CLOCK_SLACK_S)
    assert figures["abandoned_wait_s"] == pytest.approx(truth["abandoned"], abs=CLOCK_SLACK_S)
    aht = (truth["rahim"]["handle"] + truth["sumi"]["handle"]) / 2
    assert figures["average_handle_time_s"] == pytest.approx(aht, abs=CLOCK_SLACK_S)


async def report(server: Server, query: str) -> dict[str, Any]:
    supervisor = server.token(Role.SUPERVISOR, "Nasrin")
    status, body, _ = await api_request(server, "GET", f"/api/reports{query}", supervisor)
    assert status == 200, body
    return body


async def test_the_floor_counts_answers_waits_and_abandons_as_they_happened(
    start_server: ServerFactory,
) -> None:
    server = await start_server(service_level_target_s=TARGET_S, timezone="Asia/Dhaka")
    truth: dict[str, Any] = {
        "rahim": await answered_after(server, "Karim", "Rahim", 0.3),
        "sumi": await answered_after(server, "Salma", "Sumi", 1.6),
        "abandoned": await abandoned_after(server, "Jamal", 0.6),
    }
    await server.switchboard.contacts.settle()

    live = await report(server, "/live")
    assert live["service_level_target_s"] == TARGET_S
    check(live["today"], truth)
    check(live["last_15_min"], truth)
    agents = {a["label"]: a for a in live["agents"]}
    assert {name: a["handled"] for name, a in agents.items()} == {"Rahim": 1, "Sumi": 1}
    for name in ("Rahim", "Sumi"):
        handle = truth[name.lower()]["handle"]
        assert agents[name]["average_handle_time_s"] == pytest.approx(handle, abs=CLOCK_SLACK_S)
        # Each was on their call for most of the time they were taking calls.
        assert 0 < agents[name]["occupancy"] <= 1

    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 6 * 3600))  # Dhaka: UTC+6
    by_agent = await report(server, f"?since={today}&by=agent")
    check(by_agent["totals"], truth)
    assert [g["label"] for g in by_agent["groups"]] == ["Rahim", "Sumi"]
    by_hour = await report(server, f"?since={today}&until={today}&by=hour")
    assert len(by_hour["groups"]) == 24
    assert sum(g["offered"] for g in by_hour["groups"]) == 3

    supervisor = server.token(Role.SUPERVISOR, "Nasrin")
    status, body, headers = await api_request(
        server, "GET", f"/api/reports.csv?since={today}&by=agent", supervisor
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][:4] == ["agent", "offered", "answered", "abandoned"]
    assert [r[0] for r in rows[1:]] == ["Rahim", "Sumi", "total"]
    assert rows[-1][1:4] == ["3", "2", "1"]

    # The same numbers after a restart on the same data (and the same Redis, with --redis).
    prefix = server.switchboard.config.redis_prefix
    await server.stop()
    again = await start_server(
        service_level_target_s=TARGET_S, timezone="Asia/Dhaka", redis_prefix=prefix
    )
    after = await report(again, f"?since={today}&by=agent")
    assert after["totals"] == by_agent["totals"]
    assert [g["label"] for g in after["groups"]] == ["Rahim", "Sumi"]


async def test_a_report_asks_for_a_range_it_can_answer(server: Server) -> None:
    supervisor = server.token(Role.SUPERVISOR, "Nasrin")
    for query, field in (
        ("?since=2026-02-30", "since"),
        ("?since=2026-12-05&until=2026-12-01", "until"),
        ("?since=2024-01-01&until=2026-01-01", "until"),
        ("?since=2026-01-01&until=2026-03-01&by=hour", "until"),
        ("?since=2026-01-01&by=week", "by"),
        ("", "since"),
    ):
        status, body, _ = await api_request(server, "GET", f"/api/reports{query}", supervisor)
        assert status == 422, (query, body)
        assert body["error"]["field"] == field, (query, body)
        assert body["error"]["message"].startswith(f"{field}: "), body
    # Agents and customers do not see the floor's numbers.
    agent = server.token(Role.AGENT, "Rahim")
    status, _, _ = await api_request(server, "GET", "/api/reports/live", agent)
    assert status == 403
    status, _, _ = await api_request(server, "GET", "/api/reports/live")
    assert status == 401
