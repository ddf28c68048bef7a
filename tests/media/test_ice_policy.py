"""Which addresses a client can make the server send STUN checks to, and how many.

Each ICE candidate a client names makes the server probe that host:port. Guards:
- an answer whose SDP names 800 addresses gets at most 100 of them probed (one limit per
  peer, for the answer's candidates and trickled ones together);
- with an operator's policy, addresses it does not allow are never probed, while the call's
  own candidate still carries the call;
- a trickled candidate past the limit, or naming a refused address, is refused in words;
- the policy's verdict on each kind of address (public, private, loopback, link-local,
  multicast, unspecified, mDNS and DNS names, port 0);
- cutting candidates out of an answer leaves every other byte of the SDP as it was.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Callable, Iterable
from ipaddress import IPv4Network, IPv6Network, ip_network

import pytest
from aiortc import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from client.participant import ClientError
from media import aiortc_compat
from media.client_peer import ClientPeer, SdpFilter
from media.errors import NegotiationError
from media.ice_policy import CandidateGate, CandidatePolicy
from media.peer import Offer, PeerState
from media.room import Room
from media.source import SourceKind
from tests.conftest import Server, connect_call
from tests.support import ToneTrack, record_audio, tone_levels

STUN_MAGIC_COOKIE = b"\x21\x12\xa4\x42"  # RFC 5389 section 6
# Above any host candidate a real client gathers (126 << 24 | 65535 << 8 | 255): the
# server checks the attacker's pairs before the call's own.
TOP_PRIORITY = 2**31 - 1
ATTACKER_HOSTS = [f"127.0.0.{n}" for n in range(2, 10)]


class ProbedPorts(asyncio.DatagramProtocol):
    """One UDP socket of the attacker's target, counting the STUN requests it receives."""

    def __init__(self, hits: collections.Counter[tuple[str, int]]) -> None:
        self.hits = hits
        self.address: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.address = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data[4:8] == STUN_MAGIC_COOKIE:
            self.hits[self.address] += 1


class Targets:
    """UDP ports on 127.0.0.2-9 that the test owns: where a hostile answer points the server."""

    def __init__(self) -> None:
        self.hits: collections.Counter[tuple[str, int]] = collections.Counter()
        self.addresses: list[tuple[str, int]] = []
        self._transports: list[asyncio.DatagramTransport] = []

    async def open(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for n in range(count):
            host = ATTACKER_HOSTS[n % len(ATTACKER_HOSTS)]
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: ProbedPorts(self.hits), local_addr=(host, 0)
            )
            self._transports.append(transport)
            self.addresses.append(protocol.address)

    @property
    def probed(self) -> set[tuple[str, int]]:
        """The host:ports that received at least one STUN request."""
        return set(self.hits)

    def candidate_lines(self) -> list[str]:
        """One ``a=candidate`` line per port, each its own foundation, above the real ones."""
        return [
            f"a=candidate:{9000 + n} 1 udp {TOP_PRIORITY} {host} {port} typ host\r\n"
            for n, (host, port) in enumerate(self.addresses)
        ]

    def close(self) -> None:
        for transport in self._transports:
            transport.close()


@pytest.fixture
async def targets() -> AsyncIterator[Targets]:
    targets = Targets()
    yield targets
    targets.close()


def naming(lines: list[str], *, keep_own: bool) -> SdpFilter:
    """An answer filter that puts ``lines`` first among the first m-section's candidates."""

    def rewrite(sdp: str) -> str:
        out: list[str] = []
        inserted = False
        for line in sdp.splitlines(keepends=True):
            if not inserted and line.startswith(("a=candidate:", "a=end-of-candidates")):
                out.extend(lines)
                inserted = True
            if line.startswith("a=candidate:") and not keep_own:
                continue
            out.append(line)
        assert inserted, "the client's answer has no candidates to put the others beside"
        return "".join(out)

    return rewrite


def without_candidates(sdp: str) -> str:
    """An offer the client cannot reach the server from: it leaves the server to probe."""
    return "".join(
        line for line in sdp.splitlines(keepends=True) if not line.startswith("a=candidate:")
    )


async def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


# -- through the real server, with the default policy (any address, 100 at most) -------


