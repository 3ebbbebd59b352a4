"""Model folders are untrusted input: their JSON is checked before use, errors name the file."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError
from pipeline.models.structure import check_sides
from pipeline.core.textio import read_text
from pipeline.models.inputs import SECOND_MIN

REPAIR = "the model folder is damaged; run `dvc repro` (or `dvc checkout`) to restore it"


def corrupt(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}; {REPAIR}")


def first_line(err: Exception) -> str:
    """An exception's message, first line and at most 200 characters, or its type's name."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def read_model_json(folder: Path, model: str | None = None) -> dict:
    """`model.json` of a saved model: an object naming the model `model`, with its label lists
    (with `model` None: any JSON object)."""
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
    if model is None:  # only the type is wanted (read_model_type); its loader checks the rest
        return meta
    if meta.get("model") != model:
        raise corrupt(path, f"field 'model' is {meta.get('model')!r}; expected {model!r}")
    check_labels(meta.get("labels"), path)
    return meta


def check_labels(labels, path: Path) -> None:
    """The saved label lists: each task's labels, unique text, in the order of the model's outputs."""
    if not isinstance(labels, dict) or set(labels) != set(TASKS):
        raise corrupt(path, f"field 'labels' must map {', '.join(TASKS)} to label lists")
    for task in TASKS:
        names = labels[task]
        if (not isinstance(names, list) or len(names) < 2 or len(set(names)) != len(names)
                or not all(isinstance(n, str) and n for n in names)):
            raise corrupt(path, f"labels for {task!r} are {names!r}; expected a list of two or more distinct labels")


def read_model_type(folder: Path, types) -> str:
    """The type a model folder's model.json names (one of `types`)."""
    path = Path(folder) / "model.json"
    meta = read_model_json(folder)
    if meta.get("model") not in types:
        raise corrupt(path, f"field 'model' is {meta.get('model')!r}; expected one of: {', '.join(types)}")
    return meta["model"]


def check_actors(table, path: Path) -> dict | None:
    """The saved actor table ({"tags", "sides", "not_names"}) or None."""
    if table is None:
        return None
    ok = (isinstance(table, dict) and isinstance(table.get("tags"), dict) and isinstance(table.get("sides"), dict)
          and isinstance(table.get("not_names"), list)
          and all(side in table["tags"] and isinstance(names, list) and all(isinstance(n, str) and n for n in names)
                  for side, names in table["sides"].items()))
    if not ok:
        raise corrupt(path, 'field \'actors\' must be null or {"tags": {side: tag}, "sides": {side: [names]}, '
                            '"not_names": [names]}')
    return table


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


def schema_nodes(path: Path) -> set[tuple[str, str, str]]:
    """Every (loader, module, class) in a .skops file's schema, read as JSON without building objects."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                found.add((str(node["__loader__"]), str(node.get("__module__")), str(node.get("__class__"))))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def read_transformer_meta(folder: Path) -> dict:
    """A transformer folder's model.json, every field prediction uses checked, and its files' SHA-256."""
    folder = Path(folder)
    meta = read_model_json(folder, "transformer")
    path = folder / "model.json"
    fmt = field(meta, path, "input_format", dict)
    for name, kind in (("max_length", int), ("truncation", str), ("sep", str), ("pad", str)):
        field(fmt, path, name, kind)
    if fmt["truncation"] != "only_second" or fmt["max_length"] < 2 * SECOND_MIN:
        raise corrupt(path, f"input_format has truncation {fmt['truncation']!r} and max_length {fmt['max_length']}; "
                            f"expected 'only_second' and at least {2 * SECOND_MIN}")
    field(meta, path, "context_sentences", int)
    check_actors(meta.get("actors"), path)
    check_manifest(folder, meta.get("files"))
    return meta
