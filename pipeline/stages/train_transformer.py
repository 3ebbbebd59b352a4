"""Stage `transformer`: fine-tune a shared encoder with three heads, cross-validated, offline."""
from __future__ import annotations

import logging
from pathlib import Path

from pipeline.core.config import label_sets, params
from pipeline.core.errors import cli
from pipeline.core.jsonl import load_rows, write_jsonl
from pipeline.data.schema import TRAIN_ONLY
from pipeline.models.transformer import save
from pipeline.stages.common import stage_parser
from pipeline.training.device import setup
from pipeline.training.finetune import Trainer
from pipeline.training.recipe import train
from pipeline.training.snapshot import model_info
from pipeline.training.transformer_config import TransformerConfig

log = logging.getLogger(__name__)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--live", type=Path, required=True, help="DVCLive folder for the training curves")
    args = parser.parse_args(argv)
    cfg = TransformerConfig.from_params(params("transformer"))  # checked before any data is read
    trainer = Trainer(cfg, label_sets(), setup(cfg.device), model_info(cfg.use_actors))
    rows, folds = load_rows(args.data), load_rows(args.folds)
    log.info("training on %s: %d rows, %d folds, model %s", trainer.device, len(rows),
             len({f["fold"] for f in folds} - {TRAIN_ONLY}), cfg.model)
    oof, final = train(rows, folds, trainer)
    write_jsonl(args.out / "oof.jsonl", oof)
    save(final, args.out, cfg.as_params())
    trainer.history.write(args.live, args.out / "training.json")
    log.info("saved transformer trained on %d rows and %d out-of-fold predictions to %s", len(rows), len(oof), args.out)


if __name__ == "__main__":
    main()
