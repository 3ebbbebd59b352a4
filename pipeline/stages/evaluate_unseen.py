"""Stage `unseen`: score the final models on an external labelled set of real articles they never saw.

Off by default (`unseen.data: ""`), so a fresh clone needs nothing outside the repo; then the
metrics file is `{}` and the report has no unseen section.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipeline.core.config import ROOT, params
from pipeline.core.errors import UserError, cli
from pipeline.evaluation.labelled import evaluate_labelled, load_labelled
from pipeline.evaluation.scoring import log_metrics, write_metrics
from pipeline.models import load_model

log = logging.getLogger(__name__)


def score_unseen(data: str, model_dir: Path) -> dict:
    """Metrics of the model in `model_dir` on the labelled file `data` (relative to the project), or {} when off."""
    if not data:
        log.info("unseen: off (set unseen.data in configs/params.yaml to score an external set)")
        return {}
    path = Path(data) if Path(data).is_absolute() else ROOT / data
    if not path.is_file():
        raise UserError(f"unseen.data: {path} not found")
    # On the CPU whatever the machine (the transformer through ONNX Runtime), so scores do not depend on it.
    metrics = evaluate_labelled(load_labelled(path), load_model(model_dir, "cpu"))
    log_metrics(metrics, "unseen")
    return metrics


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write_metrics(args.out, score_unseen(params("unseen")["data"], args.model_dir))


if __name__ == "__main__":
    main()
