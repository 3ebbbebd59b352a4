"""The one place model inputs are built from a sentence row, for training, evaluation and prediction.

A row is {"text", "context", "target"}: the sentence, the sentence(s) before it (or the
START marker) and the article's contested claim. With `actors` on, known names in the sentence
and context carry their side tag from configs/actors.yaml (pipeline/actors.py).
"""
from __future__ import annotations

from pipeline.actors import tag_actors

FIELDS = ("text", "context", "target")


def fields(rows: list[dict], actors: bool) -> dict[str, list[str]]:
    """The three input texts of every row, checked, with actor tags when asked for."""
    for i, row in enumerate(rows):
        for field in FIELDS:
            if not isinstance(row.get(field), str):
                raise ValueError(f"input row {i}: field '{field}' must be text, got {row.get(field)!r}")
    tag = tag_actors if actors else (lambda text: text)
    return {"text": [tag(r["text"]) for r in rows], "context": [tag(r["context"]) for r in rows],
            "target": [r["target"] for r in rows]}


def pair_inputs(rows: list[dict], sep: str, actors: bool) -> tuple[list[str], list[str]]:
    """Cross-encoder pair: first segment the sentence, second the target then the context.

    The sentence comes first so truncation (only_second) never cuts it; the target leads the
    second segment so stance is read against it; the context helps resolve quotes and "he said".
    """
    cols = fields(rows, actors)
    second = [f"{target} {sep} {context}" for target, context in zip(cols["target"], cols["context"])]
    return cols["text"], second
