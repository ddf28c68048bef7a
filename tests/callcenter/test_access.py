"""Who may see a call and who takes part in it, read from an identity and the call's value.

Guards: a customer's token shows only the call it is bound to (another call is "not
found", not "forbidden", so ids cannot be probed); a reviewer sees no live call; an agent
is a party only of the call they took; a supervisor sees every call and is no party.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from callcenter.access import party_of, visible
from callcenter.errors import ForbiddenError, NotFoundError
from callcenter.identity import Identity, Role
from callcenter.states import CallState
from callcenter.values import CallValue, ParticipantValue


def _identity(role: Role, subject: str, call_id: str | None = None) -> Identity:
    return Identity(role, subject, subject.title(), call_id, 2000, 1000, "t", "g", 1000, 3000)


def _call(call_id: str = "c_1") -> CallValue:
    customer = ParticipantValue("p_c", "customer", "guest-7", "Karim")
    agent = ParticipantValue("p_a", "agent", "rahim", "Rahim")
    return CallValue(
        call_id=call_id,
        customer=customer,
        language="bn",
        media="audio",
        created_at=100.0,
        state=CallState.ACTIVE,
        agent=agent,
    )


def test_a_customer_sees_their_own_call_and_is_its_customer() -> None:
    karim = _identity(Role.CUSTOMER, "guest-7", call_id="c_1")
    call = visible(karim, "c_1", _call())
    assert call.call_id == "c_1"
    assert party_of(karim, call).participant_id == "p_c"


def test_another_call_is_not_found_for_a_customer_even_when_it_exists() -> None:
    karim = _identity(Role.CUSTOMER, "guest-7", call_id="c_1")
    with pytest.raises(NotFoundError, match="no call c_2 that this token may see"):
        visible(karim, "c_2", _call("c_2"))


def test_no_call_is_not_found_for_staff() -> None:
    with pytest.raises(NotFoundError):
        visible(_identity(Role.SUPERVISOR, "sumi"), "c_9", None)


def test_a_reviewer_sees_no_live_call_and_is_told_to_use_recordings() -> None:
    with pytest.raises(ForbiddenError, match="use recordings"):
        visible(_identity(Role.REVIEWER, "rina"), "c_1", _call())


def test_an_agent_is_a_party_only_of_the_call_they_took() -> None:
    call = _call()
    assert party_of(_identity(Role.AGENT, "rahim"), call).participant_id == "p_a"
    with pytest.raises(ForbiddenError, match="not the agent of this call"):
        party_of(_identity(Role.AGENT, "nusrat"), call)
    with pytest.raises(ForbiddenError, match="not the agent of this call"):
        party_of(_identity(Role.AGENT, "rahim"), replace(call, agent=None))


def test_a_supervisor_sees_every_call_but_is_no_party_of_it() -> None:
    sumi = _identity(Role.SUPERVISOR, "sumi")
    call = visible(sumi, "c_1", _call())
    with pytest.raises(ForbiddenError, match="needs customer, agent"):
        party_of(sumi, call)
