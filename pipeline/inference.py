"""Inference: the one path from sentences to labels.

`label_stream` is the streaming core that `stance-predict`, `stance-evaluate`, out-of-fold
scoring and the benchmarks all reach (through `predict_rows`); `predict` is the Python API.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.core.config import ROOT, TASKS, params
from pipeline.core.errors import UserError
from pipeline.data.context import contexts
from pipeline.data.schema import check_target
from pipeline.data.segment import split_sentences
from pipeline.models import TYPES, load_model
from pipeline.models.structure import apply_sides

log = logging.getLogger(__name__)
MODELS = tuple(TYPES)


def decode(probs: dict, labels: dict[str, list[str]], index: int) -> dict:
    """One sentence's labels (arg-max), per-label scores, and whether the model saw only the
    start of the sentence (`truncated`; a model without a length limit never truncates)."""
    record, scores = {}, {}
    for task in TASKS:
        row = probs[task][index]
        record[task] = labels[task][int(row.argmax())]
        scores[task] = {label: round(float(p), 4) for label, p in zip(labels[task], row)}
    record["scores"] = scores
    record["truncated"] = bool(probs["truncated"][index]) if "truncated" in probs else False
    return record


def score_columns(labels: dict[str, list[str]]) -> list[str]:
    """Per-label score columns of flat output (CSV, `stance-bulk` Parquet): `<task>_<label>`."""
    return [f"{task}_{label}" for task in TASKS for label in labels[task]]


def label_rows(model, rows: list[dict], batch_size: int = 64) -> tuple[list[dict], int]:
    """Label rows ({text, context, target}) with any model (pipeline/models/__init__.py).

    Rows are batched by length (less padding), or packed a few consecutive sentences an input by a
    model that packs (pipeline/models/packing.py), and returned in input order. A model that
    carries a stance decoding (`sides`) then has its stance directions decoded article by article
    (pipeline/models/structure.py; rows of one `article_id`, or all rows when they name none).
    Also returns where the last pack starts (len(rows) for a model that does not pack).
    """
    if getattr(model, "packed", False):
        probs = model.predict_proba(rows, batch_size)
        out, last = [decode(probs, model.labels, i) for i in range(len(rows))], probs["last_start"]
    else:
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["text"]) + len(rows[i]["context"]))
        out, last = [None] * len(rows), len(rows)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            probs = model.predict_proba([rows[i] for i in idx])
            for j, i in enumerate(idx):
                out[i] = decode(probs, model.labels, j)
    return (apply_sides(rows, out, model.sides) if model.sides else out), last


def predict_rows(model, rows: list[dict], batch_size: int = 64) -> list[dict]:
    """Each row's record (see label_rows)."""
    return label_rows(model, rows, batch_size)[0]


def model_folder(name: str) -> Path:
    """models/<name>/ of the project, for a model named on the command line."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    return ROOT / "models" / name


def make_rows(sentences: list[str], target: str, window: int, previous: list[str] | None = None,
              target_by: str | None = None, first_id: int = 0) -> list[dict]:
    """Rows with context built exactly as `prepare` builds it (`window` sentences before each);
    `previous` (the sentences before these, in a stream cut into chunks) continues the article;
    `target_by`, the side making the target claim, if known (pipeline/models/structure.py)."""
    lead = (previous or [])[-window:] if window > 0 else []
    ctx = contexts(lead + sentences, window)[len(lead):]
    return [{"sentence_id": first_id + i, "text": s, "context": c, "target": target, "target_by": target_by}
            for i, (s, c) in enumerate(zip(sentences, ctx))]


def chunks(items: Iterable[str], size: int) -> Iterator[tuple[list[str], bool]]:
    """The items `size` at a time, each chunk with whether more follow."""
    chunk: list[str] = []
    for item in items:
        if len(chunk) == size:
            yield chunk, True
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk, False


def label_stream(model, sentences: Iterable[str], target: str, target_by: str | None = None,
                 batch_size: int = 64, chunk_size: int = 2048) -> Iterator[dict]:
    """Records of an article's sentences (in order), labelled `chunk_size` at a time so a long
    input never sits in memory whole; each chunk's first sentences get their context from the
    chunk before, as in `prepare`. A packing model's last pack of a chunk is labelled again with
    the next chunk, so every sentence is packed as in one chunk. Stance decoding by side works
    within a chunk."""
    window, previous, count, carry = model.context_sentences, [], 0, []
    for chunk, more in chunks(sentences, chunk_size):
        chunk = carry + chunk
        rows = make_rows(chunk, target, window, previous, target_by, count)
        records, last = label_rows(model, rows, batch_size)
        keep = last if more and last > 0 else len(rows)
        for row, pred in zip(rows[:keep], records[:keep]):
            yield {"sentence_id": row["sentence_id"], "text": row["text"], **pred, "model": model.name,
                   "target": target}
        previous = (previous + chunk[:keep])[-window:] if window > 0 else []
        count, carry = count + keep, chunk[keep:]


def batch_size_for(model, given: int | None = None) -> int:
    """`given`, else the configured batch for the model's device (a GPU takes far larger batches)."""
    cfg = params("predict")
    return given or cfg["gpu_batch_size" if str(getattr(model, "device", "cpu")).startswith("cuda") else "batch_size"]


def predict(sentences: list[str] | str, target: str | None = None, model: str = "transformer",
            model_dir: Path | None = None, batch_size: int | None = None, target_by: str | None = None,
            device: str = "auto") -> list[dict]:
    """Label sentences (a list, in article order) or article text (a str, segmented like the seeds).
    `target_by`, the side making the target claim, lets stance be decoded by speaker side
    (pipeline/models/structure.py); without it the model's own stance directions stand. `device`:
    auto, cpu (the transformer through ONNX Runtime) or cuda (PyTorch).

    Returns one record per sentence: sentence_id, text, speaker, stance, role, scores, truncated,
    model, target.
    """
    cfg = params("predict")
    target = check_target(cfg["target"] if target is None else target)
    if isinstance(sentences, str):
        sentences = split_sentences(sentences)
    sentences = [s.strip() for s in sentences if s and s.strip()]
    if not sentences:
        raise UserError("no text to label: the input is empty")
    loaded = load_model(Path(model_dir) if model_dir else model_folder(model), device)
    return list(label_stream(loaded, sentences, target, target_by, batch_size_for(loaded, batch_size), cfg["chunk_size"]))
