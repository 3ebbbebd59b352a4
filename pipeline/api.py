"""The public Python API and the product defaults shared by the commands: `predict`, the project's
model folders and batch sizes. Nothing in training imports this module, so editing it retrains
nothing."""
from __future__ import annotations

from pathlib import Path

from pipeline.core.config import ROOT, params
from pipeline.core.errors import UserError
from pipeline.data.schema import check_target
from pipeline.data.segment import split_sentences
from pipeline.inference import label_stream
from pipeline.models import TYPES, load_model

MODELS = tuple(TYPES)


def model_folder(name: str) -> Path:
    """models/<name>/ of the project, for a model named on the command line."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    return ROOT / "models" / name


def batch_size_for(model, given: int | None = None) -> int:
    """`given`, else the configured batch for the model's device (a GPU takes far larger batches)."""
    cfg = params("predict")
    return given or cfg["gpu_batch_size" if str(getattr(model, "device", "cpu")).startswith("cuda") else "batch_size"]


def predict(sentences: list[str] | str, target: str | None = None, model: str = "transformer",
            model_dir: Path | None = None, batch_size: int | None = None, target_by: str | None = None,
            device: str = "auto") -> list[dict]:
    """Label sentences (a list, in article order) or article text (a str, segmented like the seeds).
    `target_by`, the side making the target claim, lets stance be decoded by speaker side
    (pipeline/models/side_decoding.py); without it the model's own stance directions stand. `device`:
    auto, cpu (the transformer through ONNX Runtime) or cuda (PyTorch).

    Returns one record per sentence: sentence_id, text, speaker, stance, role, scores, truncated,
    model, target.
    """
    cfg = params("predict")
    target = check_target(cfg["target"] if target is None else target)
    if isinstance(sentences, str):
        sentences = split_sentences(sentences)
    sentences = [s.strip() for s in sentences if s and s.strip()]
    if not sentences:
        raise UserError("no text to label: the input is empty")
    loaded = load_model(Path(model_dir) if model_dir else model_folder(model), device)
    return list(label_stream(loaded, sentences, target, target_by, batch_size_for(loaded, batch_size), cfg["chunk_size"]))
