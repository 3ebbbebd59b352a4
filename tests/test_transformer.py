"""The transformer's real code path on tiny data, with the real packaged encoder and no network."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from pipeline.config import label_sets, params
from pipeline.multitask import load
from pipeline.predict import predict_rows
from pipeline.training_log import TrainingLog
from pipeline.transformer import class_weights, fit, interpolate
from pipeline.transformer_data import features
from tests.conftest import make_rows

TINY = {"epochs": 1, "batch_size": 4}


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def trained():
    cfg, labels = dict(params("transformer"), **TINY), label_sets()
    rows = make_rows(2)
    history = TrainingLog(labels)
    model = fit(rows, rows[:3], cfg, labels, "cpu", 0, history, "fold 0", {})
    return model, rows, cfg, history


def test_offline_variables_are_set():
    import pipeline.multitask  # noqa: F401 - importing sets them
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_training_and_prediction_touch_no_network(no_network):
    cfg, labels = dict(params("transformer"), **TINY), label_sets()
    rows = make_rows(1)
    model = fit(rows, [], cfg, labels, "cpu", 0, TrainingLog(labels), "final", {})
    preds = predict_rows(model, rows)
    assert len(preds) == len(rows) and set(preds[0]) == {"speaker", "stance", "role", "scores", "truncated"}


def test_cached_frozen_states_give_the_same_logits_as_the_full_encoder(trained):
    model, rows, cfg, _ = trained
    net = model.net.eval()
    batch = dict(model.encode(rows[:4])[0])
    full = net(**batch)
    states = net.frozen_states(batch, cfg["freeze_layers"])
    cached = net(hidden_states=states, attention_mask=batch["attention_mask"], start_layer=cfg["freeze_layers"])
    for task in full:
        assert torch.allclose(full[task], cached[task], atol=1e-4)


def test_feature_cache_is_shared_between_fits(trained):
    model, rows, cfg, _ = trained
    cache: dict = {}
    first = features(rows, model, cfg, cache)
    assert len(cache) == len(rows) and "hidden_states" in first[0]
    assert features(rows, model, cfg, cache)[0] is first[0]


def test_fine_tuning_from_a_start_ends_at_the_interpolated_weights(trained):
    model, rows, cfg, _ = trained
    start = {k: v.detach().clone() for k, v in model.net.state_dict().items()}
    labels = label_sets()

    def tuned(alpha):
        tune = dict(cfg, finetune_interpolation=alpha, learning_rate=1e-2, head_learning_rate=1e-1)
        return fit(rows, [], tune, labels, "cpu", 1, TrainingLog(labels), "final", {}, start).net.state_dict()

    plain, none, half = tuned(1.0), tuned(0.0), tuned(0.5)
    trainable = "heads.stance.weight"
    assert not torch.allclose(plain[trainable], start[trainable])  # fine-tuning moved it
    for key, value in start.items():
        assert torch.equal(none[key], value), key  # alpha 0: back to the start
        assert torch.allclose(half[key], (start[key] + plain[key]) / 2 if value.is_floating_point() else value,
                              atol=1e-6), key


def test_interpolate_keeps_integer_buffers():
    net = torch.nn.Module()
    net.register_buffer("ids", torch.arange(3))
    net.weight = torch.nn.Parameter(torch.ones(2))
    interpolate(net, {"ids": torch.zeros(3, dtype=torch.long), "weight": torch.zeros(2)}, 0.25)
    assert net.ids.tolist() == [0, 1, 2] and net.weight.tolist() == [0.25, 0.25]


def test_class_weights_balance_and_ignore_absent_labels():
    rows = [{"stance": "deny"}] * 3 + [{"stance": "support"}]
    weights = class_weights(rows, ["support", "deny", "neutral"], "stance")
    assert weights.tolist() == pytest.approx([2.0, 2 / 3, 0.0])


def test_history_records_loss_and_held_out_curve(trained):
    summary = trained[3].summary()
    assert summary["runs"]["fold 0"][0]["loss"] > 0
    assert set(summary["cv_macro_f1_by_epoch"][0]) == {"speaker", "stance", "role"}


def test_saved_model_reloads_in_a_new_process_with_the_same_predictions(trained, tmp_path):
    from pipeline.multitask import save

    model, rows, cfg, _ = trained
    save(model, tmp_path / "m", cfg)
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"model.safetensors", "config.json", "model.json", "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pkl", ".pt")) for name in names)
    expected = predict_rows(model, rows[:5])
    script = (
        "import json, sys; from pipeline.predict import load_model, predict_rows; "
        "rows = json.loads(sys.stdin.read()); "
        f"print(json.dumps(predict_rows(load_model('transformer', {str(tmp_path / 'm')!r}), rows)))"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(rows[:5]), capture_output=True,
                         text=True, check=True, env=env)
    again = json.loads(out.stdout)
    assert [{k: p[k] for k in ("speaker", "stance", "role")} for p in again] == \
        [{k: p[k] for k in ("speaker", "stance", "role")} for p in expected]
    for new, old in zip(again, expected):
        for task in ("speaker", "stance", "role"):
            assert new["scores"][task] == pytest.approx(old["scores"][task], abs=1e-3)


def test_corrupt_model_folder_is_a_clear_error(tmp_path):
    from pipeline.errors import UserError

    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(UserError, match="model.json: not valid JSON.*dvc repro"):
        load(tmp_path)
