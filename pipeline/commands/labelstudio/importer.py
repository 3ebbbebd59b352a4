"""`stance-labelstudio import`: a Label Studio JSON export back into an annotated article.

The export is Label Studio's standard "JSON" format: a list of tasks, each with the `data` that
`stance-labelstudio export` wrote (text, sentence_id, paragraph, target, optional target_by,
article_sentences) and `annotations[].result[]` of Choices (from_name speaker/stance/role). The
latest annotation of a task gives its labels (pipeline/commands/labelstudio/tasks.py says which is
latest); a task nobody annotated is refused, or keeps the model's prediction with `use_predictions`.
Rows are checked by the very functions `prepare` uses (check_row, check_alignment after
split_sentences of the written text), so what is written passes `prepare`; nothing is written
unless everything passes (the three output paths included), and an existing article is replaced
only with `force`.
"""
from __future__ import annotations

import json
import logging
import re
from itertools import islice
from pathlib import Path

from pipeline.commands.labelstudio.tasks import brief, read_export, task_labels
from pipeline.core.errors import DataError, UserError
from pipeline.core.jsonl import write_jsonl
from pipeline.core.textio import atomic_writer, check_output_path, read_text
from pipeline.data.articles import EVENT
from pipeline.data.schema import check_alignment, check_row, check_target, side_labels
from pipeline.data.segment import split_sentences

log = logging.getLogger(__name__)
ARTICLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def task_name(task: dict, index: int) -> str:
    """How errors name a task: its Label Studio id (else its place) and sentence; user values as repr."""
    name = f"task {brief(task.get('id', index + 1), 40)}"
    data = task["data"]
    return name + (f" (sentence {brief(data['sentence_id'], 40)})" if "sentence_id" in data else "")


def rows_of(tasks: list[dict], path: Path, article_id: str, labels: dict, use_predictions: bool) -> list[tuple]:
    """(task name, paragraph, row) per task, in sentence order, each row checked as `prepare` checks it."""
    out = []
    for index, task in enumerate(tasks):
        data, name = task["data"], task_name(task, index)
        where = f"{path}:{name}"
        if not isinstance(data.get("paragraph"), int) or isinstance(data.get("paragraph"), bool):
            raise UserError(f"{where}: field 'paragraph' has value {brief(data.get('paragraph'))}; expected an "
                            "integer (tasks made by `stance-labelstudio export` have it)")
        row = {"article_id": article_id, "sentence_id": data.get("sentence_id"), "text": data.get("text"),
               **task_labels(task, where, use_predictions)}
        out.append((name, data["paragraph"], check_row(row, path, name, labels)))
    check_complete([row["sentence_id"] for _, _, row in out], [t["data"].get("article_sentences") for t in tasks],
                   path)
    return sorted(out, key=lambda item: item[2]["sentence_id"])


def check_complete(ids: list[int], counts: list, path: Path) -> None:
    """Sentences 0 .. n-1, a task each: n is the tasks' `article_sentences` where every task gives
    the same integer (tasks of `export` do), else the highest sentence_id + 1. `n` comes from the
    export, so it is checked against the tasks present before anything of its size is built."""
    if len(set(ids)) != len(ids):
        raise DataError(path, None, "two tasks have the same sentence_id; the export must hold one article once")
    given = all(type(n) is int for n in counts) and len(set(counts)) == 1
    expected = counts[0] if given else max(ids) + 1
    if expected < 1:
        raise DataError(path, None, f"field 'article_sentences' has value {expected}; expected the article's number "
                                    "of sentences (at least 1)")
    if max(ids) >= expected:
        raise DataError(path, None, f"a task has sentence_id {max(ids):,}, but field 'article_sentences' says the "
                                    f"article has {expected:,} sentences")
    if len(ids) < expected:  # ids are distinct and below expected: len(ids) + 10 steps find ten missing
        seen = set(ids)
        missing = list(islice((k for k in range(expected) if k not in seen), 10))
        more = ", ..." if expected - len(ids) > len(missing) else ""
        raise DataError(path, None, f"no task for sentence(s) {', '.join(map(str, missing))}{more} of {expected:,} "
                                    f"(the export holds {len(ids):,} tasks); export every task (API: "
                                    "download_all_tasks=true), not only annotated ones")


