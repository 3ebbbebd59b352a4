"""`stance-labelstudio import`: a Label Studio JSON export back into an annotated article.

The export is Label Studio's standard "JSON" format: a list of tasks, each with the `data` that
`stance-labelstudio export` wrote (text, sentence_id, paragraph, target, optional target_by)
and `annotations[].result[]` of Choices (from_name speaker/stance/role). The latest annotation
of a task (by updated_at, then created_at, then id; cancelled ones skipped) gives its labels; a
task nobody annotated is refused, or keeps the model's prediction with `use_predictions`.
Rows are checked by the very functions `prepare` uses (check_row, check_alignment after
split_sentences of the written text), so what is written passes `prepare`; nothing is written
unless everything passes, and an existing article is replaced only with `force`.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import DataError, UserError
from pipeline.core.jsonl import write_jsonl
from pipeline.core.textio import atomic_writer, read_text
from pipeline.data.schema import check_alignment, check_row, check_target, side_labels
from pipeline.data.segment import split_sentences

log = logging.getLogger(__name__)
ARTICLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def read_export(path: Path) -> list[dict]:
    try:
        tasks = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, f"not valid JSON ({err.msg}); expected Label Studio's 'JSON' export") \
            from None
    if not isinstance(tasks, list) or not tasks:
        raise DataError(path, None, "expected a non-empty list of tasks (Label Studio's 'JSON' export format)")
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(path, f"task {index + 1} of {len(tasks)}", "expected an object with a 'data' object")
    return tasks


def choices(result: list, where: str) -> dict[str, str]:
    """The chosen label per task from a Label Studio result list."""
    out = {}
    for item in result if isinstance(result, list) else []:
        if isinstance(item, dict) and item.get("from_name") in TASKS:
            picked = (item.get("value") or {}).get("choices")
            if not isinstance(picked, list) or len(picked) != 1:
                raise UserError(f"{where}: field '{item['from_name']}' has choices {picked!r}; expected exactly one")
            out[item["from_name"]] = picked[0]
    return out


def task_labels(task: dict, where: str, use_predictions: bool) -> dict[str, str]:
    """The latest annotation's labels, else (with use_predictions) the model's: a prediction's
    result where the export holds it whole, else data.predicted (Label Studio exports ids only)."""
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if done:
        latest = max(done, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))
        return choices(latest.get("result"), where)
    predictions = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    if use_predictions and predictions:
        return choices(predictions[-1].get("result"), where)
    if use_predictions and isinstance(task["data"].get("predicted"), dict):
        return {t: label for t, label in task["data"]["predicted"].items() if t in TASKS}
    raise UserError(f"{where}: no annotation; label it in Label Studio"
                    + ("" if use_predictions else ", or pass --use-predictions to keep the model's labels"))


def rows_of(tasks: list[dict], path: Path, article_id: str, labels: dict, use_predictions: bool) -> list[tuple]:
    """(task name, paragraph, row) per task, in sentence order, each row checked as `prepare` checks it."""
    out = []
    for index, task in enumerate(tasks):
        data = task["data"]
        name = f"task {task.get('id', index + 1)}"
        name += f" (sentence {data['sentence_id']})" if "sentence_id" in data else ""
        where = f"{path}:{name}"
        if not isinstance(data.get("paragraph"), int) or isinstance(data.get("paragraph"), bool):
            raise UserError(f"{where}: field 'paragraph' has value {data.get('paragraph')!r}; expected an integer "
                            "(tasks made by `stance-labelstudio export` have it)")
        row = {"article_id": article_id, "sentence_id": data.get("sentence_id"), "text": data.get("text"),
               **task_labels(task, where, use_predictions)}
        out.append((name, data["paragraph"], check_row(row, path, name, labels)))
    ids, total = [row["sentence_id"] for _, _, row in out], [t["data"].get("article_sentences") for t in tasks]
    if len(set(ids)) != len(ids):
        raise DataError(path, None, "two tasks have the same sentence_id; the export must hold one article once")
    given = type(total[0]) is int and all(n == total[0] for n in total)  # tasks of `export` give the count
    expected = total[0] if given else max(ids) + 1
    missing = sorted(set(range(expected)) - set(ids))
    if missing:
        raise DataError(path, None, f"no task for sentence(s) {', '.join(map(str, missing[:10]))} of {expected}; "
                                    "export every task (API: download_all_tasks=true), not only annotated ones")
    return sorted(out, key=lambda item: item[2]["sentence_id"])


def target_of(tasks: list[dict], path: Path, sides: list[str]) -> dict:
    """The article's target (and target_by, if the tasks carry it): one per export."""
    found = {json.dumps([t["data"].get("target"), t["data"].get("target_by")]) for t in tasks}
    if len(found) != 1:
        raise DataError(path, None, f"the tasks give {len(found)} different targets; expected one article's tasks")
    target, target_by = json.loads(found.pop())
    try:
        check_target(target, "field 'target'")
    except UserError as err:
        raise DataError(path, None, str(err)) from None
    if target_by is not None and target_by not in sides:
        raise DataError(path, None, f"field 'target_by' has value {target_by!r}; expected one of: {', '.join(sides)}")
    return {"target": target, **({"target_by": target_by} if target_by else {})}


def article_text(rows: list[tuple]) -> str:
    """One line a paragraph, its sentences joined by a space: segments back into the same sentences."""
    paras: dict[int, list[str]] = {}
    for _, paragraph, row in rows:
        paras.setdefault(paragraph, []).append(row["text"])
    return "".join(" ".join(paras[p]) + "\n" for p in sorted(paras))


def old_meta(path: Path) -> dict:
    """What an article being replaced recorded (title, outlet, url ...), kept in the new meta file."""
    try:
        old = json.loads(read_text(path)) if path.is_file() else {}
    except (json.JSONDecodeError, UserError):
        return {}
    return old if isinstance(old, dict) else {}


def import_export(path: Path, article_id: str, seeds: Path, annotations: Path, labels: dict,
                  force: bool = False, use_predictions: bool = False) -> list[Path]:
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
    existing = [str(p) for p in out if p.exists()]
    if existing and not force:
        raise UserError(f"article {article_id!r} already exists ({', '.join(existing)}); pass --force to replace it")
    meta = {"article_id": article_id, "synthetic": False, **old_meta(out[1]), **meta,
            "labelled_in": f"Label Studio (imported from {Path(path).name} by stance-labelstudio)"}
    with atomic_writer(out[0]) as handle:
        handle.write(text)
    with atomic_writer(out[1]) as handle:
        handle.write(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    write_jsonl(out[2], [row for _, _, row in rows])
    log.info("wrote %d sentences of article %s: %s", len(rows), article_id, ", ".join(map(str, out)))
    return out
