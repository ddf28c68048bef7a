"""What happens to a call, as changes of the registry: request, offer, accept, join, end.

Each function returns the change (a function of a :class:`Draft`) and the keys it reads;
:func:`run` hands both to the registry. A change refuses with :class:`Refused`, in words,
and then writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from .registry import CallRegistry, Draft
from .states import AgentState, CallState, EndReason
from .values import AgentValue, CallValue, ParticipantValue, QueueEntry

T = TypeVar("T")


class Refused(Exception):  # noqa: N818 (a refusal, said to a person; not a failure)
    """The change may not happen now; ``code`` for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """A change and the records it reads."""

    apply: Callable[[Draft], T]
    calls: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    queue: bool = False


async def run(registry: CallRegistry, change: Change[T]) -> T:
    return await registry.change(
        change.apply, calls=change.calls, agents=change.agents, queue=change.queue
    )


def _call(draft: Draft, call_id: str) -> CallValue:
    call = draft.call(call_id)
    if call is None:
        raise Refused("not_found", f"there is no call {call_id}")
    return call


def _agent(draft: Draft, subject: str) -> AgentValue:
    agent = draft.agent(subject)
    if agent is None:
        raise Refused("not_found", f"agent {subject} is not signed in")
    return agent


def create(call: CallValue) -> Change[CallValue]:
    """A new call (a customer's link was made): it exists, waiting for nobody yet."""

    def apply(draft: Draft) -> CallValue:
        if draft.call(call.call_id) is not None:
            raise Refused("exists", f"there is already a call {call.call_id}")
        return draft.put_call(call)

    return Change(apply, calls=(call.call_id,))


def request(
    call_id: str,
    now: float,
    *,
    media: str | None = None,
    language: str | None = None,
    name: str | None = None,
    queued_from: str | None = None,
) -> Change[CallValue]:
    """The customer asks for an agent: the call waits in the queue (a returning call keeps
    its place; one whose agent's connection was lost goes ahead of first-time callers).

    ``media``, ``language``, ``name`` and ``queued_from``: what the customer asked with (a
    call's media and language are the request's; a name replaces the default one)."""

    def apply(draft: Draft) -> CallValue:
        call = _call(draft, call_id)
        if call.state not in (CallState.CREATED, CallState.QUEUED, CallState.ACTIVE):
            raise Refused("call_state", f"call {call_id} is {call.state}: it cannot wait now")
        customer = call.customer
        if media is not None:
            customer = replace(customer, video_enabled=media == "video")
        if name:
            customer = replace(customer, name=name)
        waiting = replace(
            call.moved_to(CallState.QUEUED, now),
            customer=customer,
            media=media or call.media,
            language=language or call.language,
            queued_from=queued_from if queued_from is not None else call.queued_from,
        )
        if call.state is CallState.ACTIVE:
            waiting = replace(waiting, agent=None, requeued_at=now)
        stored = draft.put_call(waiting)
        queued_at = stored.queued_at if stored.queued_at is not None else now
        draft.enqueue(call_id, QueueEntry.score_of(queued_at, requeued=bool(stored.requeued_at)))
        return stored

    return Change(apply, calls=(call_id,), queue=True)


def offer(call_id: str, subject: str, now: float) -> Change[CallValue]:
    """Ring one available agent for a waiting call."""

    def apply(draft: Draft) -> CallValue:
        call, agent = _call(draft, call_id), _agent(draft, subject)
        if call.state is not CallState.QUEUED:
            raise Refused("call_state", f"call {call_id} is {call.state}, not waiting")
        if agent.state is not AgentState.AVAILABLE:
            raise Refused("agent_busy", f"{agent.name} is {agent.state.value}, not available")
        draft.put_agent(agent.moved_to(AgentState.RINGING, now, call_id))
        return draft.put_call(replace(call.moved_to(CallState.OFFERED, now), offered_to=subject))

    return Change(apply, calls=(call_id,), agents=(subject,))


def accept(
    call_id: str,
    subject: str,
    participant_id: str,
    node: str,
    now: float,
    *,
    connected: bool = False,
) -> Change[CallValue]:
    """An agent takes a waiting call (or the one offered to them); its media is on ``node``
    (where it already was, for a call back from the queue; ``connected``: the agent has a
    connection open now)."""

    def apply(draft: Draft) -> CallValue:
        call, agent = _call(draft, call_id), _agent(draft, subject)
        offered_to_them = call.state is CallState.OFFERED and call.offered_to == subject
        if call.state is not CallState.QUEUED and not offered_to_them:
            raise Refused("call_taken", f"call {call_id} is no longer waiting")
        ringing_for_it = agent.state is AgentState.RINGING and agent.call_id == call_id
        if agent.state is not AgentState.AVAILABLE and not ringing_for_it:
            raise Refused("agent_busy", f"{agent.name} is {agent.state.value}")
        party = replace(
            _agent_party(participant_id, agent),
            connected=connected,
            video_enabled=call.media == "video",
        )
        taken = replace(
            call.moved_to(CallState.ACTIVE, now),
            agent=party,
            offered_to=None,
            requeued_at=None,
            queued_from=None,
            media_node=node,
        )
        draft.put_agent(agent.moved_to(AgentState.ON_CALL, now, call_id))
        draft.dequeue(call_id)
        return draft.put_call(taken)

    return Change(apply, calls=(call_id,), agents=(subject,), queue=True)


