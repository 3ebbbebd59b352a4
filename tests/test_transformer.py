"""The transformer's real code path on tiny data, with the real packaged encoder and no network."""
import copy
import json
import logging
import os
import subprocess
import sys

import pytest
import torch
from transformers import AutoModel

from pipeline.core.config import label_sets, params
from pipeline.core.errors import UserError
from pipeline.inference import label_rows
from pipeline.models.packing import pad, unpadded
from pipeline.models.network import MultiTaskNet
from pipeline.models.transformer import load, save
from pipeline.training.batching import features
from pipeline.training import finetune
from pipeline.training.tuning import class_weights, interpolate
from pipeline.training.training_log import TrainingLog
from tests.conftest import make_rows, tiny_transformer
from tests.test_model_files import reseal

TINY = {"batch_size": 4}


@pytest.fixture(scope="module")
def trained():
    cfg, labels = dict(params("transformer"), **TINY), label_sets()
    rows = make_rows(2)
    history = TrainingLog(labels)
    model = tiny_transformer(cfg, rows, history=history, tag="fold 0", monitor=rows[:3])
    return model, rows, cfg, history


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    folder = tmp_path_factory.mktemp("transformer") / "m"
    save(trained[0], folder, trained[2])
    return folder


def test_hub_offline_flag_is_on_inside_huggingface_hub_after_importing_the_training_code():
    """huggingface_hub reads HF_HUB_OFFLINE once, when it is imported: the flag must be set before."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    script = ("import pipeline.stages.train_transformer, huggingface_hub.constants as c, transformers.utils.hub as h; "
              "print(c.HF_HUB_OFFLINE, h.is_offline_mode())")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def test_the_checkpoint_loads_with_auto_model_and_matches_the_taggers_encoder(trained, saved, caplog):
    model, rows, _, _ = trained
    with caplog.at_level(logging.WARNING):
        encoder, info = AutoModel.from_pretrained(saved, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    assert not [r for r in caplog.records if "newly initialized" in r.getMessage() or "MISSING" in r.getMessage()]
    batch = {k: torch.from_numpy(v) for k, v in pad([unpadded(p) for p in model.pack(rows)[0]], 0).items()}
    pool = batch.pop("pool")
    pairs = model.encode(rows[:4], padding=True, return_tensors="pt")[0]
    with torch.no_grad():
        # The same weights: the encoder AutoModel loads equals the tagger's on ordinary inputs ...
        ours, theirs = model.net.eval().encoder(**pairs).last_hidden_state, encoder.eval()(**pairs).last_hidden_state
        assert torch.allclose(ours, theirs, atol=1e-5)
        # ... and a pack run through its layers, with the pack's masks, gives the tagger's logits.
        net = MultiTaskNet(encoder, model.labels, context_layer=model.net.context_layer)
        net.heads.load_state_dict(model.net.heads.state_dict())
        assert torch.allclose(net.eval()(**batch, pool=pool)["speaker"], model.net(**batch, pool=pool)["speaker"],
                              atol=1e-5)


def test_the_folder_holds_everything_prediction_needs(saved):
    meta = json.loads((saved / "model.json").read_text())
    assert meta["model"] == "transformer" and set(meta["labels"]) == {"speaker", "stance", "role"}
    cfg = params("transformer")
    assert meta["input_format"] == {"format": "packed", "attention": "block", "pool": "own", "max_length": cfg["max_length"],
                                    "pack_length": cfg["pack_length"], "context_layer": cfg["context_layer"],
                                    "truncation": "only_second", "sep": "[SEP]", "pad": "[PAD]", "cls": "[CLS]"}
    assert meta["context_sentences"] == 1 and "Putin" in meta["actors"]["sides"]["russia"]
    assert {"config.json", "tokenizer.json", "heads.safetensors"} <= set(meta["files"])
    names = {p.name for p in saved.iterdir()}
    assert {"model.safetensors", "heads.safetensors", "config.json", "model.json", "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pkl", ".pt")) for name in names)


def test_prediction_uses_the_saved_actor_list_not_the_live_config(trained, saved, tmp_path):
    """Editing configs/actors.yaml after training changes nothing a saved model sees."""
    model = load(saved)
    assert model.actors == trained[0].actors
    meta = json.loads((saved / "model.json").read_text())
    meta["actors"]["sides"]["russia"] = []
    copy = tmp_path / "m"
    copy.mkdir()
    for path in saved.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "model.json").write_text(json.dumps(meta))
    reseal(copy)  # model.json is sealed: a consistent edit, as retraining with the new table would write
    row = {"text": "Putin said so.", "context": "(start of article)", "target": "t"}
    assert load(saved).pack([row])[0][0]["ids"] != load(copy).pack([row])[0][0]["ids"]


def test_cached_frozen_states_give_the_same_logits_as_the_full_encoder(trained):
    model, rows, cfg, _ = trained
    net = model.net.eval()
    packs = model.pack(rows)[0]
    batch = {k: torch.from_numpy(v) for k, v in pad([unpadded(p) for p in packs], model.tokenizer.pad_token_id).items()}
    most = max(len(p["rows"]) for p in packs)
    assert batch["pool"].shape[:2] == (len(packs), most) and most > 1
    full = net(**batch)
    states = net.frozen_states(batch, cfg["freeze_layers"])
    cached = net(hidden_states=states, attention_mask=batch["attention_mask"], start_layer=cfg["freeze_layers"],
                 pool=batch["pool"])
    for task in full:
        assert full[task].shape == (len(packs), most, len(model.labels[task]))
        assert torch.allclose(full[task], cached[task], atol=1e-4)


def test_feature_cache_is_shared_between_fits(trained):
    model, rows, cfg, _ = trained
    cache: dict = {}
    first, members = features(rows, model, cfg["freeze_layers"], cache)
    assert len(cache) == len(first) == len(members) >= 1 and "hidden_states" in first[0]  # one entry a pack
    assert [p["rows"] for p in model.pack(rows)[0]] == members and sum(members, []) == list(range(len(rows)))
    assert features(rows, model, cfg["freeze_layers"], cache)[0][0] is first[0]


def test_a_pair_model_trains_and_predicts_one_sentence_an_input(pair_model):
    """packed: false keeps the pair input (one sentence; target [SEP] context an input)."""
    model = pair_model[0]
    assert not model.packed and model.input_format["format"] == "pair"
    rows = make_rows(1)
    probs = model.predict_proba(rows)
    assert probs["speaker"].shape == (5, len(model.labels["speaker"])) and "last_start" not in probs
    assert len(label_rows(model, rows)) == 5


def test_fine_tuning_from_a_start_ends_at_the_interpolated_weights(trained, monkeypatch):
    """One fit from a start with alpha 0.5: interpolation runs once, after training, on the fully
    fine-tuned weights (captured as it runs), and the model ends halfway between them and the start."""
    model, rows, cfg, _ = trained
    start = {k: v.detach().clone() for k, v in model.net.state_dict().items()}
    calls = []

    def spy(net, begin, alpha):
        calls.append(({k: v.detach().clone() for k, v in net.state_dict().items()}, begin, alpha))
        interpolate(net, begin, alpha)

    monkeypatch.setattr(finetune, "interpolate", spy)
    tune = dict(cfg, learning_rate=1e-2, head_learning_rate=1e-1)
    half = tiny_transformer(tune, rows, seed=1, start=start, interpolation=0.5, epochs=2).net.state_dict()
    assert len(calls) == 1 and calls[0][1] is start and calls[0][2] == 0.5
    plain = calls[0][0]  # the fine-tuned weights, after both epochs
    trainable = "heads.stance.weight"
    assert not torch.allclose(plain[trainable], start[trainable])  # fine-tuning moved it
    for key, value in start.items():
        assert torch.allclose(half[key], (start[key] + plain[key]) / 2 if value.is_floating_point() else value,
                              atol=1e-6), key
    net = copy.deepcopy(model.net)
    net.load_state_dict(plain)
    interpolate(net, start, 0.0)
    assert all(torch.equal(net.state_dict()[key], value) for key, value in start.items())  # alpha 0: the start


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


def test_saved_model_reloads_in_a_new_process_with_the_same_predictions(trained, saved):
    model, rows, _, _ = trained
    expected = label_rows(model, rows[:5])
    script = ("import json, sys, pipeline; from pipeline.inference import label_rows; "
              "rows = json.loads(sys.stdin.read()); "
              f"print(json.dumps(label_rows(pipeline.load_model({str(saved)!r}), rows)))")
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(rows[:5]), capture_output=True,
                         text=True, check=True)
    again = json.loads(out.stdout)
    for new, old in zip(again, expected):
        assert {k: new[k] for k in ("speaker", "stance", "role")} == {k: old[k] for k in ("speaker", "stance", "role")}
        for task in ("speaker", "stance", "role"):
            assert new["scores"][task] == pytest.approx(old["scores"][task], abs=1e-3)


def test_weights_that_do_not_fit_the_config_are_refused(saved, tmp_path):
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "m"
    copy.mkdir()
    for path in saved.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    weights = load_file(copy / "model.safetensors")
    save_file({f"tagger.{k}": v for k, v in weights.items()}, copy / "model.safetensors")  # all missing
    reseal(copy)  # past the SHA-256 manifest
    with pytest.raises(UserError, match="weights do not match config.json"):
        load(copy)


def test_corrupt_model_folder_is_a_clear_error(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(UserError, match="model.json: not valid JSON.*dvc repro"):
        load(tmp_path)
