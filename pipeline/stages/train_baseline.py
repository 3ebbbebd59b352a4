"""Stage `baseline`: TF-IDF word + character n-grams and a linear classifier per task."""
from __future__ import annotations

import logging

from pipeline.core.config import label_sets, params
from pipeline.core.errors import cli
from pipeline.core.jsonl import load_rows, write_jsonl
from pipeline.models.baseline import fit, save
from pipeline.stages.common import stage_parser
from pipeline.training.cv import out_of_fold
from pipeline.training.snapshot import model_info

log = logging.getLogger(__name__)


@cli
def main(argv: list[str] | None = None) -> None:
    args = stage_parser(__doc__).parse_args(argv)
    cfg, labels = params("baseline"), label_sets()
    info = model_info(cfg["use_actors"])
    rows, folds = load_rows(args.data), load_rows(args.folds)
    oof = out_of_fold(rows, folds, lambda train, fold, _: fit(train, cfg, labels, info))
    write_jsonl(args.out / "oof.jsonl", oof)
    final = fit(rows, cfg, labels, info)
    save(final, args.out, cfg)
    log.info("saved baseline trained on %d rows and %d out-of-fold predictions to %s", len(rows), len(oof), args.out)


if __name__ == "__main__":
    main()
