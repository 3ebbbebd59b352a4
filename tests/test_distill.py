"""Distillation from a teacher (pipeline/training/recipe.py, finetune.task_loss) on tiny data."""
import numpy as np
import pytest
import torch

from pipeline.core.config import TASKS, label_sets, params
from pipeline.core.errors import UserError
from pipeline.data.schema import TRAIN_ONLY
from pipeline.training.finetune import task_loss
from pipeline.training.recipe import Recipe, teacher_config
from pipeline.training.training_log import TrainingLog
from pipeline.transformer import check_params
from tests.conftest import make_rows


def test_distill_weight_mixes_label_and_teacher_cross_entropy_ignoring_padding():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [9.0, 9.0, 9.0]])
    target = torch.tensor([0, 2, -100])  # the third row is padding
    teacher = torch.tensor([[0.2, 0.7, 0.1], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    weight = torch.ones(3)
    hard = torch.nn.functional.cross_entropy(logits[:2], target[:2])
    soft = -(teacher[:2] * torch.log_softmax(logits[:2], -1)).sum(-1).mean()
    assert torch.isclose(task_loss(logits, target, weight, None, 0.5), hard)
    assert torch.isclose(task_loss(logits, target, weight, teacher, 0.0), hard)
    assert torch.isclose(task_loss(logits, target, weight, teacher, 1.0), soft)
    assert torch.isclose(task_loss(logits, target, weight, teacher, 0.25), 0.75 * hard + 0.25 * soft)


def test_the_teacher_is_the_configured_pair_model_and_is_not_itself_distilled():
    cfg = dict(params("transformer"), distill_weight=0.5, teacher={"packed": False, "freeze_layers": 4})
    teacher = teacher_config(cfg)
    assert teacher["packed"] is False and teacher["freeze_layers"] == 4 and teacher["distill_weight"] == 0.0
    assert teacher["max_length"] == cfg["max_length"] and cfg["packed"] is True


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_a_distilled_recipe_trains_its_teacher_on_the_same_rows_first(weight):
    labels = label_sets()
    rows = make_rows(2)
    for row in rows[:6]:
        row["synthetic"] = True
    fold_of = {r["uid"]: TRAIN_ONLY if r["synthetic"] else 0 for r in rows}
    cfg = dict(params("transformer"), batch_size=4, epochs=1, finetune_epochs=1, distill_weight=weight)
    history = TrainingLog(labels)
    recipe = Recipe(rows, fold_of, cfg, labels, "cpu", {}, history)
    model = recipe.model(recipe.real, 13, "final")
    taught = {"teacher train-only", "teacher final"}
    assert (taught <= set(history.runs)) == (weight > 0) and {"train-only", "final"} <= set(history.runs)
    probs = model.predict_proba(recipe.real)
    assert all(np.allclose(probs[t].sum(1), 1, atol=1e-4) for t in TASKS)
    if weight:
        soft = recipe.teacher.probabilities(recipe.real, 13, "check")
        assert recipe.teacher.cfg["packed"] is False and soft["speaker"].shape == (len(recipe.real), len(labels["speaker"]))


@pytest.mark.parametrize("change", [{"distill_weight": 1.5}, {"distill_weight": -0.1}, {"finetune_interpolation": 2.0}])
def test_weights_outside_zero_to_one_are_refused_before_training(change):
    with pytest.raises(UserError, match=next(iter(change))):
        check_params(dict(params("transformer"), **change))
