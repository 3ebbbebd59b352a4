"""Model folders are untrusted input: their JSON is checked before use, errors name the file."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.config import TASKS, label_sets
from pipeline.errors import UserError
from pipeline.structure import check_sides
from pipeline.textio import read_text

REPAIR = "the model folder is damaged; run `dvc repro` (or `dvc checkout`) to restore it"


def corrupt(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}; {REPAIR}")


def first_line(err: Exception) -> str:
    """An exception's message, first line and at most 200 characters, or its type's name."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def read_model_json(folder: Path, model: str) -> dict:
    """`model.json` of a saved model: an object naming the model, with the project's label lists."""
    path = Path(folder) / "model.json"
    if not Path(folder).is_dir():
        raise UserError(f"model folder {folder} not found; run `dvc repro` to train it")
    if not path.is_file():
        raise corrupt(path, "missing")
    try:
        meta = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise corrupt(path, f"not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(meta, dict):
        raise corrupt(path, f"expected a JSON object, got {type(meta).__name__}")
    if meta.get("model") != model:
        raise corrupt(path, f"field 'model' is {meta.get('model')!r}; expected {model!r}")
    check_labels(meta.get("labels"), path)
    return meta


def check_labels(labels, path: Path) -> None:
    """The saved label lists must be configs/labels.yaml's, in its order (it fixes class indices)."""
    expected = label_sets()
    if not isinstance(labels, dict) or set(labels) != set(TASKS):
        raise corrupt(path, f"field 'labels' must map {', '.join(TASKS)} to label lists")
    for task in TASKS:
        if labels[task] != expected[task]:
            raise corrupt(path, f"labels for {task!r} are {labels[task]!r} but configs/labels.yaml has "
                                f"{expected[task]!r}")


def field(meta: dict, path: Path, name: str, kind: type | tuple):
    """meta[name], which must be of `kind`."""
    value = meta.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise corrupt(path, f"field {name!r} has value {value!r}; expected {getattr(kind, '__name__', kind)}")
    return value


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_manifest(folder: Path, manifest) -> None:
    """Every file listed at save time is present and unchanged (tokenizer, encoder config)."""
    path = Path(folder) / "model.json"
    if not isinstance(manifest, dict) or not manifest:
        raise corrupt(path, "field 'files' (the saved files and their SHA-256) is missing")
    for name, digest in manifest.items():
        file = Path(folder) / name
        if not file.is_file():
            raise corrupt(file, "missing")
        if sha256(file) != digest:
            raise corrupt(file, "differs from the file saved with the model (SHA-256 mismatch)")


def read_sides(meta: dict, path: Path) -> dict | None:
    """The saved side table for stance decoding (pipeline/structure.py), or None."""
    sides = meta.get("sides")
    try:
        return None if sides is None else check_sides(sides)
    except ValueError as err:
        raise corrupt(path, f"field 'sides': {err}") from None