async def test_an_answer_naming_800_addresses_gets_at_most_100_of_them_probed(
    server: Server, targets: Targets
) -> None:
    await targets.open(800)
    pair = await connect_call(
        server,
        join=False,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        customer_options={
            "offer_filter": without_candidates,
            "answer_filter": naming(targets.candidate_lines(), keep_own=False),
        },
    )
    await pair.customer.join_call()
    assert await wait_until(lambda: pair.customer.offers_answered == 1, 10)

    # The server starts one check every 20 ms: 100 addresses take 2 s. Wait for them,
    # then as long again: nothing past the hundredth may be probed.
    await wait_until(lambda: len(targets.probed) >= 100, 8)
    await asyncio.sleep(2.0)
    assert len(targets.probed) == 100, (
        f"the server probed {len(targets.probed)} of the answer's 800 addresses "
        f"({sum(targets.hits.values())} STUN requests)"
    )


async def test_trickled_candidates_share_the_answers_limit_and_are_refused_past_it(
    server: Server, targets: Targets
) -> None:
    await targets.open(100)
    lines = targets.candidate_lines()
    pair = await connect_call(
        server,
        join=False,
        customer_options={"answer_filter": naming(lines[:99], keep_own=False)},
    )
    ack = await pair.customer.join_call()
    assert await wait_until(lambda: pair.customer.offers_answered == 1, 10)

    async def trickle(line: str) -> None:
        await pair.customer.request(
            "add_ice_candidate",
            {
                "call_id": pair.call_id,
                "peer_id": ack["peer_id"],
                "candidate": {"candidate": line[2:].strip(), "sdpMid": "0"},
            },
        )

    await trickle(lines[99])  # the hundredth address
    await trickle(lines[0])  # named in the answer already: not counted again
    with pytest.raises(ClientError) as refused:
        await trickle("a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host")
    assert refused.value.message == (
        "this connection has already named 100 ICE candidate addresses, the most the server takes"
    )


async def test_a_trickled_multicast_candidate_is_refused_in_words(server: Server) -> None:
    pair = await connect_call(server, join=False)
    ack = await pair.customer.join_call()
    with pytest.raises(ClientError) as refused:
        await pair.customer.request(
            "add_ice_candidate",
            {
                "call_id": pair.call_id,
                "peer_id": ack["peer_id"],
                "candidate": {
                    "candidate": "candidate:1 1 udp 2130706431 224.0.0.251 5353 typ host",
                    "sdpMid": "0",
                },
            },
        )
    assert refused.value.message == (
        "the ICE candidate names 224.0.0.251, a multicast address this server never contacts"
    )


# -- a room with an operator's policy: only 127.0.0.1 (the call's own address) ---------


class LoopbackRoom:
    """A media room whose offers go straight to one ClientPeer per participant, and back."""

    def __init__(self, policy: CandidatePolicy) -> None:
        self.clients: dict[str, ClientPeer] = {}
        self.room = Room(
            "c_ice", on_offer=self._deliver, on_state=self._state, candidate_policy=policy
        )
        self.states: list[tuple[str, PeerState]] = []

    async def join(
        self, participant_id: str, client: ClientPeer, sources: Iterable[SourceKind]
    ) -> None:
        self.clients[participant_id] = client
        await self.room.join(participant_id, sources)

    async def close(self) -> None:
        await self.room.close()
        for client in self.clients.values():
            await client.close()

    async def _deliver(self, participant_id: str, offer: Offer) -> None:
        sdp = await self.clients[participant_id].answer(offer.sdp, offer.slots)
        await self.room.answer(participant_id, offer.peer_id, offer.offer_id, sdp)

    def _state(self, participant_id: str, state: PeerState) -> None:
        self.states.append((participant_id, state))


@pytest.fixture
async def only_loopback_room() -> AsyncIterator[LoopbackRoom]:
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    room = LoopbackRoom(CandidatePolicy(networks=(IPv4Network("127.0.0.1/32"),)))
    yield room
    await room.close()
    aiortc_compat.restrict_ice_addresses([])


async def test_addresses_the_policy_refuses_are_never_probed_and_the_call_still_works(
    only_loopback_room: LoopbackRoom, targets: Targets
) -> None:
    await targets.open(800)
    heard: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    customer = ClientPeer(
        {SourceKind.MICROPHONE: ToneTrack(440)},
        answer_filter=naming(targets.candidate_lines(), keep_own=True),
    )
    agent = ClientPeer({}, on_track=lambda key, track: heard.put_nowait(track))
    await only_loopback_room.join("customer", customer, [SourceKind.MICROPHONE])
    await only_loopback_room.join("agent", agent, [])

    track = await asyncio.wait_for(heard.get(), 10)
    audio = await record_audio(track, 2.0)
    levels = tone_levels(audio[48000:], 440)
    assert levels[440] > 0.5, f"the agent does not hear the customer: {levels}"
    assert targets.probed == set(), (
        f"the server probed {len(targets.probed)} refused addresses "
        f"({sum(targets.hits.values())} STUN requests)"
    )


