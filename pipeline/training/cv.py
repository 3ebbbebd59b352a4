"""Cross-validation shared by every model: same folds, same prediction path."""
from __future__ import annotations

import logging
from typing import Callable

from tqdm.auto import tqdm

from pipeline.inference import label_rows

log = logging.getLogger(__name__)


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
        for row, pred in zip(test, label_rows(model, test)):
            oof.append({"uid": row["uid"], "fold": fold, **pred})
    return oof
