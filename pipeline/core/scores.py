"""The flat score columns shared by every flat output (`stance-predict --format csv`, `stance-bulk`
Parquet): one column per task and label. Standard library only, so light readers of those files
(stance-summary) need not import the inference layer."""
from __future__ import annotations

from pipeline.core.config import TASKS


def score_columns(labels: dict[str, list[str]]) -> list[str]:
    """Per-label score columns of flat output: `<task>_<label>`."""
    return [f"{task}_{label}" for task in TASKS for label in labels[task]]
