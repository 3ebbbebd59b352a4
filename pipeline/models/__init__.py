"""Saved models: the interface every model offers, and `load_model(folder)`.

A model folder's `model.json` names its type; `load_model` imports that type's module (the
registry below, so that loading a baseline never imports torch) and loads the folder once per
process. Every model offers:

- `labels`: {task: label list}, the column order of its probabilities;
- `predict_proba(rows) -> {task: array (rows x labels), "truncated": bool array (optional)}`,
  rows being {"text", "context", "target"} built by `pipeline.inference.make_rows`;
- `context_sentences`: how many sentences before each one it was trained to see;
- `sides`: the stance decoding it carries (pipeline/models/structure.py), or None;
- `name`: its type, as in model.json.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from pipeline.models.files import read_model_type

# Model type (model.json "model") -> the module with its load(folder).
TYPES = {"baseline": "pipeline.models.baseline", "transformer": "pipeline.models.transformer"}
_loaded: dict[str, object] = {}


def load_model(folder: str | Path, device: str | None = None):
    """The model saved in `folder`, whatever its type; loaded once per process and folder."""
    folder = Path(folder)
    key = f"{folder.resolve()}|{device}"
    if key not in _loaded:
        kind = read_model_type(folder, TYPES)
        module = importlib.import_module(TYPES[kind])
        _loaded[key] = module.load(folder, device) if device else module.load(folder)
    return _loaded[key]
