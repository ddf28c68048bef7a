"""A customer's side of the switchboard: the call made for them (by the shop's backend or
as a guest), asking for an agent, and giving up before one answers.

A customer waits in the registry's queue; this node also bounds how many waiting calls one
address may have (``max_queued_per_address``), so one script cannot fill the queue.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from callcenter import lifecycle
from callcenter.errors import CallStateError, InvalidMessageError, QueueFullError, QueueShareError
from callcenter.identity import Identity, Role
from callcenter.states import CallState, EndReason
from callcenter.values import CallValue, ParticipantValue, new_call_id, new_participant_id
from node.logs import call_context
from node.notifier import Payload

from .limits import Tally

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

DEFAULT_CUSTOMER_NAME = "Customer"  # a customer who gave no name


class CustomerDesk:
    """What a customer does before an agent takes their call."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board
        self._address_share = Tally(board.config.max_queued_per_address)
        # The address each waiting call was queued from (one address's share of the queue).
        self._queued_from: dict[str, str] = {}

    async def create(
        self,
        *,
        customer_subject: str,
        customer_name: str,
        language: str,
        media: str,
        metadata: dict[str, str] | None = None,
    ) -> CallValue:
        board = self._board
        board.refuse_if_draining()
        self.require_language(language)
        customer = ParticipantValue(
            participant_id=new_participant_id(),
            role=Role.CUSTOMER.value,
            subject=customer_subject,
            name=customer_name or DEFAULT_CUSTOMER_NAME,
            connected=False,
            video_enabled=media == "video",
        )
        call = await board.commit(
            lifecycle.create(
                CallValue(
                    call_id=new_call_id(),
                    customer=customer,
                    language=language,
                    media=media,
                    created_at=time.time(),
                    metadata=dict(metadata or {}),
                )
            )
        )
        board.journal.record(call, "created")
        with call_context(call.call_id):
            logger.info("Call(%s) created for customer %s", call.call_id, customer_subject)
        return call

    def require_language(self, language: str) -> None:
        """Calls are in the languages config offers (``call_languages``), no other."""
        offered = self._board.config.call_languages
        if language not in offered:
            raise InvalidMessageError(
                f"calls here are in {', '.join(offered)}; {language!r} is not one of them",
                field="language",
            )

    async def request(
        self,
        identity: Identity,
        media: str,
        language: str,
        source: str | None = None,
        *,
        name: str = "",
    ) -> Payload:
        """The customer asks for an agent: the call joins the queue.

        One address may have only ``max_queued_per_address`` customers waiting.
        """
        identity.require(Role.CUSTOMER)
        board = self._board
        call = board.visible_call(identity, identity.call_id or "")
        call_id = call.call_id
        with call_context(call_id):
            if call.state is CallState.ENDED:
                raise CallStateError("this call has ended; start a new one")
            if call.state is CallState.CREATED:
                board.refuse_if_draining()
                self.require_language(language)
                if board.queue.is_full:
                    raise QueueFullError("too many customers are waiting; please try again soon")
                address = source or "unknown"
                if not self._address_share.acquire(address):
                    raise QueueShareError(
                        "too many calls from your address are already waiting; "
                        "please wait for one of them to be answered"
                    )
                # A name given by the shop is kept; the customer's own replaces the default.
                given = name if name and call.customer.name == DEFAULT_CUSTOMER_NAME else None
                change = lifecycle.request(
                    call_id,
                    time.time(),
                    media=media,
                    language=language,
                    name=given,
                    queued_from=address,
                )
                try:
                    await board.change_call(change)
                except BaseException:
                    self._address_share.release(address)
                    raise
                self._queued_from[call_id] = address
                await board.dispatcher.changed()
                await board.dispatcher.offer_waiting()
            return await board.connections.state_for(identity)

    async def cancel(self, identity: Identity) -> None:
        identity.require(Role.CUSTOMER)
        board = self._board
        call = board.visible_call(identity, identity.call_id or "")
        if call.state is CallState.ACTIVE:
            raise CallStateError("the call is connected; hang up instead")
        if call.state is not CallState.ENDED:
            by = call.customer.participant_id
            await board.end_call(call.call_id, EndReason.CANCELLED, by=by)

    def release_address(self, call_id: str) -> None:
        """The call no longer waits: its address may queue another."""
        address = self._queued_from.pop(call_id, None)
        if address is not None:
            self._address_share.release(address)
