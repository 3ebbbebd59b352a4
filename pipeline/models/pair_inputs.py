"""The one place model inputs are built from a sentence row, for training, evaluation and prediction.

A row is {"text", "context", "target"}: the sentence, the sentence(s) before it (or the START
marker) and the article's contested claim. With an actor table (saved in the model), known names
in the sentence and context carry their side tag (pipeline/data/actors.py).
"""
from __future__ import annotations

from pipeline.data.actors import tag_actors

FIELDS = ("text", "context", "target")
# Tokens of the second segment (target, then context) kept before a long sentence's own tail is
# cut: enough for the start of the target, which stance is read against.
SECOND_MIN = 16


def check_fields(rows: list[dict]) -> list[dict]:
    """Rows whose three input fields are text; an error names the row and field."""
    for i, row in enumerate(rows):
        for field in FIELDS:
            if not isinstance(row.get(field), str):
                raise ValueError(f"input row {i}: field '{field}' must be text, got {row.get(field)!r}")
    return rows


def fields(rows: list[dict], actors: dict | None) -> dict[str, list[str]]:
    """The three input texts of every row, checked, with actor tags when a table is given."""
    check_fields(rows)

    def tag(text: str) -> str:
        return tag_actors(text, actors) if actors else text

    return {"text": [tag(r["text"]) for r in rows], "context": [tag(r["context"]) for r in rows],
            "target": [r["target"] for r in rows]}


def pair_inputs(rows: list[dict], sep: str, actors: dict | None) -> tuple[list[str], list[str]]:
    """Cross-encoder pair: first segment the sentence, second the target then the context.

    The sentence comes first so truncation (only_second) never cuts it; the target leads the
    second segment so stance is read against it; the context helps resolve quotes and "he said".
    """
    cols = fields(rows, actors)
    second = [f"{target} {sep} {context}" for target, context in zip(cols["target"], cols["context"])]
    return cols["text"], second


def fit_sentences(pieces, n_special: int, first: list[str], second: list[str],
                  max_length: int) -> tuple[list[str], list[bool]]:
    """Sentences cut at their tail only where the sentence alone leaves the second segment fewer
    than SECOND_MIN tokens (or fewer than it has); truncation then cuts the second segment (the
    context's tail, then the target's) to fit. `pieces(texts)` gives each text's token offsets
    (no special tokens) and `n_special` the special tokens of a pair, for whichever tokenizer the
    model runs with. Returns the sentences and which ones were cut."""
    room = max_length - n_special
    out, cut = list(first), [False] * len(first)
    for i, offsets in enumerate(pieces(first)):
        if len(offsets) <= room - SECOND_MIN:
            continue
        keep = room - min(SECOND_MIN, len(pieces([second[i]])[0]))
        while len(offsets) > keep:
            out[i], cut[i] = out[i][:offsets[keep - 1][1]], True
            # A word cut mid-way can re-tokenise into more pieces: re-check until it fits.
            offsets = pieces([out[i]])[0]
    return out, cut
