"""The transformer's training recipe (pipeline/training/recipe.py) keeps every fold's held-out rows
away from the models scored on them, student and teacher alike. `fake_fit` records each training
run instead of training, so the whole cross-validation's data flow is checked in milliseconds."""
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import torch

from pipeline.core.config import TASKS, label_sets, params
from pipeline.core.errors import UserError
from pipeline.data.schema import TRAIN_ONLY
from pipeline.stages.split import assign_folds
from pipeline.training.finetune import Trainer
from pipeline.training.recipe import train
from pipeline.training.transformer_config import TransformerConfig
from tests.conftest import make_rows, tiny_config


def corpus() -> tuple[list[dict], list[dict]]:
    """Five articles: a0 synthetic (train-only), a1-a4 real in two folds, plus one synthetic row
    derived from a real sentence of a1, which must travel with a1's fold."""
    rows = make_rows(5)
    for row in rows:
        if row["article_id"] == "a0":
            row.update(synthetic=True, article_id="syn_a0")
    source = next(r for r in rows if r["article_id"] == "a1")
    rows.append(dict(source, uid="syn_x:0", article_id="syn_x", text=source["text"] + " (reworded)",
                     synthetic=True, group=source["uid"]))
    return rows, assign_folds(rows, 2, 0, "speaker")


def uids(rows: list[dict]) -> list[str]:
    return [row["uid"] for row in rows]


@pytest.mark.parametrize("distill_weight", [0.0, 0.5])
def test_no_fold_model_or_its_teacher_trains_on_a_row_of_its_held_out_fold(fake_fit, distill_weight):
    rows, folds = corpus()
    fold_of = {f["uid"]: f["fold"] for f in folds}
    assert fold_of["syn_x:0"] == fold_of["a1:0"] != TRAIN_ONLY and fold_of["a0:0"] == TRAIN_ONLY
    trainer = Trainer(tiny_config(distill_weight=distill_weight), label_sets(), "cpu", {})
    oof, _ = train(rows, folds, trainer)
    runs = {call.run.tag: call for call in fake_fit}
    roles = ("", "teacher ") if distill_weight else ("",)
    assert sorted(runs) == sorted(f"{role}{name}" for role in roles
                                  for name in ("train-only", "fold 0", "fold 1", "final"))
    for role in roles:
        assert set(uids(runs[f"{role}train-only"].rows)) == {u for u, f in fold_of.items() if f == TRAIN_ONLY}
        assert set(uids(runs[f"{role}final"].rows)) == {u for u, f in fold_of.items() if f != TRAIN_ONLY}
    for fold in (0, 1):
        held_out = [r for r in rows if fold_of[r["uid"]] == fold and not r["synthetic"]]
        student = runs[f"fold {fold}"]
        assert uids(student.run.monitor) == uids(held_out)  # the learning curve's rows: the fold's real rows
        assert sorted(student.model.predicted) == sorted(uids(held_out))  # out-of-fold predictions: those rows, once
        assert [p["uid"] for p in oof if p["fold"] == fold] == uids(held_out)
        for role in roles:
            run = runs[f"{role}fold {fold}"]
            trained = set(uids(run.rows))
            assert not trained & set(uids(held_out)), f"{role}fold {fold} trained on held-out rows"
            assert not {r["group"] for r in run.rows} & set(uids(held_out))  # nor on rows derived from them
            assert trained == {u for u, f in fold_of.items() if f not in (fold, TRAIN_ONLY)}
            shared = runs[f"{role}train-only"].model.net  # every model starts from its recipe's shared run
            assert torch.equal(run.run.start["weight"], shared.weight) and run.run.epochs == trainer.cfg.finetune_epochs
        if distill_weight:
            teacher = runs[f"teacher fold {fold}"]
            assert teacher.run.monitor == () and set(teacher.model.predicted) <= set(uids(teacher.rows))
    assert sorted(p["uid"] for p in oof) == sorted(r["uid"] for r in rows if not r["synthetic"])


def test_a_distilled_recipe_teaches_each_student_the_predictions_of_a_teacher_trained_on_its_rows(fake_fit):
    """The teacher of a run is trained first, on exactly the student's rows (same order) with the same
    seed, by the teacher's config; the student learns that teacher's probabilities on those rows."""
    rows, folds = corpus()
    trainer = Trainer(tiny_config(distill_weight=0.5), label_sets(), "cpu", {})
    train(rows, folds, trainer)
    tags = [call.run.tag for call in fake_fit]
    for name in ("train-only", "fold 0", "fold 1", "final"):
        teacher, student = (fake_fit[tags.index(f"{role}{name}")] for role in ("teacher ", ""))
        assert tags.index(f"teacher {name}") < tags.index(name)
        assert uids(teacher.rows) == uids(student.rows) and teacher.run.seed == student.run.seed
        assert teacher.cfg == trainer.cfg.teacher_config() and teacher.cfg.distill_weight == 0
        assert teacher.cfg.packed is False and student.cfg == trainer.cfg and teacher.run.soft is None
        expected = teacher.model.predict_proba(student.rows)
        for task in TASKS:
            assert student.run.soft[task].shape == (len(student.rows), len(trainer.labels[task]))
            assert np.array_equal(student.run.soft[task], expected[task]), (name, task)


def test_without_train_only_rows_every_model_trains_from_the_pretrained_encoder(fake_fit):
    rows, folds = corpus()
    real = [r for r in rows if not r["synthetic"]]
    train(real, folds, Trainer(tiny_config(), label_sets(), "cpu", {}))
    assert [call.run.tag for call in fake_fit] == ["fold 0", "fold 1", "final"]
    assert all(call.run.start is None and call.run.epochs == tiny_config().epochs for call in fake_fit)


def test_the_config_is_the_params_section_and_refuses_unknown_missing_or_mistyped_keys():
    live = params("transformer")
    cfg = TransformerConfig.from_params(live)
    assert cfg.as_params() == live and list(cfg.as_params()) == list(live)  # what model.json keeps
    with pytest.raises(FrozenInstanceError):
        cfg.epochs = 2
    wrong = {k: v for k, v in live.items() if k != "seed"} | {"epoch": 3}
    with pytest.raises(UserError) as error:
        TransformerConfig.from_params(wrong)
    assert str(error.value) == "transformer params: unknown key(s) epoch; missing key(s) seed (configs/params.yaml)"
    for key, value in {"epochs": "3", "packed": "false", "learning_rate": None, "batch_size": True}.items():
        with pytest.raises(UserError, match=f"transformer.{key} must be"):
            TransformerConfig.from_params(dict(live, **{key: value}))
    assert TransformerConfig.from_params(dict(live, distill_weight=1)).distill_weight == 1  # an int is a float
