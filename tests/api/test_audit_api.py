"""GET /api/audit: the admins' view of the audit log.

Guards:
- an admin gets every record newest first with its total, each with at, actor, role,
  action, call_id, source and details;
- the filters: call_id, actor, action (exact, or a prefix: "monitor" finds the three
  monitoring actions), since and until (UTC days, both included, to the second at the
  edges), and all of them together;
- paging: limit and offset cut the list, total stays the count of every match;
- supervisor, agent, reviewer and customer tokens get 403 (in words naming the role), no
  token 401 token_missing, a forged one 401 token_invalid;
- bad query values are 422 invalid_message naming the field: a limit that is not a number,
  a day that does not exist, an unknown parameter, a malformed call id, person or action;
- a query reads only the lines appended since the last one (the server's own and the CLI's,
  from another process), never the whole file again; a half-written line waits for its
  newline; a file replaced by an operator is read afresh.
"""

from __future__ import annotations

import calendar
import os
import time
from typing import Any

import pytest

from callcenter.identity import Role
from node.audit import AuditLog, AuditRecord
from tests.conftest import Server, api_request


def at(day: str, clock: str = "00:00:00") -> float:
    """Unix time of a UTC day and time."""
    return float(calendar.timegm(time.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S")))


# (actor, role, action, call_id, at, details), oldest first: the order they are written in.
RECORDS = [
    ("sumi", "supervisor", "monitor_started", "c_call000001", at("2026-03-01", "10:00:00"),
     {"participant_id": "p_0000000001", "mode": "listen"}),
    ("sumi", "supervisor", "monitor_mode_changed", "c_call000001", at("2026-03-01", "10:01:00"),
     {"participant_id": "p_0000000001", "mode": "barge", "previous": "listen"}),
    ("sumi", "supervisor", "monitor_ended", "c_call000001", at("2026-03-01", "10:02:00"),
     {"participant_id": "p_0000000001", "mode": "barge", "reason": "stopped", "duration_s": 120.0}),
    ("rina", "reviewer", "playback", "c_call000001", at("2026-03-02", "09:00:00"), {}),
    ("rina", "reviewer", "download", "c_call000002", at("2026-03-02", "09:05:00"),
     {"file": "dual_channel"}),
    ("nasrin", "supervisor", "watch", "c_call000002", at("2026-03-03", "23:59:59"), {}),
    ("rahim", "agent", "pause_recording", "c_call000002", at("2026-03-04", "00:00:00"), {}),
]  # fmt: skip
NEWEST_FIRST = [r[2] for r in reversed(RECORDS)]


@pytest.fixture
async def audited(server: Server) -> Server:
    for actor, role, action, call_id, when, details in RECORDS:
        await server.switchboard.audit.record(
            AuditRecord(
                actor=actor,
                role=role,
                action=action,
                call_id=call_id,
                source="127.0.0.1",
                at=when,
                details=details,
            )
        )
    return server


async def get_audit(server: Server, query: str, token: str | None) -> tuple[int, Any]:
    status, body, _ = await api_request(server, "GET", f"/api/audit{query}", token)
    return status, body


def admin(server: Server) -> str:
    return server.token(Role.ADMIN, "Ada")


async def test_admin_gets_every_record_newest_first_with_the_total(audited: Server) -> None:
    status, body = await get_audit(audited, "", admin(audited))
    assert status == 200, body
    assert body["total"] == len(RECORDS)
    assert [r["action"] for r in body["records"]] == NEWEST_FIRST
    newest = body["records"][0]
    assert newest == {
        "at": at("2026-03-04"),
        "actor": "rahim",
        "role": "agent",
        "action": "pause_recording",
        "call_id": "c_call000002",
        "source": "127.0.0.1",
        "details": {},
        "name": None,
    }
    ended = next(r for r in body["records"] if r["action"] == "monitor_ended")
    assert ended["details"] == RECORDS[2][5]


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        pytest.param(
            "?call_id=c_call000001",
            ["playback", "monitor_ended", "monitor_mode_changed", "monitor_started"],
            id="call",
        ),
        pytest.param(
            "?actor=sumi", ["monitor_ended", "monitor_mode_changed", "monitor_started"], id="actor"
        ),
        pytest.param("?actor=nobody", [], id="another-person"),
        pytest.param(
            "?action=monitor",
            ["monitor_ended", "monitor_mode_changed", "monitor_started"],
            id="action-prefix",
        ),
        pytest.param("?action=monitor_ended", ["monitor_ended"], id="action-exact"),
        pytest.param("?action=playback", ["playback"], id="playback-not-pause"),
        pytest.param(
            "?action=pause_recording,playback", ["pause_recording", "playback"], id="list"
        ),
        pytest.param(
            "?since=2026-03-02&until=2026-03-03",
            ["watch", "download", "playback"],
            id="days-both-included",
        ),
        pytest.param("?since=2026-03-04", ["pause_recording"], id="since-midnight"),
        pytest.param(
            "?until=2026-03-01",
            ["monitor_ended", "monitor_mode_changed", "monitor_started"],
            id="until-its-day",
        ),
        pytest.param("?since=2026-03-05", [], id="after-everything"),
        pytest.param(
            "?call_id=c_call000002&actor=rina&action=download&since=2026-03-02&until=2026-03-02",
            ["download"],
            id="all-together",
        ),
    ],
)
async def test_filters(audited: Server, query: str, actions: list[str]) -> None:
    status, body = await get_audit(audited, query, admin(audited))
    assert status == 200, body
    assert [r["action"] for r in body["records"]] == actions
    assert body["total"] == len(actions)


