"""Saved models: the interface every model offers (`Labeller`), and `load_model(folder)`.

A model folder's `model.json` names its type; `load_model` imports that type's module for the
device (the registry below: loading a baseline, or the transformer on the CPU through ONNX
Runtime, never imports torch) and loads the folder once per process. Whatever it loads is a
`Labeller`; tests/test_labeller.py checks the baseline, the PyTorch and the ONNX transformer
against it alike.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pipeline.core.errors import UserError
from pipeline.models.checks import read_model_type

if TYPE_CHECKING:
    import numpy as np


@runtime_checkable
class Labeller(Protocol):
    """What every model offers, trained or loaded; `pipeline.inference.label_rows` needs nothing else.

    - `name`: its type, as in model.json ("baseline", "transformer");
    - `labels`: {task: label list} for every task of `pipeline.core.config.TASKS`, the column order
      of its probabilities;
    - `context_sentences`: how many sentences before each one it was trained to see (its rows'
      `context`, built by `pipeline.inference.make_rows`);
    - `sides`: the stance decoding it carries (pipeline/models/side_decoding.py), or None;
    - `predict_proba(rows)`: rows being {"text", "context", "target"}; returns {task: float array
      (len(rows) x len(labels[task])), row i for rows[i], each row summing to 1} and optionally
      "truncated": a bool array (len(rows)), whether each sentence was cut to fit the model's input.
      A row's probabilities depend on that row alone (not on the others in the call, nor their order),
      and the same rows give the same probabilities.

    A model with `packed` true packs rows itself and also takes `batch_size` (sentences a pass);
    `label_rows` hands it every row at once, so with no rows it must give arrays of 0 rows. Other
    models are called in batches of at least one row.
    """

    name: str
    labels: dict[str, list[str]]
    context_sentences: int
    sides: dict | None

    def predict_proba(self, rows: list[dict]) -> dict[str, np.ndarray]: ...


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
