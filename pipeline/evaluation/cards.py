"""The model card of a trained model, written by the evaluate stage from the model folder and its
out-of-fold scores (so editing the cards, or the bootstrap, retrains nothing)."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.core.textio import write_atomic
from pipeline.evaluation import model_card, skops_card
from pipeline.models import baseline
from pipeline.models.checks import read_model_json


def card_text(model_dir: Path, rows: list[dict], oof: list[dict], metrics: dict) -> str:
    """README text for the model in `model_dir` (its type read from model.json): a skops card for the
    baseline, a Hugging Face card for the transformer (with its training log, training.json)."""
    meta = read_model_json(Path(model_dir))
    if meta["model"] == "baseline":
        return skops_card.render(baseline.load(Path(model_dir)).pipeline, meta["params"], metrics)
    training = json.loads((Path(model_dir) / "training.json").read_text(encoding="utf-8"))
    return model_card.render(rows, oof, meta["params"], training)


def write_card(path: Path, model_dir: Path, rows: list[dict], oof: list[dict], metrics: dict) -> None:
    write_atomic(Path(path), card_text(model_dir, rows, oof, metrics))
