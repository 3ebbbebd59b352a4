"""Prediction: the one path from sentence rows to labels, used by evaluation and the command."""
from __future__ import annotations

import logging
from pathlib import Path

from pipeline.config import ROOT, TASKS
from pipeline.errors import UserError

log = logging.getLogger(__name__)
MODELS = ("transformer", "baseline")


def decode(probs: dict, labels: dict[str, list[str]], index: int) -> dict:
    """One sentence's labels (arg-max) and per-label scores."""
    record, scores = {}, {}
    for task in TASKS:
        row = probs[task][index]
        record[task] = labels[task][int(row.argmax())]
        scores[task] = {label: round(float(p), 4) for label, p in zip(labels[task], row)}
    record["scores"] = scores
    return record


def predict_rows(model, rows: list[dict], batch_size: int = 64) -> list[dict]:
    """Label rows ({text, context, target}) with any model exposing predict_proba and labels."""
    out: list[dict] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        probs = model.predict_proba(batch)
        out.extend(decode(probs, model.labels, i) for i in range(len(batch)))
    return out


def load_model(name: str, folder: Path | None = None):
    """Load a saved model by name from models/<name>/ (or the given folder)."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    folder = Path(folder) if folder else ROOT / "models" / name
    if not folder.is_dir():
        raise UserError(f"model folder {folder} not found; run `dvc repro` to train it")
    if name == "baseline":
        from pipeline.baseline import load
    else:
        from pipeline.multitask import load
    return load(folder)
