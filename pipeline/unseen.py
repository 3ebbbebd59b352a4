"""Stage `unseen`: score the final models on an external labelled set of real articles they never saw.

Off by default (`unseen.data: ""`), so a fresh clone needs nothing outside the repo; then the
metrics file is `{}` and the report has no unseen section.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipeline.config import ROOT, params
from pipeline.errors import UserError, cli
from pipeline.evaluate import evaluate_file, log_metrics, write_metrics

log = logging.getLogger(__name__)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = params("unseen")["data"]
    if not data:
        write_metrics(args.out, {})
        log.info("unseen: off (set unseen.data in configs/params.yaml to score an external set)")
        return
    path = Path(data) if Path(data).is_absolute() else ROOT / data
    if not path.is_file():
        raise UserError(f"unseen.data: {path} not found")
    metrics = evaluate_file(path, args.model, args.model_dir)
    write_metrics(args.out, metrics)
    log_metrics(metrics, "unseen")


if __name__ == "__main__":
    main()
