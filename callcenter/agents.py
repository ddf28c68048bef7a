"""What happens to an agent, as changes of the registry: they sign in, say whether they
take calls, and are told of a call they lost.

An agent's sockets are their node's; here is only what the whole call centre sees.
"""

from __future__ import annotations

from dataclasses import replace

from .lifecycle import Change, Refused
from .registry import Draft
from .states import AgentState
from .values import AgentValue


def sign_in(subject: str, name: str, now: float) -> Change[AgentValue]:
    """The agent's console connected: their record exists (Away until they say otherwise;
    one already known keeps its state and takes the name they now give)."""

    def apply(draft: Draft) -> AgentValue:
        agent = draft.agent(subject)
        if agent is None:
            return draft.put_agent(AgentValue(subject, name, AgentState.AWAY, now))
        if agent.name == name:
            return agent
        return draft.put_agent(replace(agent, name=name))

    return Change(apply, agents=(subject,))


def set_availability(subject: str, available: bool, now: float) -> Change[AgentValue]:
    """Available (calls may ring) or Away; not while on a call or ringing. Saying so also
    answers the notice of a call they lost."""

    def apply(draft: Draft) -> AgentValue:
        agent = draft.agent(subject)
        if agent is None:
            raise Refused("not_found", f"agent {subject} is not signed in")
        if agent.state in (AgentState.ON_CALL, AgentState.RINGING):
            raise Refused("call_state", f"cannot change availability while {agent.state.value}")
        state = AgentState.AVAILABLE if available else AgentState.AWAY
        return draft.put_agent(replace(agent.moved_to(state, now), lost_call=None))

    return Change(apply, agents=(subject,))


def gone(subject: str, now: float) -> Change[AgentValue | None]:
    """The agent's last connection closed and did not come back: Away, holding no call."""

    def apply(draft: Draft) -> AgentValue | None:
        agent = draft.agent(subject)
        if agent is None or agent.state is AgentState.AWAY:
            return agent
        return draft.put_agent(agent.moved_to(AgentState.AWAY, now))

    return Change(apply, agents=(subject,))
