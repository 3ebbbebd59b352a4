"""Per-epoch training loss, time and cross-validated macro-F1, written with DVCLive."""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from pipeline.core.config import TASKS
from pipeline.evaluation.f1 import macro_f1
from pipeline.inference import label_rows

log = logging.getLogger(__name__)


class TrainingLog:
    """What training runs report, by run tag ("train-only", "fold 0", ..., "final", "teacher ...")."""

    def __init__(self, labels: dict[str, list[str]]):
        self.labels = labels
        self.runs: dict[str, list[dict]] = defaultdict(list)  # tag -> per-epoch {loss, seconds}
        self.held_out: dict[int, list[tuple[dict, dict]]] = defaultdict(list)  # epoch -> (gold, predicted)

    def epoch(self, tag: str, epoch: int, loss: float, seconds: float) -> None:
        """One epoch of the run `tag`: its mean training loss and time."""
        self.runs[tag].append({"epoch": epoch + 1, "loss": round(loss, 4), "seconds": round(seconds, 2)})

    def predict_held_out(self, epoch: int, model, monitor: Sequence[dict]) -> None:
        """The model's labels of the `monitor` rows (a fold's held-out rows) after `epoch`: the
        learning curve only (`cv_curve`); nothing chooses anything by it."""
        if monitor:
            self.held_out[epoch].extend(zip(monitor, label_rows(model, list(monitor))))

    def cv_curve(self) -> list[dict]:
        """Macro-F1 of the pooled held-out predictions after each epoch, per task."""
        curve = []
        for epoch in sorted(self.held_out):
            pairs = self.held_out[epoch]
            curve.append({task: round(macro_f1([g[task] for g, _ in pairs], [p[task] for _, p in pairs],
                                                self.labels[task]), 4) for task in TASKS})
        return curve

    def summary(self) -> dict:
        folds = {t: r for t, r in self.runs.items() if t.startswith("fold")}
        per_fold = {t: round(sum(e["seconds"] for e in r), 2) for t, r in folds.items()}
        shared = sum(e["seconds"] for e in self.runs.get("train-only", []))
        return {"runs": dict(self.runs), "cv_macro_f1_by_epoch": self.cv_curve(), "train_only_seconds": round(shared, 2),
                "seconds_per_fold": per_fold,
                "mean_seconds_per_fold": round(sum(per_fold.values()) / max(len(per_fold), 1), 2)}

    def write(self, live_dir: Path, summary_path: Path) -> None:
        from dvclive import Live

        summary = self.summary()
        summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        curve = summary["cv_macro_f1_by_epoch"]
        folds = [r for t, r in self.runs.items() if t.startswith("fold")]
        epochs = max(len(r) for r in self.runs.values())
        with Live(dir=str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for e in range(epochs):
                fold_losses = [r[e]["loss"] for r in folds if len(r) > e]
                if fold_losses:
                    live.log_metric("cv/train_loss", sum(fold_losses) / len(fold_losses))
                for tag in ("train-only", "final"):
                    if len(self.runs.get(tag, [])) > e:
                        live.log_metric(f"{tag}/train_loss", self.runs[tag][e]["loss"])
                for task, value in (curve[e] if e < len(curve) else {}).items():
                    live.log_metric(f"cv/{task}_macro_f1", value)
                live.next_step()
