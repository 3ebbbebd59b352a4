"""Saved models: the interface every model offers, and `load_model(folder)`.

A model folder's `model.json` names its type; `load_model` imports that type's module for the
device (the registry below: loading a baseline, or the transformer on the CPU through ONNX
Runtime, never imports torch) and loads the folder once per process. Every model offers:

- `labels`: {task: label list}, the column order of its probabilities;
- `predict_proba(rows) -> {task: array (rows x labels), "truncated": bool array (optional)}`,
  rows being {"text", "context", "target"} built by `pipeline.inference.make_rows`;
- `context_sentences`: how many sentences before each one it was trained to see;
- `sides`: the stance decoding it carries (pipeline/models/structure.py), or None;
- `name`: its type, as in model.json.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from pipeline.core.errors import UserError
from pipeline.models.files import read_model_type

# Model type (model.json "model") -> {device: the module with its load(folder)}.
TYPES = {"baseline": {"cpu": "pipeline.models.baseline", "cuda": "pipeline.models.baseline"},
         "transformer": {"cpu": "pipeline.models.transformer_onnx", "cuda": "pipeline.models.transformer"}}
DEVICES = ("auto", "cpu", "cuda")
_loaded: dict[str, object] = {}


def resolve_device(device: str) -> str:
    """cpu or cuda. `auto` is cuda only where an NVIDIA driver is present (checked without importing
    torch, which would cost the CPU path seconds) and torch sees a GPU."""
    if device not in DEVICES:
        raise UserError(f"unknown device {device!r}; expected one of: {', '.join(DEVICES)}")
    if device == "cpu" or (device == "auto" and not os.path.exists("/proc/driver/nvidia/version")):
        return "cpu"
    torch = importlib.import_module("torch")
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise UserError("--device cuda: no CUDA GPU is available to torch here; use --device cpu")
    return "cpu"


def load_model(folder: str | Path, device: str = "auto"):
    """The model saved in `folder`, whatever its type, for `device`; loaded once per process."""
    folder, where = Path(folder), resolve_device(device)
    key = f"{folder.resolve()}|{where}"
    if key not in _loaded:
        kind = read_model_type(folder, TYPES)
        module = importlib.import_module(TYPES[kind][where])
        _loaded[key] = module.load(folder, where)
    return _loaded[key]
