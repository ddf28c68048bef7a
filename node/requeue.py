"""A call whose agent's connection never came back goes back to the queue, at its head.

Contact centres do this (Amazon Connect and Twilio Flex re-queue the call of an
agent who dropped, with priority) rather than drop a customer who did nothing
wrong. The call keeps its id, the customer's media connection, the recording,
the transcript and the quality timeline: the agent who left leaves the media
room, and the next agent to take the call joins that same room. On the
recording's timeline the gap reads: the agent left (connection lost), the call
went back to the queue, the next agent joined.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from callcenter import lifecycle
from callcenter.values import CallValue
from node.events import ServerEvent
from node.logs import call_context
from recording.timeline import EntryType

from .payloads import call_payload

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

__all__ = ["requeue_call", "taken_again"]


async def requeue_call(board: Switchboard, call: CallValue) -> str:
    """Take the lost agent out of the active ``call`` and put it first in the queue.

    The customer must still be there (connected, or within their own grace).
    Returns the participant id of the agent who left. The change sets that agent Away
    (told of the call they lost when they are back); the caller lets go of their
    recogniser and offers the call to the next agent.
    """
    agent = call.agent
    if agent is None:
        raise RuntimeError(f"Call({call.call_id}) has no agent to lose")
    call_id = call.call_id
    with call_context(call_id):
        board.recordings.event(
            call_id,
            EntryType.CALL_REQUEUED,
            participant_id=agent.participant_id,
            role=agent.role,
            name=agent.name,
            reason="agent_connection_lost",
        )
        # A whisper coaches the agent who left: supervisors monitor again once one takes it.
        await board.monitoring.agent_lost(call_id)
        if call.held_since is not None:  # the hold ends with the agent who held
            await board.call_controls.apply_hold(call_id, False, by="system")
        await board.media.media_of(call_id).participant_left(agent.participant_id)
        waiting = await board.commit(lifecycle.requeue(call_id, agent.subject, time.time()))
        board.journal.record(waiting, "requeued")
        logger.info(
            "Call(%s) back in the queue, first in line: agent %s's connection did not come back",
            call_id,
            agent.subject,
        )
    await board.notifier.to_call(call_id, ServerEvent.CALL_UPDATED, {"call": call_payload(waiting)})
    return agent.participant_id


def taken_again(board: Switchboard, call: CallValue) -> None:
    """The next agent took a re-queued call: the timeline says who."""
    if call.agent is not None:
        board.recordings.event(
            call.call_id,
            EntryType.CALL_TAKEN_AGAIN,
            participant_id=call.agent.participant_id,
            role=call.agent.role,
            name=call.agent.name,
        )
