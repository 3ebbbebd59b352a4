"""Stage `split`: stratified, grouped k-fold over real sentences; synthetic rows train only."""
from __future__ import annotations

import argparse
import logging
import warnings
from collections import Counter
from pathlib import Path

from sklearn.model_selection import StratifiedGroupKFold

from pipeline.config import params
from pipeline.errors import UserError, cli
from pipeline.jsonl import load_rows, write_jsonl

log = logging.getLogger(__name__)
TRAIN_ONLY = -1  # the fold of synthetic rows: in every training set, never evaluated


def assign_folds(rows: list[dict], n_folds: int, seed: int, stratify: str) -> list[dict]:
    """One {uid, group, fold} record per row; rows sharing a group share a fold."""
    real = [row for row in rows if not row["synthetic"]]
    if len({row["group"] for row in real}) < n_folds:
        raise UserError(f"split: {len(real)} real sentence groups cannot fill {n_folds} folds; lower split.n_folds")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold_of_group: dict[str, int] = {}
    with warnings.catch_warnings():
        # Rare classes with fewer members than folds are expected on small data.
        warnings.simplefilter("ignore", UserWarning)
        splits = splitter.split(real, [row[stratify] for row in real], [row["group"] for row in real])
        for fold, (_, test) in enumerate(splits):
            for i in test:
                fold_of_group[real[i]["group"]] = fold
    out = []
    for row in rows:
        fold = fold_of_group.get(row["group"], TRAIN_ONLY) if not row["synthetic"] else TRAIN_ONLY
        if row["synthetic"] and row["group"] in fold_of_group:
            fold = fold_of_group[row["group"]]  # derived from a real sentence: travel with it
        out.append({"uid": row["uid"], "group": row["group"], "fold": fold})
    return out


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cfg = params("split")
    folds = assign_folds(load_rows(args.data), cfg["n_folds"], cfg["seed"], cfg["stratify"])
    write_jsonl(args.out / "folds.jsonl", folds)
    log.info("fold sizes: %s", dict(sorted(Counter(f["fold"] for f in folds).items())))


if __name__ == "__main__":
    main()
