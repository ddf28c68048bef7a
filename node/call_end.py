"""How a call ends: a hang-up, a party whose connection never came back, a link never used,
a node shutting down; and what goes with it (timers, monitoring, media, the agent freed).

The end is one change of the registry (the call, the queue and the agent at once). When
the registry cannot be reached the call still ends here: its parties are told and its
recording finishes; the agent's record is set right when they next sign in.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from callcenter import lifecycle
from callcenter.registry import RegistryError
from callcenter.states import AgentState, CallState, EndReason
from node.events import ServerEvent
from node.logs import call_context

from .payloads import ended_payload
from .presence import agent_key
from .requeue import requeue_call

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

# The call journal is rewritten with only the calls still known after this many lines.
JOURNAL_REWRITE_LINES = 10_000

__all__ = ["agent_gone", "customer_gone", "drain", "end_call", "sweep"]


async def drain(board: Switchboard) -> None:
    """The node stops taking calls (SIGTERM). With other nodes live, the calls whose media
    is here go on at one with room (their parties join again there) and the rest is theirs
    to serve; alone, or with no room elsewhere, every live call ends, its parties told."""
    if not board.draining:
        logger.info("draining: new calls are refused, %d live calls end", len(board.live_calls()))
    board.draining = True
    await board.heartbeat.beat()  # out of node selection at once
    others = board.cluster.many and not board.cluster.alone()
    for call in board.live_calls():
        if others and board.room_of(call.call_id) is None:
            continue  # another node's call, or one waiting: the other nodes serve it
        if others and await board.cluster.move_away(call):
            continue
        await end_call(board, call.call_id, EndReason.SHUTDOWN)


async def end_call(
    board: Switchboard, call_id: str, reason: EndReason, by: str | None = None
) -> None:
    call = board.calls.get(call_id)
    if call is None or call.state is CallState.ENDED:
        return
    if await board.cluster.end_at_owner(call_id, reason, by):
        return  # the node with the call's room ends it
    call = board.calls.get(call_id, call)
    if call.state is CallState.ENDED:
        return
    with call_context(call_id):
        was_active = call.state is CallState.ACTIVE
        board.customer_desk.release_address(call_id)
        board.tasks.cancel_timer(f"offer:{call_id}")
        for participant in call.participants:
            board.tasks.cancel_timer(f"grace:{call_id}:{participant.participant_id}")
        subject = call.agent.subject if call.agent is not None else call.offered_to
        # Free again if connected: to this node, or (the call says) to another.
        connected = call.agent is not None and call.agent.connected
        free = AgentState.AWAY
        if subject is not None and (connected or board.presence.agent_online(subject)):
            free = AgentState.AVAILABLE
        now = time.time()
        try:
            call = await board.commit(
                lifecycle.end(call_id, reason, by, now, subject, agent_state=free)
            )
        except RegistryError as exc:
            board.outage.refusal(exc, f"ending call {call_id}")
            call = replace(call.moved_to(CallState.ENDED, now), end_reason=reason, ended_by=by)
            board.calls[call_id] = call
        board.journal.record(call, "ended")
        media = board.media.take(call_id)
        if media is not None:
            board.heartbeat.nudge()
            summary = media.stop_sampling()
            if summary is not None:
                board.summaries[call_id] = summary
        # Supervisors leave first (the room still there): their sessions' ends are
        # audited and on the timeline.
        await board.monitoring.call_ended(call_id)
        await board.watches.call_ended(call_id)
        # The last words are recognised after the hang-up; the recording waits.
        if media is not None and await media.close(reason.value, call.ended_by):
            await board.recording_is(call_id, "stopped")
        if was_active and call.answered_at is not None:
            board.queue.record_handle_time(time.time() - call.answered_at)
        if subject is not None:
            await board.agent_changed(subject)
        logger.info("Call(%s) ended: %s", call_id, reason.value)
        await board.notifier.to_call(
            call_id, ServerEvent.CALL_ENDED, ended_payload(board.calls.get(call_id, call))
        )
    board.floor.changed()
    if reason is not EndReason.SHUTDOWN:
        await board.dispatcher.changed()
        await board.dispatcher.offer_waiting()


async def customer_gone(board: Switchboard, call_id: str) -> None:
    """The customer's grace ran out: a call in progress ends as disconnected, a waiting one
    as abandoned; an unused link stays valid until the sweep expires it."""
    call = board.calls.get(call_id)
    if call is None or call.customer.connected or call.state is CallState.ENDED:
        return
    if call.state is CallState.CREATED:
        return
    if board.cluster.present_elsewhere(call.customer.participant_id):
        return  # connected to another node after all: it says so in its beat
    reason = EndReason.DISCONNECTED if call.state is CallState.ACTIVE else EndReason.ABANDONED
    await end_call(board, call_id, reason, by=call.customer.participant_id)


async def agent_gone(board: Switchboard, subject: str) -> None:
    """The agent's grace ran out: a ringing call rings the next agent; a call in progress
    goes back to the queue, first in line (or ends, when the node is draining); they are
    Away."""
    agent = await board.registry.agent(subject)
    if agent is None or board.presence.agent_online(subject):
        return
    if board.cluster.present_elsewhere(agent_key(subject)):
        return  # back, on another node
    call = board.calls.get(agent.call_id or "")
    if agent.state is AgentState.RINGING and call is not None:
        await board.dispatcher.withdraw(call.call_id, reason="agent_disconnected")
    elif agent.state is AgentState.ON_CALL and call is not None and call.agent is not None:
        if call.state is CallState.ACTIVE and not board.draining:
            # The customer is still there (had their own grace run out, the call
            # would have ended): the call goes back to the queue, first in line.
            left = await requeue_call(board, call)
            board.tasks.spawn(
                board.transcription.speaker_left(call.call_id, left),
                f"transcription:{call.call_id}:{left}",
            )
            await board.agent_changed(subject)
            await board.dispatcher.offer_waiting()
            await board.dispatcher.changed()
            return
        await end_call(board, call.call_id, EndReason.DISCONNECTED, by=call.agent.participant_id)
    await board.agent_desk.move(subject, AgentState.AWAY)
    await board.dispatcher.changed()


async def sweep(board: Switchboard) -> None:
    """Forget long-ended calls and expire join links that were never used."""
    now = time.time()
    config = board.config
    for call in list(board.calls.values()):
        if call.state is CallState.ENDED and now - (call.ended_at or now) > (
            config.ended_call_retention_s
        ):
            del board.calls[call.call_id]
            board.summaries.pop(call.call_id, None)
            board.presence.forget_party(call.customer.participant_id)
        elif call.state is CallState.CREATED and now - call.created_at > (
            config.customer_token_ttl_s
        ):
            await end_call(board, call.call_id, EndReason.EXPIRED)
    if board.journal.lines_since_rewrite > JOURNAL_REWRITE_LINES:
        board.journal.rewrite(list(board.calls.values()))
