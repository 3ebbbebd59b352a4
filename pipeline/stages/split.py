"""Stage `split`: event-grouped, stratified k-fold over real sentences; synthetic rows train only.

Every real-world event (the `event` of an article's meta file) falls in exactly one fold, with all
its articles, so no model is ever scored on an event it trained on: not on other sentences of the
same article, nor on another outlet's report of the same incident. Synthetic rows derived from a
real sentence (their `group` is its uid) travel with that sentence's article; other synthetic rows
are train-only.
"""
from __future__ import annotations

import argparse
import logging
import warnings
from collections import Counter
from pathlib import Path

from sklearn.model_selection import StratifiedGroupKFold

from pipeline.core.config import params
from pipeline.core.errors import UserError, cli
from pipeline.core.jsonl import load_rows, write_jsonl
from pipeline.data.schema import TRAIN_ONLY

log = logging.getLogger(__name__)


def event_of(row: dict) -> str:
    """The event a row's article reports (rows prepared before events existed: the article)."""
    return row.get("event") or row["article_id"]


def assign_folds(rows: list[dict], n_folds: int, seed: int, stratify: str) -> list[dict]:
    """One {uid, group, fold} record per row, `group` being the article a real row belongs to;
    every article of one event gets the same fold."""
    real = [row for row in rows if not row["synthetic"]]
    events = sorted({event_of(row) for row in real})
    if len(events) < n_folds:
        raise UserError(f"split: {len(events)} events of real articles cannot fill {n_folds} folds (folds are "
                        "grouped by event); lower split.n_folds or add articles on other events")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold_of_article: dict[str, int] = {}
    with warnings.catch_warnings():
        # Rare classes with fewer members than folds are expected on small data.
        warnings.simplefilter("ignore", UserWarning)
        splits = splitter.split(real, [row[stratify] for row in real], [event_of(row) for row in real])
        for fold, (_, test) in enumerate(splits):
            for i in test:
                fold_of_article[real[i]["article_id"]] = fold
    article_of_uid = {row["uid"]: row["article_id"] for row in real}
    out = []
    for row in rows:
        if not row["synthetic"]:
            out.append({"uid": row["uid"], "group": row["article_id"], "fold": fold_of_article[row["article_id"]]})
            continue
        source = article_of_uid.get(row["group"])  # derived from a real sentence: travel with its article
        out.append({"uid": row["uid"], "group": source or row["group"],
                    "fold": fold_of_article[source] if source else TRAIN_ONLY})
    return out


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cfg = params("split")
    rows = load_rows(args.data)
    folds = assign_folds(rows, cfg["n_folds"], cfg["seed"], cfg["stratify"])
    write_jsonl(args.out / "folds.jsonl", folds)
    real = [f for f in folds if f["fold"] != TRAIN_ONLY]
    log.info("%d real sentences from %d articles on %d events in %d folds; sentences per fold: %s", len(real),
             len({f["group"] for f in real}), len({event_of(r) for r in rows if not r["synthetic"]}), cfg["n_folds"],
             dict(sorted(Counter(f["fold"] for f in real).items())))


if __name__ == "__main__":
    main()
