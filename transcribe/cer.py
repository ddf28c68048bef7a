"""Character error rate: how far a transcript is from a reference, as speech tools count it."""

from __future__ import annotations


def _characters(text: str) -> str:
    # Spaces are where a recogniser's word split and a reference's differ most: leave them out.
    return "".join(text.split())


def character_error_rate(hypothesis: str, reference: str) -> float:
    """Edits (insertions, deletions, substitutions) to turn ``hypothesis`` into ``reference``,
    over the reference's length; 0 is perfect. An empty reference gives 0 or 1."""
    hyp, ref = _characters(hypothesis), _characters(reference)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)
