"""Inference: the one path from sentences to labels.

`label_stream` is the streaming core that `stance-predict`, `stance-evaluate`, `stance-bulk`,
out-of-fold scoring and the benchmarks all reach (through `label_rows`). The Python API
(`predict`) and the command defaults are in pipeline/api.py, outside the training closure.
"""
from __future__ import annotations

import logging
import math
from typing import Iterable, Iterator

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError
from pipeline.data.context import contexts
from pipeline.models.side_decoding import apply_sides

log = logging.getLogger(__name__)


def decode(probs: dict, labels: dict[str, list[str]], index: int) -> dict:
    """One sentence's labels (arg-max), per-label scores, and whether the model saw only the
    start of the sentence (`truncated`; a model without a length limit never truncates). A score
    that is not a number (NaN, infinite: damaged or diverged weights) is an error, never output."""
    record, scores = {}, {}
    for task in TASKS:
        row = probs[task][index]
        values = [float(p) for p in row]
        bad = next((v for v in values if not math.isfinite(v)), None)
        if bad is not None:
            raise UserError(f"the model gave a {task} score of {bad} (not a probability): its weights are damaged "
                            "or its training diverged; run `dvc repro` to restore or retrain it")
        record[task] = labels[task][int(row.argmax())]
        scores[task] = {label: round(v, 4) for label, v in zip(labels[task], values)}
    record["scores"] = scores
    record["truncated"] = bool(probs["truncated"][index]) if "truncated" in probs else False
    return record


def label_rows(model, rows: list[dict], batch_size: int = 64) -> list[dict]:
    """Label rows ({text, context, target}) with any model (pipeline/models/__init__.py), in input order.

    Each row is labelled from itself alone (its sentence, context and target): rows are batched by
    length (less padding), or packed by a model that packs (pipeline/models/packing.py), which
    changes nothing but speed. A model that carries a stance decoding (`sides`) then has its
    stance directions decoded article by article (pipeline/models/side_decoding.py; rows of one
    `article_id`, or all rows when they name none).
    """
    if getattr(model, "packed", False):
        probs = model.predict_proba(rows, batch_size)
        out = [decode(probs, model.labels, i) for i in range(len(rows))]
    else:
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["text"]) + len(rows[i]["context"]))
        out = [None] * len(rows)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            probs = model.predict_proba([rows[i] for i in idx])
            for j, i in enumerate(idx):
                out[i] = decode(probs, model.labels, j)
    return apply_sides(rows, out, model.sides) if model.sides else out


def make_rows(sentences: list[str], target: str, window: int, previous: list[str] | None = None,
              target_by: str | None = None, first_id: int = 0) -> list[dict]:
    """Rows with context built exactly as `prepare` builds it (`window` sentences before each);
    `previous` (the sentences before these, in a stream cut into chunks) continues the article;
    `target_by`, the side making the target claim, if known (pipeline/models/side_decoding.py)."""
    lead = (previous or [])[-window:] if window > 0 else []
    ctx = contexts(lead + sentences, window)[len(lead):]
    return [{"sentence_id": first_id + i, "text": s, "context": c, "target": target, "target_by": target_by}
            for i, (s, c) in enumerate(zip(sentences, ctx))]


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """The items `size` at a time."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def label_stream(model, sentences: Iterable[str], target: str, target_by: str | None = None,
                 batch_size: int = 64, chunk_size: int = 2048) -> Iterator[dict]:
    """Records of an article's sentences (in order), labelled `chunk_size` at a time so a long
    input never sits in memory whole; each chunk's first sentences get their context from the
    chunk before, as in `prepare`. A sentence's labels depend only on it, its context, the target
    and `target_by`, so they are the same for any chunk or batch size."""
    window, previous, count = model.context_sentences, [], 0
    for chunk in chunks(sentences, chunk_size):
        rows = make_rows(chunk, target, window, previous, target_by, count)
        for row, pred in zip(rows, label_rows(model, rows, batch_size)):
            yield {"sentence_id": row["sentence_id"], "text": row["text"], **pred, "model": model.name,
                   "target": target}
        previous = (previous + chunk)[-window:] if window > 0 else []
        count += len(chunk)
