"""The shape of `stance-bulk`'s output parts, shared by its writer and by `stance-summary`.

One row a sentence: `stance-predict --format jsonl`'s fields with article_id first, the scores as
one column per task and label (as in its CSV), the article's claimant side (`target_by`: given on
the input row, or inferred from the labels; `target_by_source` says which), then the input's
article-level columns it did not use (outlet, date, url, ...), unchanged. Each part's footer holds
`stance_bulk` metadata: this layout's version, the model and its label lists. Imports pyarrow only.
"""
from __future__ import annotations

import json

import pyarrow as pa

from pipeline.core.config import TASKS
from pipeline.core.scores import score_columns

SCHEMA_KEY = b"stance_bulk"
# 2: article-level input columns travel with the labels; target_by and target_by_source added.
SCHEMA_VERSION = 2


def label_fields(labels: dict[str, list[str]]) -> list[pa.Field]:
    """The columns stance-bulk itself writes, in order."""
    return [pa.field("article_id", pa.string()), pa.field("sentence_id", pa.int64()), pa.field("text", pa.string()),
            *(pa.field(task, pa.string()) for task in TASKS), *(pa.field(n, pa.float64()) for n in score_columns(labels)),
            pa.field("truncated", pa.bool_()), pa.field("model", pa.string()), pa.field("target", pa.string()),
            pa.field("target_by", pa.string()), pa.field("target_by_source", pa.string())]


def part_schema(labels: dict[str, list[str]], model: str, article_columns: pa.Schema | None = None) -> pa.Schema:
    """A part's schema: the label columns, then the article columns carried from the input."""
    fields = label_fields(labels) + list(article_columns or [])
    info = {"schema": SCHEMA_VERSION, "model": model, "labels": labels}
    return pa.schema(fields, metadata={SCHEMA_KEY: json.dumps(info).encode()})