async def test_a_trickled_private_address_is_refused_with_the_reason(
    only_loopback_room: LoopbackRoom,
) -> None:
    await only_loopback_room.join("customer", ClientPeer({}), [SourceKind.MICROPHONE])
    peer = only_loopback_room.room.peer("customer")
    with pytest.raises(NegotiationError) as refused:
        await peer.add_ice_candidate("candidate:1 1 udp 2130706431 10.0.0.5 50000 typ host", "0", 0)
    assert str(refused.value) == (
        "the ICE candidate names 10.0.0.5, a private address this server does not contact"
    )


# -- the policy's verdicts ----------------------------------------------------------------

PUBLIC_ONLY = CandidatePolicy(networks=())  # a public server
OFFICE_LAN = CandidatePolicy(networks=(ip_network("10.0.0.0/8"), ip_network("fd00::/8")))
ANYWHERE = CandidatePolicy(networks=None)  # a laptop, a LAN, the tests
POLICIES = {"public only": PUBLIC_ONLY, "office LAN": OFFICE_LAN, "anywhere": ANYWHERE}
NOBODY: tuple[str, ...] = ()
EVERYBODY = tuple(POLICIES)
ALL_BUT_ANYWHERE = ("public only", "office LAN")


def candidate(address: str, port: int = 50000) -> str:
    return f"1 1 udp 2130706431 {address} {port} typ host"


def verdict(name: str, address: str, port: int, refused_by: tuple[str, ...], why: str) -> object:
    """One row: which policies refuse ``address:port``, and how their words begin."""
    return pytest.param(address, port, refused_by, why, id=name)


@pytest.mark.parametrize(
    ("address", "port", "refused_by", "why"),
    [
        verdict("public-v4", "8.8.8.8", 50000, NOBODY, ""),
        verdict("public-v6", "2001:4860:4860::8888", 50000, NOBODY, ""),
        verdict(
            "private-inside-the-lan",
            "10.0.0.5",
            50000,
            ("public only",),
            "10.0.0.5, a private address",
        ),
        verdict(
            "private-outside-the-lan",
            "192.168.1.20",
            50000,
            ALL_BUT_ANYWHERE,
            "192.168.1.20, a private address",
        ),
        verdict(
            "unique-local-v6", "fd12::1", 50000, ("public only",), "fd12::1, a private address"
        ),
        verdict(
            "v4-mapped-private",
            "::ffff:10.0.0.5",
            50000,
            ("public only",),
            "::ffff:10.0.0.5, a private address",
        ),
        verdict(
            "loopback-v4", "127.0.0.1", 50000, ALL_BUT_ANYWHERE, "127.0.0.1, a loopback address"
        ),
        verdict("loopback-v6", "::1", 50000, ALL_BUT_ANYWHERE, "::1, a loopback address"),
        verdict(
            "link-local-v4",
            "169.254.10.1",
            50000,
            ALL_BUT_ANYWHERE,
            "169.254.10.1, a link-local address",
        ),
        verdict(
            "link-local-v6", "fe80::1", 50000, ALL_BUT_ANYWHERE, "fe80::1, a link-local address"
        ),
        verdict(
            "carrier-grade-nat",
            "100.64.3.4",
            50000,
            ALL_BUT_ANYWHERE,
            "100.64.3.4, a carrier-grade NAT address",
        ),
        verdict(
            "documentation-range",
            "203.0.113.7",
            50000,
            ALL_BUT_ANYWHERE,
            "203.0.113.7, a non-public address",
        ),
        verdict("multicast-v4", "224.0.0.251", 5353, EVERYBODY, "224.0.0.251, a multicast address"),
        verdict("multicast-v6", "ff02::fb", 5353, EVERYBODY, "ff02::fb, a multicast address"),
        verdict("unspecified-v4", "0.0.0.0", 50000, EVERYBODY, "0.0.0.0, an unspecified address"),
        verdict("unspecified-v6", "::", 50000, EVERYBODY, "::, an unspecified address"),
        verdict(
            "broadcast",
            "255.255.255.255",
            50000,
            EVERYBODY,
            "255.255.255.255, the broadcast address",
        ),
        verdict("reserved", "240.0.0.1", 50000, EVERYBODY, "240.0.0.1, a reserved address"),
        verdict("port-0", "8.8.8.8", 0, EVERYBODY, "port 0 of 8.8.8.8, which is not a port"),
        verdict(
            "port-past-65535",
            "8.8.8.8",
            70000,
            EVERYBODY,
            "port 70000 of 8.8.8.8, which is not a port",
        ),
        verdict(
            "mdns-name", "0b1f.local", 50000, ALL_BUT_ANYWHERE, "the mDNS name 0b1f.local, which"
        ),
        verdict(
            "dns-name",
            "intranet.example.com",
            50000,
            EVERYBODY,
            "the host name 'intranet.example.com'",
        ),
    ],
)
def test_policy_says_which_addresses_the_server_contacts_and_why_not(
    address: str, port: int, refused_by: tuple[str, ...], why: str
) -> None:
    parsed = candidate_from_sdp(candidate(address, port))
    for name, policy in POLICIES.items():
        refusal = policy.refusal(parsed)
        if name in refused_by:
            assert refusal is not None, f"{name} lets {address}:{port} through"
            assert refusal.startswith(why), refusal
            assert "this server" in refusal, refusal
        else:
            assert refusal is None, f"{name} refuses {address}:{port}: {refusal}"


