"""Scoring: gold rows and predictions through the one metric function, with the `evaluate` params."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from pipeline.core.config import TASKS, label_sets, params
from pipeline.core.errors import UserError
from pipeline.core.textio import write_atomic
from pipeline.evaluation.metrics import score

log = logging.getLogger(__name__)


def align(gold_rows: list[dict], predictions: list[dict]) -> tuple[list[dict], list[dict]]:
    """Real gold rows and their predictions, in gold order; every real row must be predicted."""
    by_uid = {p["uid"]: p for p in predictions}
    gold = [row for row in gold_rows if not row["synthetic"]]
    missing = [row["uid"] for row in gold if row["uid"] not in by_uid]
    if missing:
        raise UserError(f"{len(missing)} real sentences have no prediction (first: {missing[0]})")
    scored = {row["uid"] for row in gold}
    extra = [uid for uid in by_uid if uid not in scored]
    if extra:
        raise UserError(f"prediction for {extra[0]}, which is not a real evaluation sentence")
    return gold, [by_uid[row["uid"]] for row in gold]


def score_rows(gold: list[dict], predicted: list[dict]) -> dict:
    """The shared metric function with the `evaluate` params: every score of every model goes through it."""
    cfg = params("evaluate")
    return score(gold, predicted, label_sets(), cfg["n_bootstrap"], cfg["seed"])


def write_metrics(path: Path, metrics: dict) -> None:
    write_atomic(path, json.dumps(metrics, indent=2) + "\n")


def log_metrics(metrics: dict, what: str) -> None:
    for task in TASKS:
        m = metrics[task]
        log.info("%s %s: macro-F1 %.3f [%.3f, %.3f], majority %.3f (n=%d)", what, task, m["macro_f1"],
                 *m["macro_f1_ci"], m["majority_macro_f1"], m["n"])
