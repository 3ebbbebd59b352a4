"""Macro-F1 as every score in the project computes it (its own module, so the training log's
learning curve uses it without making the bootstrap and the rest of the metrics a training dependency)."""
from __future__ import annotations

from sklearn.metrics import f1_score


def _present(y_true, y_pred, labels: list[str]) -> list[str]:
    """Labels seen in gold or predictions, in config order: macro-F1 averages over these only,
    so a class absent from the evaluated data does not count as a zero."""
    seen = set(y_true) | set(y_pred)
    return [label for label in labels if label in seen]


def macro_f1(y_true, y_pred, labels: list[str]) -> float:
    return float(f1_score(y_true, y_pred, labels=_present(y_true, y_pred, labels), average="macro", zero_division=0))
