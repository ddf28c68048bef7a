"""The naive relay that aiortc's examples build, kept as the benchmark's baseline.

It decodes every incoming stream and encodes it again for each receiver
(``MediaRelay``), which is what kotha's router avoids. Only the relay benchmark's
baseline server (:mod:`bench.baseline_server`) uses it, so the comparison runs
through the same server and protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.contrib.media import MediaRelay
from av.frame import Frame
from av.packet import Packet

from media.source import SourceKey


class TranscodingRelay:
    """A :class:`~media.room.MediaPlane` that decodes and re-encodes, as aiortc's examples do."""

    def __init__(self) -> None:
        self._relay = MediaRelay()
        self._receivers: dict[SourceKey, RTCRtpReceiver] = {}

    def attach(self, key: SourceKey, receiver: RTCRtpReceiver) -> None:
        self._receivers[key] = receiver

    def subscribe(self, key: SourceKey) -> MediaStreamTrack:
        return _RelayedTrack(key.source.media_kind, lambda: self._remote_track(key), self._relay)

    def request_keyframe(self, key: SourceKey) -> None:
        """The re-encoding sender makes keyframes itself."""

    def remove_participant(self, participant_id: str) -> None:
        for key in [k for k in self._receivers if k.participant_id == participant_id]:
            del self._receivers[key]

    def close(self) -> None:
        self._receivers.clear()

    def _remote_track(self, key: SourceKey) -> MediaStreamTrack | None:
        receiver = self._receivers.get(key)
        return receiver.track if receiver is not None else None


class _RelayedTrack(MediaStreamTrack):
    def __init__(
        self,
        kind: str,
        source: Callable[[], MediaStreamTrack | None],
        relay: MediaRelay,
    ) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._relay = relay
        self._inner: MediaStreamTrack | None = None

    async def recv(self) -> Frame | Packet:
        while self._inner is None:
            remote = self._source()
            if remote is not None:
                self._inner = self._relay.subscribe(remote)
            else:
                await asyncio.sleep(0.02)
        return await self._inner.recv()