# -- cutting candidates out of an answer ------------------------------------------------

ANSWER = (
    "v=0\r\n"
    "o=- 1 1 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=candidate:1 1 udp 2130706431 8.8.4.4 1000 typ host\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=mid:0\r\n"
    "a=candidate:2 1 udp 2130706431 8.8.8.8 2000 typ host\r\n"
    "a=candidate:3 1 udp 2130706431 10.1.2.3 3000 typ host\r\n"
    "a=candidate:broken\r\n"
    "a=end-of-candidates\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=mid:1\r\n"
    "a=candidate:2 1 udp 2130706431 8.8.8.8 2000 typ host\n"
    "a=candidate:4 1 udp 2130706431 1.1.1.1 4000 typ srflx raddr 10.1.2.3 rport 5\r\n"
)


def test_answer_keeps_every_other_byte_and_counts_an_address_once() -> None:
    gate = CandidateGate(CandidatePolicy(networks=()))
    screened = gate.screen(ANSWER)
    assert screened.sdp == ANSWER.replace(
        "a=candidate:3 1 udp 2130706431 10.1.2.3 3000 typ host\r\n", ""
    ).replace("a=candidate:broken\r\n", "")
    assert (screened.kept, screened.refused, screened.unreadable) == (4, 1, 1)
    assert screened.example == "10.1.2.3, a private address this server does not contact"
    assert gate.admitted == 3  # 8.8.4.4 at session level, 8.8.8.8 twice, 1.1.1.1
    # The same answer again (a renegotiation) uses none of the limit.
    assert gate.screen(ANSWER).sdp == screened.sdp
    assert gate.admitted == 3


def test_answer_past_the_limit_keeps_the_first_candidates() -> None:
    gate = CandidateGate(CandidatePolicy(networks=None, max_candidates=2))
    screened = gate.screen(ANSWER)
    assert (screened.kept, screened.over_limit) == (3, 2)  # 8.8.4.4, 8.8.8.8 twice
    assert "10.1.2.3 3000" not in screened.sdp
    assert "1.1.1.1" not in screened.sdp
    refusal = gate.admit(candidate_from_sdp(candidate("9.9.9.9")))
    assert refusal is not None and "already named 2 ICE candidate addresses" in refusal
    assert gate.admit(candidate_from_sdp(candidate("8.8.8.8", 2000))) is None


def test_networks_of_either_family_can_be_allowed() -> None:
    policy = CandidatePolicy(networks=(IPv6Network("fe80::/10"), IPv4Network("127.0.0.0/8")))
    assert policy.refusal(candidate_from_sdp(candidate("fe80::1%eth0"))) is None
    assert policy.refusal(candidate_from_sdp(candidate("127.0.0.9"))) is None
    assert policy.refusal(candidate_from_sdp(candidate("10.0.0.1"))) is not None
