"""The media of the calls this node serves: one :class:`CallMedia` per call, by id.

A call's media lives on the node that took it (``CallValue.media_node``): its room, made
here with this node's media settings (the plane that moves frames, the RTC configuration,
the answer timeout, which addresses a client's ICE candidates may make it contact), with
the recorder, the quality sampler and the transcript wired in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiortc import RTCConfiguration

from callcenter.errors import NotFoundError, ServerBusyError
from media.ice_policy import CandidatePolicy
from media.peer import Offer, PeerState
from media.room import MediaPlane, Room

from .call_media import CallMedia
from .config import Config


class MediaHost:
    """Rooms made with this node's settings, and each call's media while it lasts here."""

    def __init__(
        self,
        config: Config,
        *,
        configuration_factory: Callable[[], RTCConfiguration],
        plane_factory: Callable[[], MediaPlane],
    ) -> None:
        self._answer_timeout_s = config.answer_timeout_s
        self._configuration_factory = configuration_factory
        # What moves each call's media: the router; a benchmark passes its baseline.
        self._plane_factory = plane_factory
        networks = config.candidate_networks
        # Which addresses a client's ICE candidates may make this server contact.
        self._candidate_policy = CandidatePolicy(
            networks=None if networks is None else tuple(networks)
        )
        self._calls: dict[str, CallMedia] = {}
        self.capacity = config.max_calls
        """The most calls this node carries at once (``max_calls``)."""

    def open_room(
        self,
        call_id: str,
        *,
        on_offer: Callable[[str, Offer], Awaitable[None]],
        on_state: Callable[[str, PeerState], None],
    ) -> Room:
        """A media room for the call on this node, with this node's media settings."""
        return Room(
            call_id,
            on_offer=on_offer,
            on_state=on_state,
            configuration_factory=self._configuration_factory,
            plane=self._plane_factory(),
            answer_timeout=self._answer_timeout_s,
            candidate_policy=self._candidate_policy,
        )

    def count(self) -> int:
        """How many calls' media this node carries."""
        return len(self._calls)

    def full(self) -> bool:
        return self.count() >= self.capacity

    def refuse_if_full(self) -> None:
        """A call past capacity would take quality from the ones carried: refuse it."""
        if self.full():
            raise ServerBusyError(
                f"this server carries as many calls as it may ({self.capacity}); "
                "the call waits for a line to free up"
            )

    def add(self, media: CallMedia) -> None:
        """The call's media is this node's to serve from now on."""
        self._calls[media.call_id] = media

    def take(self, call_id: str) -> CallMedia | None:
        """The call's media, no longer this node's to serve (the call ended)."""
        return self._calls.pop(call_id, None)

    def room_of(self, call_id: str) -> Room | None:
        media = self._calls.get(call_id)
        return media.room if media is not None else None

    def media_of(self, call_id: str) -> CallMedia:
        """The call's media on this node (a call taken by an agent that has not ended)."""
        media = self._calls.get(call_id)
        if media is None:
            raise NotFoundError(f"call {call_id} has no media here; it is not active")
        return media
