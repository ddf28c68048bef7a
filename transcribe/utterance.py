"""What a speaker said: the words as shown, stored and exported (always redacted).

The recogniser's raw text never leaves the transcription worker: an
utterance is built from it by masking the secret numbers first, then
scoring the sentiment and spotting keywords on the masked text, so nothing
downstream (the console, the timeline on disk, the search index, an export)
can see a card number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quality.line import LineQuality

from .keywords import KeywordSpotter
from .recognizer import Final, Partial, Word
from .redact import redact, redact_partial, redact_words
from .sentiment import Sentiment, score


@dataclass(frozen=True, slots=True)
class Speaker:
    """Whose microphone a recogniser hears: the label comes from the track, not a guess."""

    participant_id: str
    role: str  # customer, agent, supervisor
    name: str = ""


@dataclass(frozen=True, slots=True)
class PartialText:
    """Words heard so far in an utterance still being spoken (redacted)."""

    speaker: Speaker
    text: str
    t_ms: int  # call time of the audio that produced it

    def to_wire(self) -> dict[str, Any]:
        return {
            "participant_id": self.speaker.participant_id,
            "role": self.speaker.role,
            "text": self.text,
            "t_ms": self.t_ms,
        }


@dataclass(frozen=True, slots=True)
class Utterance:
    """A finished utterance on the call clock, with what it felt like and what it mentioned."""

    id: str
    speaker: Speaker
    language: str
    text: str
    start_ms: int
    end_ms: int
    words: list[Word]
    sentiment: Sentiment
    keywords: list[str]
    redacted: bool
    quality: LineQuality | None = field(default=None)  # the speaker's line while it was said

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "participant_id": self.speaker.participant_id,
            "role": self.speaker.role,
            "name": self.speaker.name,
            "language": self.language,
            "text": self.text,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "words": [[w.word, w.start_ms, w.end_ms, round(w.confidence, 3)] for w in self.words],
            "sentiment": self.sentiment.to_wire(),
            "keywords": self.keywords,
            "redacted": self.redacted,
            "quality": None if self.quality is None else self.quality.to_wire(),
        }


def _masked_word(first: Word, last: Word, mask: str) -> Word:
    return Word(mask, first.start_ms, last.end_ms, min(first.confidence, last.confidence))


def partial_of(partial: Partial, *, speaker: Speaker, t_ms: int) -> PartialText:
    """What to show of a recogniser's partial result (a number being said is masked whole)."""
    return PartialText(speaker, redact_partial(partial.text), t_ms)


def utterance_of(
    final: Final,
    *,
    utterance_id: str,
    speaker: Speaker,
    language: str,
    spotter: KeywordSpotter,
) -> Utterance:
    """The utterance to show and keep for a recogniser's final result."""
    words = redact_words(final.words, lambda w: w.word, _masked_word)
    text = " ".join(w.word for w in words) if words else redact(final.text)
    return Utterance(
        id=utterance_id,
        speaker=speaker,
        language=language,
        text=text,
        start_ms=final.start_ms,
        end_ms=final.end_ms,
        words=words,
        sentiment=score(text, language),
        keywords=[hit.keyword for hit in spotter.find(text, language)],
        redacted=text != final.text,
    )
