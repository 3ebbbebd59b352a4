"""Distillation from a teacher (pipeline/training/recipe.py, tuning.task_loss) on tiny data. Which
rows a teacher trains on and predicts, fold by fold: tests/test_recipe.py."""
import numpy as np
import pytest
import torch

from pipeline.core.config import TASKS, label_sets, params
from pipeline.core.errors import UserError
from pipeline.data.schema import TRAIN_ONLY
from pipeline.training import finetune
from pipeline.training.finetune import Trainer
from pipeline.training.recipe import Recipe
from pipeline.training.training_log import TrainingLog
from pipeline.training.transformer_config import TransformerConfig
from pipeline.training.tuning import task_loss
from tests.conftest import make_rows, tiny_config, tiny_transformer


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
    cfg = tiny_config(distill_weight=0.5, teacher={"packed": False, "freeze_layers": 4})
    teacher = cfg.teacher_config()
    assert isinstance(teacher, TransformerConfig) and teacher.distill_weight == 0.0
    assert teacher.packed is False and teacher.freeze_layers == 4 and cfg.packed is True and cfg.freeze_layers == 2
    assert teacher.max_length == cfg.max_length and teacher.seed == cfg.seed
    assert teacher.teacher == {} and teacher.teacher_config() == teacher
    with pytest.raises(UserError, match=r"transformer\.teacher: unknown key\(s\) pakced"):
        tiny_config(teacher={"pakced": False})
    with pytest.raises(UserError, match=r"transformer\.teacher\.freeze_layers must be int, got '4'"):
        tiny_config(teacher={"freeze_layers": "4"})  # refused when read, not when a distilled run starts


def soft_targets(rows: list[dict], labels: dict) -> dict[str, np.ndarray]:
    """A teacher's probabilities unlike any other row's, each peaked at the row's own label."""
    rng = np.random.default_rng(0)
    return {t: np.array([0.4 * rng.dirichlet(np.ones(len(labels[t]))) + 0.6 * np.eye(len(labels[t]))[labels[t].index(r[t])]
                         for r in rows]) for t in TASKS}


def test_soft_targets_change_the_loss_by_distill_weight(monkeypatch):
    """Three fits from the same seed: without soft targets; with a teacher's at weight 0.5 (each
    task loss gets every row's own probabilities, beside its label, and the loss and weights change);
    with them at weight 0 (bit-identical to none)."""
    rows, labels = make_rows(1), label_sets()
    soft = soft_targets(rows, labels)
    calls = []
    real_loss = finetune.task_loss
    monkeypatch.setattr(finetune, "task_loss", lambda *args: calls.append(args) or real_loss(*args))

    def fit(weight: float, soft: dict | None):
        history, start = TrainingLog(labels), len(calls)
        model = tiny_transformer(tiny_config(distill_weight=weight), rows, history=history, soft=soft)
        return history.runs["fit"][0]["loss"], model.net.state_dict(), calls[start:]

    plain, taught, ignored = fit(0.5, None), fit(0.5, soft), fit(0.0, soft)
    assert plain[2] and all(teacher is None for _, _, _, teacher, _ in plain[2])
    seen = {t: [] for t in TASKS}
    for i, (logits, target, _, teacher, distill) in enumerate(taught[2]):
        real = target != -100
        assert distill == 0.5 and (teacher[real].argmax(-1) == target[real]).all()  # each row's own, beside its label
        seen[TASKS[i % len(TASKS)]] += teacher[real].tolist()
    for task in TASKS:  # every training row's probabilities, once in the epoch
        assert np.allclose(sorted(seen[task]), sorted(soft[task].astype(np.float32).tolist()), atol=1e-7), task
    assert taught[0] != plain[0]
    assert any(not torch.equal(taught[1][k], plain[1][k]) for k in plain[1])
    assert ignored[0] == plain[0] and all(torch.equal(ignored[1][k], plain[1][k]) for k in plain[1])


def test_a_distilled_recipe_trains_its_teacher_on_exactly_the_students_rows_and_learns_its_predictions(monkeypatch):
    """With real training (spied on): the teacher's runs come first, on the student's rows in the same
    order with the same seed, and the student learns that trained teacher's probabilities on them."""
    labels, calls, real_fit = label_sets(), [], Trainer.fit

    def spy(trainer, rows, run):
        model = real_fit(trainer, rows, run)
        calls.append((trainer.cfg, [r["uid"] for r in rows], run, model))
        return model

    monkeypatch.setattr(Trainer, "fit", spy)
    rows = make_rows(2)
    for row in rows[:6]:
        row["synthetic"] = True
    fold_of = {r["uid"]: TRAIN_ONLY if r["synthetic"] else 0 for r in rows}
    by_uid = {r["uid"]: r for r in rows}
    trainer = Trainer(tiny_config(epochs=1, finetune_epochs=1, distill_weight=0.5), labels, "cpu", {})
    recipe = Recipe(rows, fold_of, trainer)
    recipe.model(recipe.real, 13, "final")
    assert [run.tag for _, _, run, _ in calls] == ["teacher train-only", "train-only", "teacher final", "final"]
    for (t_cfg, t_rows, t_run, teacher), (s_cfg, s_rows, s_run, _) in (calls[:2], calls[2:]):
        assert t_rows == s_rows and t_run.seed == s_run.seed and t_run.soft is None
        assert t_cfg.packed is False and t_cfg.distill_weight == 0 and s_cfg == trainer.cfg
        expected = teacher.predict_proba([by_uid[uid] for uid in s_rows])
        assert all(np.array_equal(s_run.soft[t], expected[t]) for t in TASKS)
    assert calls[3][1] == [r["uid"] for r in rows[6:]]


@pytest.mark.parametrize("change", [{"distill_weight": 1.5}, {"distill_weight": -0.1}, {"finetune_interpolation": 2.0}])
def test_weights_outside_zero_to_one_are_refused_before_training(change):
    with pytest.raises(UserError, match=next(iter(change))):
        TransformerConfig.from_params(dict(params("transformer"), **change))
