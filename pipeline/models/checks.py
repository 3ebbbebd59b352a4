"""Model folders are untrusted input: their JSON is checked before use, errors name the file.
The SHA-256 manifest is pipeline/models/manifest.py; shapes against the tokenizer and weights,
pipeline/models/shapes.py."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError
from pipeline.core.textio import read_text
from pipeline.models.manifest import check_files, check_seal, corrupt
from pipeline.models.shapes import check_config, check_input_format, check_packed_context
from pipeline.models.side_decoding import check_sides

# Sentences before each one that a saved model reads as context: the project uses 1; more than 10
# would make every window mostly context (and a transformer's cut it away).
MAX_CONTEXT = 10
# schema.json of a .skops file, refused above this size before a byte is inflated: a baseline on
# ~3,000 sentences writes ~80 MB (its TF-IDF vocabularies as JSON), while a zip bomb of 1.5 MB
# inflates to gigabytes, and the JSON costs several times its size in memory once parsed.
MAX_SCHEMA_BYTES = 512 * 2**20
# The transformer's two weight files: the ONNX graph (CPU path) and the PyTorch checkpoint; each
# loader hashes its own, and every other file in the manifest.
WEIGHTS = ("model.onnx", "model.safetensors")
TRANSFORMER_FILES = ("config.json", "heads.safetensors", "tokenizer.json", "tokenizer_config.json", *WEIGHTS)


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


def check_context(meta: dict, path: Path) -> int:
    """The saved context width: a whole number of sentences from 0 to MAX_CONTEXT."""
    value = field(meta, path, "context_sentences", int)
    if not 0 <= value <= MAX_CONTEXT:
        raise corrupt(path, f"field 'context_sentences' has value {value!r}; expected 0 to {MAX_CONTEXT} sentences")
    return value


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
        size = archive.getinfo("schema.json").file_size  # the reader never inflates more than this
        if size > MAX_SCHEMA_BYTES:
            raise corrupt(path, f"its schema.json inflates to {size:,} bytes; expected at most {MAX_SCHEMA_BYTES:,}")
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


def read_transformer_meta(folder: Path, weights: str = "model.safetensors") -> dict:
    """A transformer folder's model.json, every field prediction uses checked, then its seal and the
    SHA-256 of every file the loader reads (`weights`: its weight file, of WEIGHTS)."""
    folder = Path(folder)
    meta = read_model_json(folder, "transformer")
    path = folder / "model.json"
    check_input_format(field(meta, path, "input_format", dict), path)
    width = check_context(meta, path)
    check_actors(meta.get("actors"), path)
    read_sides(meta, path)
    check_seal(meta, path)
    if meta["input_format"]["format"] == "packed":  # a sealed, consistent model.json that packs cannot serve
        try:
            check_packed_context(width)
        except UserError as err:
            raise corrupt(path, str(err)) from None
    check_files(folder, meta.get("files"), TRANSFORMER_FILES, tuple(w for w in WEIGHTS if w != weights))
    check_config(folder, meta["input_format"])
    return meta
