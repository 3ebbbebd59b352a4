"""Stage `evaluate`: score a model's out-of-fold predictions with the shared metric function."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import cli
from pipeline.core.jsonl import load_rows
from pipeline.evaluation.scoring import align, log_metrics, score_rows, write_metrics

log = logging.getLogger(__name__)


def write_confusions(folder: Path, gold: list[dict], predicted: list[dict]) -> None:
    """One {actual, predicted} list per task, drawn by DVC's confusion template."""
    folder.mkdir(parents=True, exist_ok=True)
    for task in TASKS:
        pairs = [{"actual": g[task], "predicted": p[task]} for g, p in zip(gold, predicted)]
        (folder / f"{task}.json").write_text(json.dumps(pairs, indent=1) + "\n", encoding="utf-8")


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="prepared sentences (gold labels)")
    parser.add_argument("--predictions", type=Path, required=True, help="out-of-fold predictions")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args(argv)
    gold, predicted = align(load_rows(args.data), load_rows(args.predictions))
    metrics = score_rows(gold, predicted)
    write_metrics(args.metrics, metrics)
    write_confusions(args.plots, gold, predicted)
    log_metrics(metrics, "cross-validation")


if __name__ == "__main__":
    main()
