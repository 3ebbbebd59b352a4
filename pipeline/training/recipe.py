"""The transformer's training recipe: the shared run on the train-only (synthetic) rows, then per-model
fine-tuning on real rows, optionally distilled from a teacher trained by the same recipe.

Used alike by the stage (`train`: fold models and the final model), `fit_final` and the benchmarks,
so a benchmark's model is trained exactly as the stage's is.
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from pipeline.core.config import TASKS
from pipeline.data.schema import TRAIN_ONLY
from pipeline.models.transformer import TransformerModel
from pipeline.training.cv import join_folds, out_of_fold
from pipeline.training.finetune import Run, Trainer

log = logging.getLogger(__name__)


class Recipe:
    """The shared run on the rows of fold -1 (train-only), once, then `model(train_rows, seed)`: a model
    fine-tuned from it for `finetune_epochs` on those rows, ending at `finetune_interpolation` of the
    way from the shared state (WiSE-FT, see tuning.interpolate). Without train-only rows every model
    trains from the pretrained encoder for `epochs`. Held-out rows never reach their fold's model.

    With `distill_weight` > 0, a teacher (`TransformerConfig.teacher_config`: the pair model of before
    issue 15) is trained by this same recipe on the same rows with the same seed, and the student
    learns its probabilities on its training rows beside the labels (tuning.task_loss).
    """

    def __init__(self, rows: list[dict], fold_of: dict[str, int], trainer: Trainer, tag: str = ""):
        self.trainer, self.tag = trainer, tag
        cfg = trainer.cfg
        self.teacher = Recipe(rows, fold_of, trainer.for_teacher(), "teacher ") if cfg.distill_weight > 0 else None
        shared = [r for r in rows if fold_of[r["uid"]] == TRAIN_ONLY]
        self.real = [r for r in rows if fold_of[r["uid"]] != TRAIN_ONLY]
        self.start, self.shared = None, None
        if shared:
            log.info("%strain-only phase: %d shared rows, %d epochs", tag, len(shared), cfg.epochs)
            soft = self.teacher.shared_probabilities(shared) if self.teacher else None
            self.shared = trainer.fit(shared, Run(cfg.epochs, cfg.seed, f"{tag}train-only", soft=soft))
            self.start = {k: v.detach().clone() for k, v in self.shared.net.state_dict().items()}
        self.epochs = cfg.finetune_epochs if self.start is not None else cfg.epochs

    def model(self, train_rows: list[dict], seed: int, tag: str = "fit", monitor: Sequence[dict] = ()) -> TransformerModel:
        """A model fine-tuned on `train_rows` (see the class); `monitor` rows feed the learning curve only."""
        soft = self.teacher.probabilities(train_rows, seed, tag) if self.teacher else None
        run = Run(self.epochs, seed, self.tag + tag, self.start, self.trainer.cfg.finetune_interpolation, monitor, soft)
        return self.trainer.fit(train_rows, run)

    def probabilities(self, rows: list[dict], seed: int, tag: str) -> dict[str, np.ndarray]:
        """As a teacher: probabilities per task on `rows` of a model trained on them with `seed`."""
        return probabilities(self.model(rows, seed, tag), rows)

    def shared_probabilities(self, rows: list[dict]) -> dict[str, np.ndarray]:
        """As a teacher: probabilities per task on the shared rows of the shared run's model."""
        return probabilities(self.shared, rows)


def probabilities(model: TransformerModel, rows: list[dict]) -> dict[str, np.ndarray]:
    probs = model.predict_proba(rows)
    return {task: probs[task] for task in TASKS}


def train(rows: list[dict], folds: list[dict], trainer: Trainer,
          cross_validate: bool = True) -> tuple[list[dict], TransformerModel]:
    """The transformer stage's training: the shared run, one model per fold (their out-of-fold
    predictions) and the final model on every real row. Returns (out-of-fold predictions, final model)."""
    recipe = Recipe(rows, join_folds(rows, folds), trainer)
    seed = trainer.cfg.seed
    oof = out_of_fold(recipe.real, folds, lambda train_rows, fold, test: recipe.model(
        train_rows, seed + fold, f"fold {fold}", test)) if cross_validate else []
    return oof, recipe.model(recipe.real, seed, "final")


def fit_final(rows: list[dict], trainer: Trainer) -> TransformerModel:
    """The stage's final model alone, trained exactly as the stage trains it, without the
    cross-validation: for the benchmarks."""
    folds = [{"uid": r["uid"], "fold": TRAIN_ONLY if r["synthetic"] else 0} for r in rows]
    return train(rows, folds, trainer, cross_validate=False)[1]
