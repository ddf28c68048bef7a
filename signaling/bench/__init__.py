"""``kotha bench relay``: server CPU per forwarded audio stream, against a naive relay.

The benchmark runs kotha as a separate process, exactly as an operator would,
and loads it with two-party audio calls made by headless aiortc peers that
speak the real protocol (:class:`~client.participant.KothaClient`). It then
measures, over a window that starts after every call carries media:

* the server process's CPU time (``/proc/<pid>/stat``, all threads) divided by
  stream-seconds (2 streams per call times the window);
* ``delivered_ratio``: frames the clients received over frames they sent that
  the server should have forwarded;
* latency: receive time minus send time of the same frame, on one clock. It
  includes the clients' own packing, SRTP and loopback hops, so it bounds the
  time a frame spends in the server from above.

The same load then goes through the naive relay (``KOTHA_MEDIA_PLANE=transcode``:
decode every stream and encode it again per receiver, as aiortc's
``MediaRelay`` examples do), so the ratio compares two runs on the same
machine, minutes apart.

The clients must cost little, or on a small machine they would starve the
server they measure: they send Opus packets encoded once at start-up (aiortc's
sender packs an ``av.Packet`` without encoding) and take received frames before
the decoder (``on_encoded_frame``). They run in separate worker processes
(``python -m signaling.bench``) with uvloop at a lower priority, one or more,
each carrying whole calls so that sender and receiver of a stream share a
process and a clock.
Every packet of the loop is unique, and the forwarding server passes frame
bytes through unchanged, so a received frame is matched to the send time of
the same bytes. The transcoding relay changes the bytes: for it, frames are
counted, not matched, and no latency is given.
"""

from .relay import run_relay_benchmark

__all__ = ["run_relay_benchmark"]
