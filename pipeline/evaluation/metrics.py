"""The one metric function every model is scored with: macro-F1 (pipeline/evaluation/f1.py) with
article-bootstrap intervals, accuracy, the majority-class reference and per-class figures."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from pipeline.core.config import TASKS
from pipeline.evaluation.f1 import macro_f1

# Fewer articles than this and the interval resamples sentences instead: a bootstrap over one to
# four articles cannot say how another article would score.
MIN_ARTICLES = 5


def resamples(groups: list[str], n_boot: int, seed: int) -> list[np.ndarray]:
    """Row indices of `n_boot` bootstrap samples that draw whole groups (articles) with replacement:
    sentences of one article are not independent, so resampling them one by one would give
    intervals that are too narrow."""
    rng = np.random.default_rng(seed)
    names = sorted(set(groups))
    members = {name: [] for name in names}
    for i, group in enumerate(groups):
        members[group].append(i)
    rows = [np.asarray(members[name]) for name in names]
    return [np.concatenate([rows[j] for j in rng.integers(0, len(rows), len(rows))]) for _ in range(n_boot)]


def bootstrap_ci(y_true, y_pred, labels, n_boot: int, seed: int, level: float = 0.95,
                 groups: list[str] | None = None) -> list[float]:
    """Percentile interval of macro-F1 over articles (or, without groups, sentences) resampled with replacement."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    groups = groups if groups is not None else [str(i) for i in range(len(y_true))]
    scores = [macro_f1(y_true[i], y_pred[i], labels) for i in resamples(groups, n_boot, seed)]
    tail = (1 - level) / 2 * 100
    return [round(float(np.percentile(scores, tail)), 4), round(float(np.percentile(scores, 100 - tail)), 4)]


def point_scores(gold: list[dict], predicted: list[dict], label_sets: dict) -> dict:
    """Per task: macro-F1, accuracy and the majority-class reference, without an interval (model cards)."""
    return {task: point_task([g[task] for g in gold], [p[task] for p in predicted], label_sets[task]) for task in TASKS}


def point_task(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict:
    if len(y_true) != len(y_pred) or not y_true:
        raise ValueError(f"need equal, non-empty gold and predictions (got {len(y_true)} and {len(y_pred)})")
    values, counts = np.unique(y_true, return_counts=True)
    majority = str(values[np.argmax(counts)])
    return {"macro_f1": round(macro_f1(y_true, y_pred, labels), 4),
            "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "majority_macro_f1": round(macro_f1(y_true, [majority] * len(y_true), labels), 4),
            "majority_label": majority}


def score_task(y_true: list[str], y_pred: list[str], labels: list[str], n_boot: int, seed: int,
               groups: list[str] | None = None) -> dict:
    """macro-F1 with interval (resampling `groups`, the rows' articles, where given), accuracy,
    majority-class reference and per-class figures."""
    point = point_task(y_true, y_pred, labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "macro_f1": point["macro_f1"],
        "macro_f1_ci": bootstrap_ci(y_true, y_pred, labels, n_boot, seed, groups=groups),
        "accuracy": point["accuracy"],
        "majority_macro_f1": point["majority_macro_f1"],
        "majority_label": point["majority_label"],
        "n": len(y_true),
        "per_class": {
            label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                    "f1": round(float(f[i]), 4), "support": int(s[i])}
            for i, label in enumerate(labels)
        },
    }


def score(gold: list[dict], predicted: list[dict], label_sets: dict, n_boot: int = 1000, seed: int = 0) -> dict:
    """Score aligned gold and predicted rows on every task: the shape of metrics/<model>.json.
    Rows that name their article are bootstrapped by article."""
    groups = [g["article_id"] for g in gold] if all("article_id" in g for g in gold) else None
    out = {task: score_task([g[task] for g in gold], [p[task] for p in predicted], label_sets[task], n_boot, seed,
                            groups if groups and len(set(groups)) >= MIN_ARTICLES else None) for task in TASKS}
    for task in TASKS:
        out[task]["n_articles"] = len(set(groups)) if groups else None
    return out