def target_of(tasks: list[dict], path: Path, sides: list[str]) -> dict:
    """The article's target (and target_by, if the tasks carry it): one per export."""
    found = {}
    for index, task in enumerate(tasks):
        target, target_by = task["data"].get("target"), task["data"].get("target_by")
        for field, value in (("target", target), ("target_by", target_by)):
            if value is not None and not isinstance(value, str):
                raise UserError(f"{path}:{task_name(task, index)}: field '{field}' has a value of type "
                                f"{type(value).__name__} ({brief(value)}); expected text")
        found.setdefault((target, target_by), index)
    if len(found) != 1:
        raise DataError(path, None, f"the tasks give {len(found)} different targets; expected one article's tasks")
    (target, target_by), = found
    try:
        check_target(target, "field 'target'")
    except UserError as err:
        raise DataError(path, None, str(err)) from None
    if target_by is not None and target_by not in sides:
        raise DataError(path, None, f"field 'target_by' has value {brief(target_by)}; expected one of: "
                                    f"{', '.join(sides)}")
    return {"target": target, **({"target_by": target_by} if target_by else {})}


def article_text(rows: list[tuple]) -> str:
    """One line a paragraph, its sentences joined by a space: segments back into the same sentences."""
    paras: dict[int, list[str]] = {}
    for _, paragraph, row in rows:
        paras.setdefault(paragraph, []).append(row["text"])
    return "".join(" ".join(paras[p]) + "\n" for p in sorted(paras))


# The meta fields an import writes itself; a replaced article's meta keeps only its other fields.
IMPORTED = ("article_id", "synthetic", "target", "target_by", "labelled_in")


def new_meta(old_path: Path, article_id: str, target: dict, export: Path, event: str | None = None) -> dict:
    """The imported article's meta: `article_id` is --article-id; `synthetic` is false (an article
    labelled in Label Studio is real); `target` and `target_by` are the export's (target_by absent
    when the export has none). Of the meta file being replaced (--force), only what the import does
    not supply is kept: the provenance (title, source, outlet, date, url ...); its article_id,
    synthetic, target and target_by never survive."""
    try:
        old = json.loads(read_text(old_path)) if old_path.is_file() else {}
    except (json.JSONDecodeError, RecursionError, UserError):
        old = {}
    kept = {key: value for key, value in old.items() if key not in IMPORTED} if isinstance(old, dict) else {}
    if event is not None:
        kept["event"] = event
    if not (isinstance(kept.get("event"), str) and EVENT.match(kept["event"])):
        what = f"--event {event!r}: expected" if event is not None else "--event is required for a new article:"
        raise UserError(f"{what} the real-world event the article reports, as YYYY-MM_short_name (e.g. "
                        "2025-07_border_clash); cross-validation keeps each event in one fold")
    return {"article_id": article_id, "synthetic": False, **kept, **target,
            "labelled_in": f"Label Studio (imported from {export.name} by stance-labelstudio)"}


def import_export(path: Path, article_id: str, seeds: Path, annotations: Path, labels: dict,
                  force: bool = False, use_predictions: bool = False, event: str | None = None) -> list[Path]:
    """Validate the export whole, then write text, meta and annotations; return the written paths."""
    if not ARTICLE_ID.fullmatch(article_id):
        raise UserError(f"--article-id {article_id!r}: expected letters, digits, '_', '-' or '.', not starting with "
                        "'.', '_' or '-'")
    tasks = read_export(Path(path))
    rows = rows_of(tasks, path, article_id, labels, use_predictions)
    meta = target_of(tasks, path, side_labels(labels))
    text = article_text(rows)
    check_alignment([(name, row) for name, _, row in rows], split_sentences(text), path, article_id)
    out = [seeds / f"{article_id}.txt", seeds / f"{article_id}.meta.json", annotations / f"{article_id}.jsonl"]
    existing = [str(p) for p in out if p.exists() or p.is_symlink()]
    if existing and not force:
        raise UserError(f"article {article_id!r} already exists ({', '.join(existing)}); pass --force to replace it")
    for file in out:  # all three are writable regular-file paths before the first is written
        check_output_path(file)
    meta = new_meta(out[1], article_id, meta, Path(path), event)
    with atomic_writer(out[0]) as handle:
        handle.write(text)
    with atomic_writer(out[1]) as handle:
        handle.write(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    write_jsonl(out[2], [row for _, _, row in rows])
    log.info("wrote %d sentences of article %s: %s", len(rows), article_id, ", ".join(map(str, out)))
    return out
