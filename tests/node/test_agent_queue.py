"""This node's view of the queue: places told without a round trip, and the handle time.

The order itself is the registry's (tests/callcenter: arrival order under concurrent
requests, a call whose agent was lost ahead of the rest); the node reads it as it is.
"""

from __future__ import annotations

from callcenter.values import QueueEntry
from node.agent_queue import AgentQueue


def test_places_follow_the_registrys_order_whatever_order_it_is_read_in() -> None:
    queue = AgentQueue(default_handle_time_s=120, max_waiting=10)
    lost = QueueEntry(QueueEntry.score_of(15.0, requeued=True), "c_lost")
    queue.read([QueueEntry(20.0, "c_later"), QueueEntry(10.0, "c_first"), lost])
    assert queue.ids() == ["c_lost", "c_first", "c_later"]
    assert [queue.position(c) for c in ("c_lost", "c_first", "c_later")] == [1, 2, 3]
    assert queue.position("c_answered") is None
    queue.read([QueueEntry(20.0, "c_later")])  # the first two were answered
    assert queue.position("c_later") == 1
    assert queue.position("c_first") is None


def test_the_handle_time_follows_the_calls_agents_finish() -> None:
    queue = AgentQueue(default_handle_time_s=100, max_waiting=10)
    for _ in range(20):
        queue.record_handle_time(300)
    assert 290 < queue.handle_time_s <= 300


def test_queue_reports_full() -> None:
    queue = AgentQueue(default_handle_time_s=100, max_waiting=2)
    queue.read([QueueEntry(1.0, "c_1")])
    assert not queue.is_full
    queue.read([QueueEntry(1.0, "c_1"), QueueEntry(2.0, "c_2")])
    assert queue.is_full
    assert len(queue) == 2
