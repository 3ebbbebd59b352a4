"""Stage `transformer`: fine-tune a shared encoder with three heads, cross-validated, offline."""
from __future__ import annotations

import logging
from pathlib import Path

from pipeline.core.config import label_sets, params
from pipeline.core.errors import UserError, cli
from pipeline.core.jsonl import load_rows, write_jsonl
from pipeline.data.schema import TRAIN_ONLY
from pipeline.models.transformer import save
from pipeline.training import distributed as dist
from pipeline.training import model_card
from pipeline.training.cv import model_info, stage_parser
from pipeline.training.recipe import train
from pipeline.training.training_log import TrainingLog

log = logging.getLogger(__name__)


def check_params(cfg: dict) -> None:
    if cfg["epochs"] < 1 or cfg["batch_size"] < 1:
        raise UserError("transformer: epochs and batch_size must be at least 1")
    if not 0.0 <= cfg["finetune_interpolation"] <= 1.0:
        raise UserError(f"transformer.finetune_interpolation must be between 0 and 1, got {cfg['finetune_interpolation']}")
    if not 0.0 <= cfg["distill_weight"] <= 1.0:
        raise UserError(f"transformer.distill_weight must be between 0 and 1, got {cfg['distill_weight']}")


@cli
def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--live", type=Path, required=True, help="DVCLive folder for the training curves")
    args = parser.parse_args(argv)
    cfg, labels = params("transformer"), label_sets()
    check_params(cfg)
    device = dist.setup(cfg["device"])
    rows, folds = load_rows(args.data), load_rows(args.folds)
    history = TrainingLog(labels)
    log.info("training on %s: %d rows, %d folds, model %s", device, len(rows),
             len({f["fold"] for f in folds} - {TRAIN_ONLY}), cfg["model"])
    oof, final = train(rows, folds, cfg, labels, device, model_info(cfg["use_actors"]), history)
    if dist.is_main():
        write_jsonl(args.out / "oof.jsonl", oof)
        save(final, args.out, cfg)
        history.write(args.live, args.out / "training.json")
        model_card.write(args.out, rows, oof, cfg, history.summary())
        log.info("saved transformer trained on %d rows and %d out-of-fold predictions to %s", len(rows), len(oof), args.out)
    dist.barrier()
    dist.teardown()


if __name__ == "__main__":
    main()
