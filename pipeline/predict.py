"""Prediction: the one path from sentences to labels, used by evaluation and `stance-predict`."""
from __future__ import annotations

import logging
from pathlib import Path

from pipeline.config import ROOT, TASKS, params
from pipeline.context import contexts
from pipeline.errors import UserError
from pipeline.schema import check_target
from pipeline.segment import split_sentences
from pipeline.structure import apply_sides

log = logging.getLogger(__name__)
MODELS = ("transformer", "baseline")
_loaded: dict[tuple[str, str], object] = {}


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


def predict_rows(model, rows: list[dict], batch_size: int = 64) -> list[dict]:
    """Label rows ({text, context, target}) with any model exposing predict_proba and labels.

    Rows are batched by length (less padding) and returned in input order. A model that carries
    a stance decoding (`sides`: the side table and whether to infer a claimant, saved with it)
    then has its stance directions decoded article by article (pipeline/structure.py; rows of one
    `article_id`, or all rows when they name none).
    """
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["text"]) + len(rows[i]["context"]))
    out: list[dict | None] = [None] * len(rows)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        probs = model.predict_proba([rows[i] for i in idx])
        for j, i in enumerate(idx):
            out[i] = decode(probs, model.labels, j)
    sides = getattr(model, "sides", None)
    return apply_sides(rows, out, sides) if sides else out


def check_model_name(name: str) -> str:
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    return name


def load_model(name: str, folder: Path | None = None):
    """Load a saved model by name from models/<name>/ (or the given folder), once per process."""
    check_model_name(name)
    folder = Path(folder) if folder else ROOT / "models" / name
    key = (name, str(folder.resolve()))
    if key not in _loaded:
        if not folder.is_dir():
            raise UserError(f"model folder {folder} not found; run `dvc repro` to train it")
        if name == "baseline":
            from pipeline.baseline import load
        else:
            from pipeline.multitask import load
        _loaded[key] = load(folder)
    return _loaded[key]


def make_rows(sentences: list[str], target: str, previous: list[str] | None = None,
              target_by: str | None = None) -> list[dict]:
    """Rows with context built exactly as `prepare` builds it; `previous` (the sentences before
    these, in a stream cut into chunks) continues the article; `target_by`, the side making the
    target claim, if known (pipeline/structure.py)."""
    window = params("prepare")["context_sentences"]
    lead = (previous or [])[-window:] if window > 0 else []
    ctx = contexts(lead + sentences, window)[len(lead):]
    return [{"sentence_id": i, "text": s, "context": c, "target": target, "target_by": target_by}
            for i, (s, c) in enumerate(zip(sentences, ctx))]


def predict(sentences: list[str] | str, target: str | None = None, model: str = "transformer",
            model_dir: Path | None = None, batch_size: int | None = None, target_by: str | None = None) -> list[dict]:
    """Label sentences (a list, in article order) or article text (a str, segmented like the seeds).
    `target_by`, the side making the target claim, lets stance be decoded by speaker side
    (pipeline/structure.py); without it the model's own stance directions stand (decode.infer_claimant off).

    Returns one record per sentence: sentence_id, text, speaker, stance, role, scores, model, target.
    """
    cfg = params("predict")
    target = check_target(cfg["target"] if target is None else target)
    if isinstance(sentences, str):
        sentences = split_sentences(sentences)
    sentences = [s.strip() for s in sentences if s and s.strip()]
    if not sentences:
        raise UserError("no text to label: the input is empty")
    rows = make_rows(sentences, target, target_by=target_by)
    labelled = predict_rows(load_model(model, model_dir), rows, batch_size or cfg["batch_size"])
    return [{"sentence_id": r["sentence_id"], "text": r["text"], **p, "model": model, "target": target}
            for r, p in zip(rows, labelled)]


def main(argv: list[str] | None = None) -> None:
    from pipeline.predict_cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
