"""The contact store, on one node (SQLite) and on many (a real redis-server).

Guards: a contact's own facts and what is learnt later (analytics, a rating) are
written apart, so neither overwrites the other; a rating is kept once; a range reads
the contacts queued in it and the agents' spans that overlap it; old ones are trimmed;
a one-node store's contacts outlive a restart.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analytics.contact import ContactRecord
from analytics.redis_store import RedisContactStore
from analytics.store import ContactStore, SqliteContactStore
from analytics.transitions import AgentSpan
from tests.redis_server import RedisServer

T0 = 1_790_000_000.0


def record(n: int, queued: float, **kw: object) -> ContactRecord:
    return ContactRecord(call_id=f"c_{n:010d}", language="bn", queued_at=queued, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "redis"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], ContactStore]]:
    """Opens handles on one store (each a fresh connection, as a restarted node's)."""
    opened: list[ContactStore] = []
    prefix = f"test:{secrets.token_hex(4)}:"
    server: RedisServer | None = (
        request.getfixturevalue("redis_server") if request.param == "redis" else None
    )

    def open_one() -> ContactStore:
        store: ContactStore = (
            SqliteContactStore(tmp_path / "contacts.sqlite3")
            if server is None
            else RedisContactStore.from_url(server.url, prefix=prefix)
        )
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


async def test_facts_and_later_facts_do_not_overwrite_each_other(
    stores: Callable[[], ContactStore],
) -> None:
    store = stores()
    await store.put(record(1, T0))
    assert await store.annotate("c_0000000001", categories=("Refund",), mos_average=4.1)
    # The call ends on another node after the analytics came: the analytics stay.
    await store.put(record(1, T0, answered_at=T0 + 5, ended_at=T0 + 65, end_reason="hung_up"))
    got = await store.get("c_0000000001")
    assert got is not None
    assert (got.categories, got.mos_average, got.handle_s) == (("Refund",), 4.1, 60.0)
    assert not await store.annotate("c_0000000404", mos_average=3.0)
    with pytest.raises(ValueError, match="not a later fact"):
        await store.annotate("c_0000000001", queued_at=0)


async def test_a_rating_is_kept_once(stores: Callable[[], ContactStore]) -> None:
    first, second = stores(), stores()
    await first.put(record(2, T0, answered_at=T0 + 1, ended_at=T0 + 9, end_reason="hung_up"))
    kept = await asyncio.gather(
        first.rate("c_0000000002", 5, "ধন্যবাদ", T0 + 20),
        second.rate("c_0000000002", 1, None, T0 + 21),
    )
    assert sorted(kept) == [False, True]
    got = await second.get("c_0000000002")
    assert got is not None and got.csat in (5, 1)
    assert (got.csat, got.csat_comment) in ((5, "ধন্যবাদ"), (1, None))


async def test_a_range_reads_its_contacts_and_the_spans_overlapping_it(
    stores: Callable[[], ContactStore],
) -> None:
    store = stores()
    for n in range(5):
        await store.put(record(n, T0 + n * 100))
    await store.add_span(AgentSpan("rahim", "Rahim", "available", T0 - 50, T0 + 150))
    await store.add_span(AgentSpan("rahim", "Rahim", "on_call", T0 + 150, T0 + 450))
    await store.add_span(AgentSpan("rahim", "Rahim", "on_call", T0 + 150, T0 + 450))  # twice
    await store.add_span(AgentSpan("sumi", "Sumi", "available", T0 + 500, T0 + 900))
    ids = [c.call_id for c in await store.contacts(T0 + 100, T0 + 300)]
    assert ids == ["c_0000000001", "c_0000000002"]  # the end is left out
    spans = await store.spans(T0 + 100, T0 + 200)
    assert [(s.subject, s.state) for s in spans] == [
        ("rahim", "available"),
        ("rahim", "on_call"),
        ("rahim", "on_call"),
    ]
    assert await store.trim(T0 + 250) == 3 + 1  # three contacts, the span ended at T0+150
    assert [c.call_id for c in await store.contacts(T0 - 1000, T0 + 1000)] == [
        "c_0000000003",
        "c_0000000004",
    ]


async def test_contacts_outlive_a_restart(stores: Callable[[], ContactStore]) -> None:
    store = stores()
    await store.put(record(7, T0, answered_at=T0 + 3, ended_at=T0 + 30, end_reason="hung_up"))
    await store.close()
    again = stores()
    got = await again.get("c_0000000007")
    assert got is not None and got.wait_s == 3.0


async def test_a_node_forgets_contacts_past_their_retention(
    stores: Callable[[], ContactStore],
) -> None:
    from callcenter.states import AgentState
    from callcenter.values import AgentValue
    from node.contacts import Contacts

    store = stores()
    now = T0 + 10 * 86400
    await store.put(record(8, T0))  # ten days old
    await store.put(record(9, now - 3600))
    contacts = Contacts(
        store,
        zone=ZoneInfo("UTC"),
        target_s=20,
        retention_s=7 * 86400,
        agents=dict,
        clock=lambda: now,
    )
    contacts.start()
    # The next thing written makes it look (at most once an hour): an agent going Away.
    available = AgentValue("rahim", "Rahim", AgentState.AVAILABLE, state_since=now - 60)
    away = available.moved_to(AgentState.AWAY, now)
    contacts.observe({}, {}, {"rahim": available}, {"rahim": away})
    await contacts.settle()
    await contacts.stop()
    assert [c.call_id for c in await store.contacts(0, now)] == ["c_0000000009"]
    assert [(s.state, s.end - s.start) for s in await store.spans(now - 3600, now)] == [
        ("available", 60.0)
    ]


async def test_a_contacts_file_from_before_holds_opens_with_them(tmp_path: Path) -> None:
    """A node upgraded in place: its contacts.sqlite3 has no hold columns yet."""
    path = tmp_path / "contacts.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE contacts (call_id TEXT PRIMARY KEY, language TEXT NOT NULL,"
            " queued_at REAL NOT NULL, answered_at REAL, ended_at REAL, end_reason TEXT,"
            " agent_subject TEXT, agent_name TEXT, customer_name TEXT NOT NULL DEFAULT '',"
            " mos_average REAL, customer_end_sentiment TEXT,"
            " categories TEXT NOT NULL DEFAULT '[]', csat INTEGER, csat_comment TEXT,"
            " rated_at REAL);"
            f" INSERT INTO contacts (call_id, language, queued_at) VALUES ('c_old', 'bn', {T0});"
        )
    old.close()
    store = SqliteContactStore(path)
    try:
        before = await store.get("c_old")
        assert before is not None and (before.hold_s, before.holds) == (0.0, 0)
        await store.put(record(2, T0 + 1, answered_at=T0 + 2, hold_s=12.5, holds=1))
        got = await store.get("c_0000000002")
        assert got is not None and (got.hold_s, got.holds) == (12.5, 1)
    finally:
        await store.close()
