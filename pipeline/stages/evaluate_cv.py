"""Stage `evaluate`: score a model's out-of-fold predictions with the shared metric function, and
write its model card."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import cli
from pipeline.core.jsonl import load_rows
from pipeline.evaluation.cards import write_card
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
    parser.add_argument("--model-dir", type=Path, required=True, help="the trained model (its oof.jsonl is scored)")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    parser.add_argument("--card", type=Path, required=True, help="where to write the model card (Markdown)")
    args = parser.parse_args(argv)
    rows, oof = load_rows(args.data), load_rows(args.model_dir / "oof.jsonl")
    gold, predicted = align(rows, oof)
    metrics = score_rows(gold, predicted)
    write_metrics(args.metrics, metrics)
    write_confusions(args.plots, gold, predicted)
    write_card(args.card, args.model_dir, rows, oof, metrics)
    log_metrics(metrics, "cross-validation")


if __name__ == "__main__":
    main()