def withdraw(
    call_id: str, subject: str, now: float, agent_state: AgentState | None
) -> Change[CallValue]:
    """An offer to ``subject`` ends unanswered: the call waits in its place again, and the
    agent becomes ``agent_state`` (Away after a timeout; None: their state stays, as when
    they took another call)."""

    def apply(draft: Draft) -> CallValue:
        call = _call(draft, call_id)
        if call.state is not CallState.OFFERED or call.offered_to != subject:
            raise Refused("call_state", f"call {call_id} is not ringing for {subject}")
        agent = draft.agent(subject)
        if agent is not None and agent.call_id == call_id:
            state = agent_state if agent_state is not None else agent.state
            draft.put_agent(agent.moved_to(state, now))
        return draft.put_call(replace(call.moved_to(CallState.QUEUED, now), offered_to=None))

    return Change(apply, calls=(call_id,), agents=(subject,))


def decline(call_id: str, subject: str, now: float) -> Change[CallValue]:
    """The agent the call rings for declines it: it waits again, never to ring them again."""

    def apply(draft: Draft) -> CallValue:
        call, agent = _call(draft, call_id), _agent(draft, subject)
        if call.state is not CallState.OFFERED or call.offered_to != subject:
            raise Refused("call_state", "that call is not being offered to you")
        if agent.call_id == call_id:
            draft.put_agent(agent.moved_to(AgentState.AVAILABLE, now))
        waiting = replace(
            call.moved_to(CallState.QUEUED, now),
            offered_to=None,
            declined_by=call.declined_by | {subject},
        )
        return draft.put_call(waiting)

    return Change(apply, calls=(call_id,), agents=(subject,))


def requeue(call_id: str, subject: str, now: float) -> Change[CallValue]:
    """The agent's connection never came back: the call waits again, ahead of first-time
    callers, with the agent among its former ones and nobody's decline held against it.
    The agent is Away, and told of the call they lost when they are back."""

    def apply(draft: Draft) -> CallValue:
        call = _call(draft, call_id)
        party = call.agent
        if call.state is not CallState.ACTIVE or party is None or party.subject != subject:
            raise Refused("call_state", f"call {call_id} has no agent {subject} to lose")
        agent = draft.agent(subject)
        if agent is not None and agent.call_id == call_id:
            away = agent.moved_to(AgentState.AWAY, now)
            draft.put_agent(replace(away, lost_call=call_id))
        waiting = replace(
            call.moved_to(CallState.QUEUED, now),
            agent=None,
            former_agents=(*call.former_agents, party),
            declined_by=frozenset(),
            requeued_at=now,
        )
        stored = draft.put_call(waiting)
        draft.enqueue(call_id, QueueEntry.score_of(stored.queued_at or now, requeued=True))
        return stored

    return Change(apply, calls=(call_id,), agents=(subject,), queue=True)


def join(call_id: str, participant_id: str, media_state: str = "new") -> Change[CallValue]:
    """A party starts (or restarts) the call's media (its peer is ``media_state`` now)."""

    def apply(draft: Draft) -> CallValue:
        call = _call(draft, call_id)
        if call.state is not CallState.ACTIVE:
            raise Refused("call_state", f"call {call_id} is {call.state}: nothing to join")
        party = next((p for p in call.participants if p.participant_id == participant_id), None)
        if party is None:
            raise Refused("forbidden", f"{participant_id} is not in call {call_id}")
        joined = replace(
            party, connected=True, media_state=media_state, media_joins=party.media_joins + 1
        )
        if party.role == "customer":
            return draft.put_call(replace(call, customer=joined))
        return draft.put_call(replace(call, agent=joined))

    return Change(apply, calls=(call_id,))


def end(
    call_id: str,
    reason: EndReason,
    by: str | None,
    now: float,
    agent: str | None = None,
    *,
    agent_state: AgentState = AgentState.AVAILABLE,
) -> Change[CallValue]:
    """The call ends (``agent``: the agent on it or ringing for it, who is ``agent_state``
    again: Available, or Away when they have no connection open)."""

    def apply(draft: Draft) -> CallValue:
        call = _call(draft, call_id)
        if call.state is CallState.ENDED:
            return call
        ended = replace(
            call.moved_to(CallState.ENDED, now),
            end_reason=reason,
            ended_by=by,
            queued_from=None,
            offered_to=None,
        )
        draft.dequeue(call_id)
        if agent is not None:
            held = draft.agent(agent)
            if held is not None and held.call_id == call_id:
                draft.put_agent(held.moved_to(agent_state, now))
        return draft.put_call(ended)

    agents = (agent,) if agent is not None else ()
    return Change(apply, calls=(call_id,), agents=agents, queue=True)


def restore(call: CallValue, now: float, node: str | None = None) -> Change[CallValue]:
    """A call of an earlier run, read back from its node's journal (ended, as interrupted
    when it was live): the registry gets it, unless it already knows the call ended. With
    many nodes (``node``: this one), a live call whose media is not on this node goes on:
    another node carries it, or it waits in the queue with its customer connected elsewhere."""

    def apply(draft: Draft) -> CallValue:
        held = draft.call(call.call_id)
        if held is None:
            return draft.put_call(replace(call, version=0))
        if held.state is CallState.ENDED:
            return held
        if node is not None and held.media_node != node:
            return held
        draft.dequeue(call.call_id)
        interrupted = replace(
            held.moved_to(CallState.ENDED, now),
            end_reason=EndReason.INTERRUPTED,
            offered_to=None,
            queued_from=None,
        )
        return draft.put_call(interrupted)

    return Change(apply, calls=(call.call_id,), queue=True)


def _agent_party(participant_id: str, agent: AgentValue) -> ParticipantValue:
    return ParticipantValue(participant_id, "agent", agent.subject, agent.name, connected=False)
