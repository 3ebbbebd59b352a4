"""A Label Studio JSON export, read and checked: its tasks, and each task's chosen labels.

The latest annotation of a task gives its labels (cancelled ones skipped). "Latest" is the
greatest `updated_at` (else `created_at`), compared as text (Label Studio writes ISO 8601 times,
which sort as text); a tie goes to the greater `id`, where integer ids (Label Studio's own) compare
as numbers and come after a missing id and before any other id (a string, ...), which compare by
their JSON text; a tie left after that goes to the annotation listed last. So the choice never
depends on Python's ordering of mixed types, and is the same on every run.
"""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import DataError, UserError
from pipeline.core.textio import read_text


def brief(value, limit: int = 60) -> str:
    """repr of a value from the export, cut to `limit` characters (a value can be megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def read_export(path: Path) -> list[dict]:
    """The export's tasks: a non-empty list of objects, each with a `data` object."""
    try:
        tasks = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, f"not valid JSON ({err.msg}); expected Label Studio's 'JSON' export") \
            from None
    except RecursionError:
        raise DataError(path, None, "JSON nested too deeply to read; expected Label Studio's 'JSON' export "
                                    "(a list of task objects)") from None
    if not isinstance(tasks, list) or not tasks:
        raise DataError(path, None, "expected a non-empty list of tasks (Label Studio's 'JSON' export format)")
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(path, f"task {index + 1} of {len(tasks)}", "expected an object with a 'data' object")
    return tasks


def choices(result, where: str) -> dict[str, str]:
    """The chosen label per task from a Label Studio result list."""
    out = {}
    for item in result if isinstance(result, list) else []:
        if isinstance(item, dict) and item.get("from_name") in TASKS:
            field, value = item["from_name"], item.get("value")
            if not isinstance(value, dict):
                raise UserError(f"{where}: field '{field}' has a result value {brief(value)} "
                                f"({type(value).__name__}); expected an object with 'choices'")
            picked = value.get("choices")
            if not isinstance(picked, list) or len(picked) != 1:
                raise UserError(f"{where}: field '{field}' has choices {brief(picked)}; expected exactly one")
            out[field] = picked[0]
    return out


def id_order(value) -> tuple:
    """A sort key for annotation ids of any JSON type: missing < integers (by value) < anything else
    (by its JSON text)."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, int) and not isinstance(value, bool):
        return (1, value, "")
    return (2, 0, json.dumps(value, sort_keys=True, ensure_ascii=False))


def latest(annotations: list[dict]) -> dict:
    """The latest annotation, by the rule in this module's docstring."""
    def key(item):
        position, a = item
        return str(a.get("updated_at") or a.get("created_at") or ""), id_order(a.get("id")), position

    return max(enumerate(annotations), key=key)[1]


def listed(task: dict, field: str, where: str) -> list[dict]:
    """A task's annotations or predictions: a list (absent or null: none), its objects only."""
    items = task.get(field)
    if items is None:
        return []
    if not isinstance(items, list):
        raise UserError(f"{where}: field '{field}' has a value of type {type(items).__name__}; expected a list")
    return [item for item in items if isinstance(item, dict)]


def task_labels(task: dict, where: str, use_predictions: bool) -> dict[str, str]:
    """The latest annotation's labels, else (with use_predictions) the model's: a prediction's
    result where the export holds it whole, else data.predicted (Label Studio exports ids only)."""
    done = [a for a in listed(task, "annotations", where) if not a.get("was_cancelled")]
    if done:
        return choices(latest(done).get("result"), where)
    predictions = listed(task, "predictions", where)
    if use_predictions and predictions:
        return choices(predictions[-1].get("result"), where)
    if use_predictions and isinstance(task["data"].get("predicted"), dict):
        return {t: label for t, label in task["data"]["predicted"].items() if t in TASKS}
    raise UserError(f"{where}: no annotation; label it in Label Studio"
                    + ("" if use_predictions else ", or pass --use-predictions to keep the model's labels"))
