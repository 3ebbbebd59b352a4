"""The one place model inputs are built from a sentence row, for training, evaluation and prediction.

A row is {"text", "context", "target"}: the sentence, the sentence(s) before it (or the
START marker) and the article's contested claim.
"""
from __future__ import annotations

FIELDS = ("text", "context", "target")


def check_fields(rows: list[dict]) -> None:
    for i, row in enumerate(rows):
        for field in FIELDS:
            if not isinstance(row.get(field), str):
                raise ValueError(f"input row {i}: field '{field}' must be text, got {row.get(field)!r}")


def baseline_columns(rows: list[dict]) -> dict[str, list[str]]:
    """Columns for the baseline's per-field vectorisers."""
    check_fields(rows)
    return {field: [row[field] for row in rows] for field in FIELDS}


def pair_inputs(rows: list[dict], sep: str) -> tuple[list[str], list[str]]:
    """Cross-encoder pair: first segment the sentence, second the target then the context.

    The sentence comes first so truncation (only_second) never cuts it; the target leads the
    second segment so stance is read against it; the context helps resolve quotes and "he said".
    """
    check_fields(rows)
    first = [row["text"] for row in rows]
    second = [f"{row['target']} {sep} {row['context']}" for row in rows]
    return first, second
