"""Stage `prepare`: segment every article, join it with its annotations, validate, add context."""
from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

from pipeline.core.config import TASKS, label_sets, params
from pipeline.data.context import contexts
from pipeline.data.dataset import write_dataset
from pipeline.core.errors import DataError, UserError, cli
from pipeline.core.jsonl import read_jsonl, write_jsonl
from pipeline.data.schema import check_alignment, check_row, check_target
from pipeline.data.segment import split_sentences
from pipeline.core.textio import read_text

log = logging.getLogger(__name__)


def load_meta(txt: Path) -> dict:
    """An article's metadata file `<id>.meta.json`, which must name its target."""
    path = txt.with_name(txt.stem + ".meta.json")
    if not path.is_file():
        raise DataError(path, None, "metadata file not found; expected it beside the article text")
    try:
        meta = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, f"not valid JSON ({err.msg})") from None
    if not isinstance(meta, dict):
        raise DataError(path, None, f"expected a JSON object, got {type(meta).__name__}")
    try:
        check_target(meta.get("target"), "field 'target'")
    except UserError as err:
        raise DataError(path, None, str(err)) from None
    if meta.get("article_id", txt.stem) != txt.stem:
        raise DataError(path, None, f"field 'article_id' has value {meta['article_id']!r}; expected {txt.stem!r}")
    if not isinstance(meta.get("synthetic", False), bool):
        raise DataError(path, None, f"field 'synthetic' has value {meta['synthetic']!r}; expected true or false")
    return meta


def find_annotations(article_id: str, annotation_dirs: list[Path]) -> Path:
    for folder in annotation_dirs:
        path = folder / f"{article_id}.jsonl"
        if path.is_file():
            return path
    raise DataError(annotation_dirs[0] / f"{article_id}.jsonl", None, "annotation file not found for this article")


def prepare_article(txt: Path, annotation_dirs: list[Path], labels: dict, window: int) -> list[dict]:
    """Validated, prepared rows of one article."""
    meta = load_meta(txt)
    sentences = split_sentences(read_text(txt))
    path = find_annotations(txt.stem, annotation_dirs)
    rows = [(line, check_row(row, path, line, labels)) for line, row in read_jsonl(path)]
    check_alignment(rows, sentences, path, txt.stem)
    synthetic = meta.get("synthetic", False)
    out = []
    for (_, row), context in zip(rows, contexts(sentences, window)):
        uid = f"{txt.stem}:{row['sentence_id']}"
        out.append({
            "uid": uid, "article_id": txt.stem, "sentence_id": row["sentence_id"],
            "text": row["text"], "context": context, "target": meta["target"],
            **{task: row[task] for task in TASKS},
            "synthetic": synthetic or row.get("synthetic", False),
            # Rows derived from another sentence name its uid as their group, so folds keep them together.
            "group": row.get("group", uid),
        })
    return out


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
            if not use_synthetic and load_meta(txt).get("synthetic", False):
                continue
            rows.extend(prepare_article(txt, annotation_dirs, labels, window))
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
