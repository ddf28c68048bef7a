"""Which remote ICE candidates the server may contact, and how many per peer.

Every remote candidate makes the server send STUN checks to the address it
names. A client that names other people's addresses turns the server into a
probe of their ports: of the operator's private network, or of any host on the
internet. :class:`CandidatePolicy` says which addresses a client may name;
:class:`CandidateGate` applies it to one peer's candidates, whether they come
inside an answer's SDP or trickle one by one, and counts them towards one
limit (rtpengine's: 100 per peer).

A candidate that is refused never reaches aiortc: from an answer its
``a=candidate`` line is cut out of the SDP text before aiortc parses it, and a
trickled one is refused with the reason.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from aiortc import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

__all__ = ["DEFAULT_MAX_CANDIDATES", "CandidateGate", "CandidatePolicy", "ScreenedAnswer"]

DEFAULT_MAX_CANDIDATES = 100
"""rtpengine's limit: a peer that names more candidates than this is broken or hostile."""

# The names aioice resolves over multicast DNS (draft-ietf-mmusic-mdns-ice-candidates);
# the same test, so what we judge as an mDNS name is exactly what aioice would resolve.
_MDNS_NAME = re.compile(r"^[a-zA-Z0-9-]{1,63}\.local$")

_CGNAT = IPv4Network("100.64.0.0/10")  # RFC 6598 shared address space
_PRIVATE = (  # RFC 1918 and RFC 4193 unique local addresses
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv6Network("fc00::/7"),
)
_BROADCAST = IPv4Address("255.255.255.255")

IPNetwork = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class CandidatePolicy:
    """The addresses a client's ICE candidates may name.

    Args:
        networks: ``None``: every address is allowed (a laptop, a LAN, the
            tests). Otherwise public unicast addresses are allowed, and of the
            rest only those inside these networks (``()``: none of the rest).
        max_candidates: how many distinct candidate addresses one peer may name.

    Multicast, unspecified, broadcast and reserved addresses and port 0 are
    refused whatever ``networks`` says. Host names are never looked up; an mDNS
    name (``*.local``, what browsers put in place of a private address) only
    when ``networks`` is ``None``, since resolving it is a multicast query on
    the server's own network.
    """

    networks: tuple[IPNetwork, ...] | None = None
    max_candidates: int = DEFAULT_MAX_CANDIDATES

    def refusal(self, candidate: RTCIceCandidate) -> str | None:
        """``None`` if the server may contact ``candidate``, else why not, in words.

        The words complete "the ICE candidate names ...", for example
        "10.0.0.5, a private address this server does not contact".
        """
        host, port = candidate.ip, candidate.port
        if not 0 < port < 65536:
            return f"port {port} of {host}, which is not a port this server contacts"
        try:
            address: IPAddress = ipaddress.ip_address(host)
        except ValueError:
            if _MDNS_NAME.match(host):
                if self.networks is None:
                    return None
                return f"the mDNS name {host}, which this server does not resolve"
            return f"the host name {host!r}, which this server does not look up"
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:10.0.0.5 reaches 10.0.0.5
        never = _never_contacted(address)
        if never is not None:
            return f"{host}, {never} this server never contacts"
        if self.networks is None or any(address in network for network in self.networks):
            return None
        if address.is_global:
            return None
        return f"{host}, {_kind_of_non_public(address)} this server does not contact"


def _never_contacted(address: IPAddress) -> str | None:
    """What kind of address no policy allows, or None."""
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address == _BROADCAST:
        return "the broadcast address"
    # ::1 sits inside IPv6's reserved ::/8; it is a loopback address like 127.0.0.1.
    if address.is_reserved and not address.is_loopback:
        return "a reserved address"
    return None


def _kind_of_non_public(address: IPAddress) -> str:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address in _CGNAT:
        return "a carrier-grade NAT address"
    if any(address in network for network in _PRIVATE):
        return "a private address"
    return "a non-public address"


@dataclass(frozen=True, slots=True)
class ScreenedAnswer:
    """An answer's SDP with the candidates the server will not contact cut out."""

    sdp: str
    kept: int
    """``a=candidate`` lines left in (a repeated address counts once towards the limit)."""
    refused: int = 0
    """Lines cut because the policy refuses the address."""
    over_limit: int = 0
    """Lines cut because the peer had already named as many addresses as it may."""
    unreadable: int = 0
    """Lines cut because they do not parse as a candidate."""
    example: str | None = None
    """Why the first refused line was refused, in words."""

    @property
    def dropped(self) -> int:
        return self.refused + self.over_limit + self.unreadable


_Key = tuple[int, str, str, int]


@dataclass(slots=True)
class CandidateGate:
    """One peer's remote candidates: which pass the policy, counted towards its limit.

    A candidate is counted by its transport address (component, protocol,
    address, port), as aioice keeps them: the same address named again (in a
    later answer, or trickled after the answer named it) is let through
    without counting twice.
    """

    policy: CandidatePolicy = field(default_factory=CandidatePolicy)
    _admitted: set[_Key] = field(default_factory=set, init=False, repr=False)

    @property
    def admitted(self) -> int:
        """Distinct candidate addresses let through so far."""
        return len(self._admitted)

    def admit(self, candidate: RTCIceCandidate) -> str | None:
        """Let ``candidate`` through and count it; if it may not pass, say why (a sentence)."""
        why = self.policy.refusal(candidate)
        if why is not None:
            return f"the ICE candidate names {why}"
        if not self._count(candidate):
            return (
                f"this connection has already named {self.policy.max_candidates} ICE "
                "candidate addresses, the most the server takes"
            )
        return None

    def screen(self, sdp: str) -> ScreenedAnswer:
        """Cut the ``a=candidate`` lines the server will not contact out of ``sdp``.

        Every other byte stays as it was. Lines are split as aiortc splits
        them (``str.splitlines``), so each line it would read as a candidate
        is judged here, in the session part and in every m-section.
        """
        pieces: list[str] = []
        kept = refused = over_limit = unreadable = 0
        example: str | None = None
        for piece in sdp.splitlines(keepends=True):
            line = piece.splitlines()[0]
            if not _is_candidate_line(line):
                pieces.append(piece)
                continue
            try:
                candidate = candidate_from_sdp(line[2:].split(":", 1)[1])
            # aiortc's parser asserts on short input and raises whatever int()
            # or split() raise on the rest: anything it throws means "unreadable".
            except Exception:
                unreadable += 1
                continue
            why = self.policy.refusal(candidate)
            if why is not None:
                refused += 1
                example = example or why
            elif not self._count(candidate):
                over_limit += 1
            else:
                kept += 1
                pieces.append(piece)
        return ScreenedAnswer(
            sdp="".join(pieces),
            kept=kept,
            refused=refused,
            over_limit=over_limit,
            unreadable=unreadable,
            example=example,
        )

    def _count(self, candidate: RTCIceCandidate) -> bool:
        """Count ``candidate``'s address; False when it is new and the limit is reached."""
        key = _key(candidate)
        if key in self._admitted:
            return True
        if len(self._admitted) >= self.policy.max_candidates:
            return False
        self._admitted.add(key)
        return True


def _is_candidate_line(line: str) -> bool:
    # aiortc reads an attribute as the text between "a=" and the first ":".
    return line.startswith("a=") and line[2:].split(":", 1)[0] == "candidate"


def _key(candidate: RTCIceCandidate) -> _Key:
    try:
        host = str(ipaddress.ip_address(candidate.ip))
    except ValueError:
        host = candidate.ip.lower()
    return (candidate.component, candidate.protocol.lower(), host, candidate.port)
