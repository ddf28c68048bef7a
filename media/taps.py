"""Taps: where consumers other than subscribers (the recorder, later the transcriber)
get each source's encoded frames, without touching the forwarding path."""

from __future__ import annotations

from collections.abc import Callable

from .source import EncodedFrame, SourceKey

FrameTap = Callable[[SourceKey, EncodedFrame], None]
"""Called with every encoded frame of a source, on the packet path: hand it on, do not work."""
