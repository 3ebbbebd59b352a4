"""Cross-validation shared by every model: same folds, same prediction path."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from pipeline.core.config import params
from pipeline.data.actors import load_actors
from pipeline.inference import predict_rows
from pipeline.models.structure import configured_sides

log = logging.getLogger(__name__)


def stage_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every training stage takes: prepared sentences, folds, output folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True, help="prepared sentences (data/prepare)")
    parser.add_argument("--folds", type=Path, required=True, help="fold of every sentence (data/split)")
    parser.add_argument("--out", type=Path, required=True, help="model folder")
    return parser


def model_info(use_actors: bool) -> dict:
    """What a model trained now keeps for prediction besides its weights, read from configs/ once,
    at training: the stance decoding, the actor table (None without actor tags) and the context width."""
    return {"sides": configured_sides(), "actors": load_actors() if use_actors else None,
            "context_sentences": params("prepare")["context_sentences"]}


def join_folds(rows: list[dict], folds: list[dict]) -> dict[str, int]:
    fold_of = {f["uid"]: f["fold"] for f in folds}
    missing = [row["uid"] for row in rows if row["uid"] not in fold_of]
    if missing:
        raise ValueError(f"{len(missing)} sentences have no fold (first: {missing[0]}); re-run the split stage")
    return fold_of


def out_of_fold(rows: list[dict], folds: list[dict], fit: Callable[[list[dict], int, list[dict]], object]) -> list[dict]:
    """Train `fit(train_rows, fold, held_out_rows)` once per fold, predict the held-out real rows.

    Synthetic rows (fold -1) are always in training and never predicted. `fit` may predict the
    held-out rows to draw a learning curve, never to choose anything.
    """
    fold_of = join_folds(rows, folds)
    oof: list[dict] = []
    fold_ids = sorted({f for f in fold_of.values() if f >= 0})
    for fold in tqdm(fold_ids, desc="folds", unit="fold"):
        train = [row for row in rows if fold_of[row["uid"]] != fold]
        test = [row for row in rows if fold_of[row["uid"]] == fold and not row["synthetic"]]
        log.info("fold %d: %d training rows, %d held out", fold, len(train), len(test))
        model = fit(train, fold, test)
        for row, pred in zip(test, predict_rows(model, test)):
            oof.append({"uid": row["uid"], "fold": fold, **pred})
    return oof
