"""Stage `evaluate`: score a model's out-of-fold predictions with the shared metric function."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from pipeline.config import TASKS, label_sets, params
from pipeline.errors import UserError, cli
from pipeline.jsonl import load_rows, write_jsonl
from pipeline.metrics import score

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


def write_metrics(path: Path, metrics: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def write_confusions(folder: Path, gold: list[dict], predicted: list[dict]) -> None:
    """One {actual, predicted} list per task, drawn by DVC's confusion template."""
    for task in TASKS:
        pairs = [{"actual": g[task], "predicted": p[task]} for g, p in zip(gold, predicted)]
        write_jsonl(folder / f"{task}.jsonl", pairs)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="prepared sentences (gold labels)")
    parser.add_argument("--predictions", type=Path, required=True, help="out-of-fold predictions")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args(argv)
    cfg = params("evaluate")
    gold, predicted = align(load_rows(args.data), load_rows(args.predictions))
    metrics = score(gold, predicted, label_sets(), cfg["n_bootstrap"], cfg["seed"])
    write_metrics(args.metrics, metrics)
    write_confusions(args.plots, gold, predicted)
    for task in TASKS:
        m = metrics[task]
        log.info("%s: macro-F1 %.3f [%.3f, %.3f], majority %.3f (n=%d)", task, m["macro_f1"],
                 *m["macro_f1_ci"], m["majority_macro_f1"], m["n"])


if __name__ == "__main__":
    main()
