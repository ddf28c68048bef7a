"""Who may see a call and who takes part in it: rules of an identity and a call's value.

A customer sees only the call their token is bound to, a reviewer no live call (they
replay recordings), staff every call; the parties of a call are its customer and its
agent. The node reads the call, these rules say yes or refuse in words.
"""

from __future__ import annotations

from .errors import ForbiddenError, NotFoundError
from .identity import Identity, Role
from .values import CallValue, ParticipantValue

__all__ = ["party_of", "visible"]


def visible(identity: Identity, call_id: str, call: CallValue | None) -> CallValue:
    """The call (``call_id``, None if there is none), if this identity may see it."""
    if identity.role is Role.CUSTOMER and identity.call_id != call_id:
        call = None
    if call is None:
        raise NotFoundError(f"no call {call_id} that this token may see")
    if identity.role is Role.REVIEWER:
        raise ForbiddenError("a reviewer cannot see live calls; use recordings")
    return call


def party_of(identity: Identity, call: CallValue) -> ParticipantValue:
    """The identity's own party in the call: the customer, or the call's agent."""
    identity.require(Role.CUSTOMER, Role.AGENT)
    if identity.role is Role.CUSTOMER:
        return call.customer
    if call.agent is None or call.agent.subject != identity.subject:
        raise ForbiddenError("you are not the agent of this call")
    return call.agent
