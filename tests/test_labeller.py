"""Every model is a `Labeller` (pipeline/models/__init__.py): one set of checks, in the spirit of
scikit-learn's `check_estimator`, run alike over the baseline, the PyTorch transformer and the ONNX
transformer saved by the `models_root` fixture."""
import numpy as np
import pytest

from pipeline.core.config import TASKS, label_sets
from pipeline.inference import label_rows, make_rows
from pipeline.models import TYPES, Labeller, baseline, transformer, transformer_onnx
from pipeline.models.side_decoding import check_sides
from tests.test_robustness import LONG

TEXTS = ["Moscow accused Kyiv of attacking a dam on Monday.", "Ukrainian officials rejected the claim as a lie.",
         "“It is another fabrication,” Zelensky said.", LONG, "The dam lies on the Dnipro river.", "Yes."]
LOADERS = {"baseline": lambda root: baseline.load(root / "baseline"),
           "transformer (PyTorch)": lambda root: transformer.load(root / "transformer", "cpu"),
           "transformer (ONNX Runtime)": lambda root: transformer_onnx.load(root / "transformer")}


@pytest.fixture(scope="module", params=list(LOADERS))
def model(request, models_root):
    return LOADERS[request.param](models_root / "models")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return make_rows(TEXTS, "Ukraine attacked the dam.", 1)


def test_it_is_a_labeller_with_the_documented_attributes(model):
    assert isinstance(model, Labeller)
    assert model.name in TYPES and isinstance(model.context_sentences, int) and model.context_sentences >= 0
    assert model.sides is None or check_sides(model.sides) == model.sides


def test_an_object_without_the_interface_is_not_a_labeller(model):
    class Partial:
        name, labels, context_sentences = model.name, model.labels, model.context_sentences

        def predict_proba(self, rows):
            return {}

    assert not isinstance(Partial(), Labeller)  # no `sides`
    Partial.sides = None
    assert isinstance(Partial(), Labeller)


def test_labels_are_every_task_in_the_configured_order(model):
    assert list(model.labels) == list(TASKS) and model.labels == label_sets()


def test_probabilities_have_one_row_per_input_row_summing_to_one(model, rows):
    probs = model.predict_proba(rows)
    assert set(probs) - {"truncated"} == set(TASKS)
    for task in TASKS:
        values = probs[task]
        assert values.shape == (len(rows), len(model.labels[task])) and np.issubdtype(values.dtype, np.floating)
        assert np.isfinite(values).all() and (values >= 0).all()
        assert np.allclose(values.sum(1), 1, atol=1e-5), task
    if "truncated" in probs:
        assert probs["truncated"].dtype == bool and probs["truncated"].shape == (len(rows),)
        assert probs["truncated"][TEXTS.index(LONG)] and not probs["truncated"][0]


def test_row_i_is_the_probabilities_of_rows_i_whatever_the_order_and_company(model, rows):
    probs = model.predict_proba(rows)
    order = [3, 0, 5, 2, 4, 1]
    shuffled = model.predict_proba([rows[i] for i in order])
    alone = {i: model.predict_proba([rows[i]]) for i in (0, 3)}  # the first, and the long one
    for task in TASKS:
        assert np.allclose(shuffled[task], probs[task][order], atol=1e-4), task
        for i, single in alone.items():
            assert np.allclose(single[task][0], probs[task][i], atol=1e-4), (i, task)


def test_the_same_rows_give_the_same_probabilities(model, rows):
    first, second = model.predict_proba(rows), model.predict_proba(rows)
    assert first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)


def test_no_rows_give_no_records(model):
    assert label_rows(model, []) == []
    if getattr(model, "packed", False):  # label_rows hands a packing model the empty list itself
        probs = model.predict_proba([])
        assert all(probs[task].shape == (0, len(model.labels[task])) for task in TASKS)


def test_label_rows_gives_each_row_its_arg_max_labels_and_scores(model, rows):
    probs = model.predict_proba(rows)
    records = label_rows(model, rows, batch_size=4)
    assert len(records) == len(rows)
    for i, record in enumerate(records):
        for task in TASKS:
            assert list(record["scores"][task]) == model.labels[task]
            if task != "stance" or not (model.sides and model.sides["infer"]):  # no claimant: no decoding
                assert record[task] == model.labels[task][int(probs[task][i].argmax())], (i, task)
        assert record["truncated"] == bool(probs.get("truncated", np.zeros(len(rows), bool))[i])
