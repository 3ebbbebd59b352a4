"""Stage `prepare`: segment every article, join it with its annotations, validate, add context."""
from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

from pipeline.core.config import TASKS, label_sets, params
from pipeline.core.errors import DataError, cli
from pipeline.core.jsonl import write_jsonl
from pipeline.data.articles import article_rows, find_annotations, load_meta
from pipeline.data.dataset import write_dataset

log = logging.getLogger(__name__)


def prepare(article_dirs: list[Path], annotation_dirs: list[Path], use_synthetic: bool, window: int) -> list[dict]:
    labels = label_sets()
    for folder in [*article_dirs, *annotation_dirs]:
        if not Path(folder).is_dir():
            raise DataError(folder, None, "folder not found")
    rows: list[dict] = []
    seen: set[str] = set()
    for folder in article_dirs:
        for txt in sorted(Path(folder).glob("*.txt")):
            if txt.stem in seen:
                raise DataError(txt, None, f"article id {txt.stem!r} appears in two article folders")
            seen.add(txt.stem)
            if not use_synthetic and load_meta(txt, labels).get("synthetic", False):
                continue
            rows.extend(article_rows(txt, find_annotations(txt.stem, annotation_dirs), labels, window))
    for folder in annotation_dirs:
        for path in sorted(Path(folder).glob("*.jsonl")):
            if path.stem not in seen:
                raise DataError(path, None, f"no article text {path.stem}.txt for these annotations")
    if not any(not row["synthetic"] for row in rows):
        raise DataError(article_dirs[0], None, "no real (non-synthetic) annotated article found")
    return rows


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", nargs="+", type=Path, required=True, help="folders of <id>.txt + <id>.meta.json")
    parser.add_argument("--annotations", nargs="+", type=Path, required=True, help="folders of <id>.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cfg = params("prepare")
    rows = prepare(args.articles, args.annotations, cfg["use_synthetic"], cfg["context_sentences"])
    count = write_jsonl(args.out / "sentences.jsonl", rows)
    write_dataset(rows, args.out / "dataset", label_sets())
    real = sum(not row["synthetic"] for row in rows)
    log.info("wrote %d sentences (%d real, %d synthetic) from %d articles to %s",
             count, real, count - real, len({r["article_id"] for r in rows}), args.out)
    for task in TASKS:
        log.info("%s: %s", task, dict(Counter(row[task] for row in rows)))


if __name__ == "__main__":
    main()
