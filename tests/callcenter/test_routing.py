"""Routing: a waiting call rings the longest-idle agent free for it; the wait told is fair.

Read from the call centre's values, as any node reads them from the registry.
"""

from __future__ import annotations

from dataclasses import replace

from callcenter.routing import next_handle_time, next_match, wait_estimate
from callcenter.states import AgentState, CallState
from callcenter.values import AgentValue, CallValue, ParticipantValue


def _waiting(n: int, *, declined_by: frozenset[str] = frozenset()) -> CallValue:
    customer = ParticipantValue(f"p_{n}", "customer", f"cust{n}", f"Customer {n}")
    return CallValue(
        call_id=f"c_{n}",
        customer=customer,
        language="bn",
        media="audio",
        created_at=100.0 + n,
        state=CallState.QUEUED,
        queued_at=100.0 + n,
        declined_by=declined_by,
    )


def _agent(subject: str, state: AgentState, since: float) -> AgentValue:
    return AgentValue(subject, subject.title(), state, since)


def test_the_first_waiting_call_rings_the_agent_idle_longest() -> None:
    agents = [
        _agent("rahim", AgentState.AVAILABLE, 50.0),
        _agent("karim", AgentState.AVAILABLE, 10.0),  # free since earlier
        _agent("nadia", AgentState.ON_CALL, 1.0),
    ]
    match = next_match([_waiting(1), _waiting(2)], agents, {"rahim", "karim", "nadia"})
    assert match is not None
    call, agent = match
    assert (call.call_id, agent.subject) == ("c_1", "karim")


def test_an_agent_who_declined_a_call_is_not_rung_for_it_again() -> None:
    agents = [_agent("karim", AgentState.AVAILABLE, 10.0)]
    declined = _waiting(1, declined_by=frozenset({"karim"}))
    match = next_match([declined, _waiting(2)], agents, {"karim"})
    assert match is not None
    assert match[0].call_id == "c_2"


def test_no_call_rings_an_agent_without_a_connection_or_a_call_already_ringing() -> None:
    ringing = replace(_waiting(1), state=CallState.OFFERED)
    agents = [_agent("karim", AgentState.AVAILABLE, 10.0)]
    assert next_match([ringing], agents, {"karim"}) is None
    assert next_match([_waiting(2)], agents, online=set()) is None


def test_free_agents_answer_at_once_and_busy_ones_once_per_handle_time() -> None:
    agents = [
        _agent("karim", AgentState.AVAILABLE, 10.0),
        _agent("rahim", AgentState.ON_CALL, 10.0),
        _agent("nadia", AgentState.AWAY, 10.0),  # Away: not counted
    ]
    estimate = wait_estimate(agents, {"karim", "rahim", "nadia"}, handle_time_s=120.0)
    # Position 1 goes to Karim now; then both staffed agents free up every 120 s, the
    # first time about half-way through their current call.
    assert [estimate(p) for p in (1, 2, 3, 4)] == [0.0, 60.0, 60.0, 180.0]
    assert wait_estimate(agents, set(), handle_time_s=120.0)(1) is None


def test_the_handle_time_follows_recent_calls_without_one_call_swinging_it() -> None:
    average = 120.0
    average = next_handle_time(average, 600.0)
    assert 120.0 < average < 300.0
    for _ in range(30):
        average = next_handle_time(average, 60.0)
    assert abs(average - 60.0) < 1.0
