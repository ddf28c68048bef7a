"""An operator's categories decided live on a transcribed call, and kept with it.

Guards (real peers, the real Korean model; the rules in a TOML file the server loads):
- a phrase the customer says matches its category live: a supervisor's socket gets
  ``category_matched`` within a second of the utterance that said it, and the floor's
  row of the call shows the category (an alerting one also as an alert);
- a category that is a phrase *not* said ("the agent did not say X in the first 5 s") is
  matched once its window has closed, with that moment, and does not alert (its rule
  does not say to);
- both are on the recording (meta, the replay's detail), in the contact record, and the
  search finds the call by its category; a rule that does not hold is not matched;
- a rules file with a mistake stops the server with the mistake in words.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from callcenter.errors import ConfigError
from callcenter.identity import Role
from node.events import ClientEvent, ServerEvent
from tests.conftest import ServerFactory, api_request
from tests.transcribe.test_live_call import a_word_of, korean_server, speak, until_spoken

LIVE_WITHIN_S = 1.0


def rules(keyword: str) -> str:
    return f"""
[[category]]
name = "Customer said the word"
severity = "warning"
alert = true
[[category.condition]]
said = {{ by = "customer", phrases = ["{keyword}"] }}

[[category]]
name = "Disclosure missing"
[[category.condition]]
said = {{ by = "agent", phrases = ["this call is recorded"], within_first_s = 5, negate = true }}

[[category]]
name = "Agent said the word"
[[category.condition]]
said = {{ by = "agent", phrases = ["{keyword}"] }}
"""


async def test_a_phrase_matches_live_and_the_rest_at_the_end(
    start_server: ServerFactory, passage: Path, offline_transcript: str, tmp_path: Path
) -> None:
    keyword = a_word_of(offline_transcript)
    rules_file = tmp_path / "categories.toml"
    rules_file.write_text(rules(keyword), encoding="utf-8")
    server = await korean_server(start_server, categories_file=rules_file)
    pair, speech = await speak(server, passage)
    supervisor = server.client(server.token(Role.SUPERVISOR, "Sumi"))
    await supervisor.connect()
    await supervisor.request(ClientEvent.WATCH_CALL, {"call_id": pair.call_id})
    await until_spoken(speech)

    said = [
        r
        for r in supervisor.received
        if r.event == ServerEvent.TRANSCRIPT_UTTERANCE
        and r.payload["utterance"]["role"] == "customer"
        and keyword in r.payload["utterance"]["text"]
    ]
    assert said, f"the customer's utterances never had {keyword!r}"
    matched = [
        r
        for r in supervisor.received
        if r.event == ServerEvent.CATEGORY_MATCHED
        and r.payload["match"]["category"] == "Customer said the word"
    ]
    assert len(matched) == 1, matched
    late = matched[0].at - said[0].at
    assert late < LIVE_WITHIN_S, f"the category came {late:.2f} s after the utterance"
    assert matched[0].payload["call_id"] == pair.call_id
    assert keyword in matched[0].payload["match"]["evidence"]
    # The floor shows it on the call, and as an alert (the rule says so).
    floor = await supervisor.wait_for(
        ServerEvent.FLOOR_UPDATED,
        lambda f: any(
            c["call_id"] == pair.call_id
            and "Customer said the word" in {m["category"] for m in c["categories"]}
            for c in f["calls"]
        ),
        timeout=LIVE_WITHIN_S + 1.5,
    )
    [row] = [c for c in floor["calls"] if c["call_id"] == pair.call_id]
    assert {c["category"] for c in row["categories"]} == {
        "Customer said the word",
        "Disclosure missing",
    }
    category_alerts = [a["message"] for a in row["alerts"] if a["source"] == "category"]
    assert len(category_alerts) == 1, row["alerts"]
    assert category_alerts[0].startswith("Customer said the word: "), category_alerts

    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    await server.switchboard.contacts.settle()
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, detail, _ = await api_request(
        server, "GET", f"/api/recordings/{pair.call_id}", reviewer
    )
    assert status == 200, detail
    kept = {m["category"]: m for m in detail["recording"]["categories"]}
    assert set(kept) == {"Customer said the word", "Disclosure missing"}
    assert kept["Customer said the word"]["live"] is True
    assert kept["Disclosure missing"]["at_ms"] >= 5000  # when its window closed
    on_timeline = [e["match"] for e in detail["timeline"] if e["type"] == "category_matched"]
    assert {m["category"] for m in on_timeline} == set(kept)
    contact = await server.switchboard.contacts.store.get(pair.call_id)
    assert contact is not None
    assert set(contact.categories) == {"Customer said the word", "Disclosure missing"}
    for name, found in (("Disclosure missing", True), ("Agent said the word", False)):
        status, listing, _ = await api_request(
            server, "GET", f"/api/recordings?category={quote(name)}", reviewer
        )
        assert status == 200, listing
        calls = [r["call_id"] for r in listing["recordings"]]
        assert calls == ([pair.call_id] if found else []), name


async def test_a_rules_file_with_a_mistake_is_refused_in_words(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    rules_file = tmp_path / "categories.toml"
    rules_file.write_text(
        '[[category]]\nname = "Long hold"\n'
        "[[category.condition]]\npaused = { longer_than_s = -5 }\n"
    )
    with pytest.raises(ConfigError) as refused:
        await start_server(categories_file=rules_file)
    message = str(refused.value)
    assert message.startswith("categories_file: ") and "Long hold" in message, message
    assert "Traceback" not in message