@pytest.mark.parametrize(
    ("query", "page"),
    [
        pytest.param("?limit=2", NEWEST_FIRST[:2], id="first-page"),
        pytest.param("?limit=2&offset=2", NEWEST_FIRST[2:4], id="second-page"),
        pytest.param("?limit=5&offset=5", NEWEST_FIRST[5:], id="last-page-short"),
        pytest.param("?offset=7", [], id="past-the-end"),
        pytest.param("?action=monitor&limit=1&offset=1", ["monitor_mode_changed"], id="filtered"),
    ],
)
async def test_limit_and_offset_keep_the_total(
    audited: Server, query: str, page: list[str]
) -> None:
    status, body = await get_audit(audited, query, admin(audited))
    assert status == 200, body
    assert [r["action"] for r in body["records"]] == page
    assert body["total"] == (3 if "monitor" in query else len(RECORDS))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.REVIEWER, Role.CUSTOMER])
async def test_only_admins_read_the_audit_log(audited: Server, role: Role) -> None:
    if role is Role.CUSTOMER:
        _, token = await audited.customer_call("Karim")
    else:
        token = audited.token(role, "Someone")
    status, body = await get_audit(audited, "", token)
    assert status == 403, body
    assert body["error"]["code"] == "forbidden"
    assert body["error"]["message"] == f"a {role.value} token cannot do this; it needs admin"
    assert "records" not in body


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param(None, "token_missing", id="none"),
        pytest.param("x.y.z", "token_invalid", id="forged"),
    ],
)
async def test_without_a_valid_token_it_is_401(
    audited: Server, token: str | None, code: str
) -> None:
    status, body = await get_audit(audited, "", token)
    assert (status, body["error"]["code"]) == (401, code), body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("?limit=abc", "limit", id="limit-not-a-number"),
        pytest.param("?limit=-1", "limit", id="limit-negative"),
        pytest.param("?offset=1.5", "offset", id="offset-not-whole"),
        pytest.param("?since=2026-13-45", "since", id="since-no-such-day"),
        pytest.param("?until=2026-02-30", "until", id="until-no-such-day"),
        pytest.param("?since=yesterday", "since", id="since-not-a-date"),
        pytest.param("?colour=red", "colour", id="unknown-parameter"),
        pytest.param("?call_id=x", "call_id", id="call-id-too-short"),
        pytest.param("?actor=two%20words", "actor", id="actor-with-space"),
        pytest.param("?action=Monitor", "action", id="action-capitals"),
    ],
)
async def test_bad_query_values_are_refused_naming_the_field(
    audited: Server, query: str, field: str
) -> None:
    status, body = await get_audit(audited, query, admin(audited))
    assert status == 422, body
    error = body["error"]
    assert (error["code"], error["field"]) == ("invalid_message", field), error
    assert error["message"].startswith(f"{field}: "), error


def line(actor: str, action: str, when: float) -> str:
    return AuditRecord(
        actor=actor, role="admin", action=action, call_id=None, source="cli", at=when
    ).to_line()


async def test_a_query_reads_only_what_was_appended_since_the_last(audited: Server) -> None:
    log = audited.switchboard.audit
    size = log.path.stat().st_size
    status, body = await get_audit(audited, "", admin(audited))
    assert (status, body["total"]) == (200, len(RECORDS)), body
    assert log.bytes_read == size, "the first query reads the file once"

    await get_audit(audited, "", admin(audited))
    assert log.bytes_read == size, "nothing new: nothing read"

    # Another process (the kotha CLI) appends through its own AuditLog.
    cli = AuditLog(log.path)
    new = line("cli:ops", "revoke", at("2026-03-05"))
    cli.append(new)
    cli.close()
    status, body = await get_audit(audited, "", admin(audited))
    assert log.bytes_read == size + len(new.encode()) + 1, "only the new line is read"
    assert body["total"] == len(RECORDS) + 1
    assert [r["action"] for r in body["records"]] == ["revoke", *NEWEST_FIRST]
    _, body = await get_audit(audited, "?action=monitor", admin(audited))
    assert [r["action"] for r in body["records"]] == NEWEST_FIRST[-3:], "filters still right"


async def test_a_half_written_line_waits_for_its_newline(audited: Server) -> None:
    log = audited.switchboard.audit
    whole = line("cli:ops", "purge_recording", at("2026-03-06")).encode()
    with log.path.open("ab") as file:
        file.write(whole[:20])
    _, body = await get_audit(audited, "", admin(audited))
    assert body["total"] == len(RECORDS)
    with log.path.open("ab") as file:
        file.write(whole[20:] + b"\n")
    _, body = await get_audit(audited, "", admin(audited))
    assert body["total"] == len(RECORDS) + 1
    assert body["records"][0]["action"] == "purge_recording"


async def test_an_audit_file_replaced_by_an_operator_is_read_afresh(audited: Server) -> None:
    log = audited.switchboard.audit
    await get_audit(audited, "", admin(audited))
    kept = log.path.with_name("audit.jsonl.new")
    kept.write_text(line("sumi", "watch", at("2026-04-01")) + "\n")
    os.replace(kept, log.path)
    _, body = await get_audit(audited, "", admin(audited))
    assert [(r["actor"], r["action"]) for r in body["records"]] == [("sumi", "watch")]
    assert body["total"] == 1
