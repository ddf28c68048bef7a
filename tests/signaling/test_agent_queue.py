"""The queue: first come first served (which agent, and the wait told: tests/callcenter).

A call whose agent was lost comes back ahead of every call waiting for a first agent.
"""

from __future__ import annotations

from signaling.agent_queue import AgentQueue
from signaling.auth import Role
from signaling.calls import Call, CallState, Participant


def _call(n: int, queued_at: float) -> Call:
    call = Call(
        call_id=f"c_call{n:04d}",
        customer=Participant(f"p_{n}", Role.CUSTOMER, f"cust{n}", f"Customer {n}"),
        language="bn",
        media="audio",
    )
    call.state = CallState.QUEUED
    call.queued_at = queued_at
    return call


def test_calls_wait_in_arrival_order_and_a_returning_call_keeps_its_place() -> None:
    queue = AgentQueue(default_handle_time_s=120, max_waiting=10)
    first, second, third = _call(1, 10.0), _call(2, 20.0), _call(3, 30.0)
    for call in (first, second, third):
        queue.enqueue(call)
    queue.remove(first)
    queue.enqueue(first)  # an offer that timed out puts the call back
    assert [queue.position(c) for c in (first, second, third)] == [1, 2, 3]


def test_a_call_whose_agent_was_lost_goes_ahead_of_calls_that_waited_longer() -> None:
    queue = AgentQueue(default_handle_time_s=120, max_waiting=10)
    earliest, later, lost = _call(1, 10.0), _call(2, 20.0), _call(3, 15.0)
    queue.enqueue(earliest)
    queue.enqueue(later)
    lost.requeued_at = 50.0
    queue.enqueue(lost)
    another_lost = _call(4, 5.0)
    another_lost.requeued_at = 60.0
    queue.enqueue(another_lost)
    # Among re-queued calls, and among the rest, the longest-waiting goes first.
    assert queue.waiting() == [another_lost, lost, earliest, later]
    assert [queue.position(c) for c in (another_lost, lost, earliest, later)] == [1, 2, 3, 4]
    assert queue.head() is another_lost
    queue.remove(lost)
    assert queue.position(earliest) == 2


def test_the_handle_time_follows_the_calls_agents_finish() -> None:
    queue = AgentQueue(default_handle_time_s=100, max_waiting=10)
    for _ in range(20):
        queue.record_handle_time(300)
    assert 290 < queue.handle_time_s <= 300


def test_queue_reports_full() -> None:
    queue = AgentQueue(default_handle_time_s=100, max_waiting=2)
    queue.enqueue(_call(1, 1.0))
    assert not queue.is_full
    queue.enqueue(_call(2, 2.0))
    assert queue.is_full
