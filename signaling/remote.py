"""Who is on the other end: the client's address, believing only trusted proxies.

Behind a reverse proxy (nginx terminating TLS) every connection comes from the
proxy, so per-address limits would count the whole internet as one client. The
proxy says who it forwards in ``X-Forwarded-For``; that header is believed only
when the connection comes from an address the operator listed in
``trusted_proxies``, and then the client is the last address in it that is not
itself a trusted proxy (the ones before it are whatever the client claimed).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from node.config import IPNetwork

__all__ = ["client_address", "is_trusted"]

# An X-Forwarded-For longer than this is not one a proxy of ours wrote.
MAX_FORWARDED_FOR = 512


def is_trusted(address: str | None, proxies: Sequence[IPNetwork]) -> bool:
    if not address or not proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[IPNetwork]
) -> str:
    """The client's address: ``peer`` itself, unless it is a trusted proxy that said otherwise."""
    address = peer or "unknown"
    if not forwarded_for or not is_trusted(peer, proxies):
        return address
    hops = [hop.strip() for hop in forwarded_for[:MAX_FORWARDED_FOR].split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a hop we cannot read: stop at the last one we can vouch for
        address = hop
        if not is_trusted(hop, proxies):
            break
    return address
