"""One article on disk: its metadata, its sentences joined with their annotations, validated.

Used by the `prepare` stage (every article of the corpus) and by `stance-ingest` (an article before
it joins the corpus), so an article that ingests cleanly also prepares cleanly.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import DataError, UserError
from pipeline.core.jsonl import read_jsonl
from pipeline.core.textio import read_text
from pipeline.data.context import contexts
from pipeline.data.schema import check_alignment, check_row, check_target, side_labels
from pipeline.data.segment import split_sentences

# A real-world event: the month it began and a short name, e.g. 2025-07_thailand_cambodia_border_clash.
EVENT = re.compile(r"^\d{4}-\d{2}_[a-z0-9]+(?:_[a-z0-9]+)*$")


def meta_path(txt: Path) -> Path:
    return txt.with_name(txt.stem + ".meta.json")


def load_meta(txt: Path, labels: dict[str, list[str]]) -> dict:
    """An article's metadata file `<id>.meta.json`. It must name its target; a real article must
    also name its `event` (cross-validation keeps every event in one fold) and may name the side
    making the target claim (`target_by`)."""
    path = meta_path(txt)
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
    if not meta.get("synthetic", False) and not (isinstance(meta.get("event"), str) and EVENT.match(meta["event"])):
        raise DataError(path, None, f"field 'event' has value {meta.get('event')!r}; expected the real-world event "
                                    "the article reports, as YYYY-MM_short_name (e.g. 2025-07_border_clash)")
    sides = side_labels(labels)
    if meta.get("target_by") is not None and meta["target_by"] not in sides:
        raise DataError(path, None, f"field 'target_by' has value {meta['target_by']!r}; expected one of: "
                                    f"{', '.join(sides)}")
    return meta


def find_annotations(article_id: str, annotation_dirs: list[Path]) -> Path:
    for folder in annotation_dirs:
        path = folder / f"{article_id}.jsonl"
        if path.is_file():
            return path
    raise DataError(annotation_dirs[0] / f"{article_id}.jsonl", None, "annotation file not found for this article")


def article_rows(txt: Path, annotation: Path, labels: dict, window: int) -> list[dict]:
    """Validated, prepared rows of one article: its annotations, aligned with its segmented text."""
    meta = load_meta(txt, labels)
    sentences = split_sentences(read_text(txt))
    rows = [(line, check_row(row, annotation, line, labels)) for line, row in read_jsonl(annotation)]
    check_alignment(rows, sentences, annotation, txt.stem)
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
            # Folds are grouped by event; an article without one (synthetic) is its own.
            "event": meta.get("event") or txt.stem,
            # The side making the target claim, kept apart from `target_by` (which prediction decodes
            # with): it trains and scores the claimant inference, and is never given to a model.
            "claimant": meta.get("target_by"),
        })
    return out
