import json

import numpy as np
import pandas as pd
import skops.io as sio

import pipeline
from pipeline.core import config
from pipeline.core.config import label_sets, params
from pipeline.inference import label_rows
from pipeline.models.baseline import ALLOWED_NODES, EXPECTED_UNTRUSTED, ActorTagger, load, save
from pipeline.models.checks import schema_nodes
from pipeline.stages.split import assign_folds
from pipeline.training.cv import out_of_fold
from pipeline.training.snapshot import model_info
from pipeline.evaluation.cards import card_text
from tests.conftest import make_rows, tiny_baseline


def test_fit_predict_save_load_roundtrip(tmp_path):
    rows, cfg, labels = make_rows(4), params("baseline"), label_sets()
    model = tiny_baseline(cfg, rows)
    probs = model.predict_proba(rows[:5])
    assert probs["speaker"].shape == (5, len(labels["speaker"]))
    assert np.allclose(probs["stance"].sum(axis=1), 1)
    preds = label_rows(model, rows)
    assert [p["speaker"] for p in preds] == [r["speaker"] for r in rows]
    save(model, tmp_path / "m", cfg)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.skops"]
    again = pipeline.load_model(tmp_path / "m")  # the type is read from the folder
    assert again.name == "baseline" and label_rows(again, rows) == preds
    assert len(load(tmp_path / "m").pipeline.named_steps["classifier"].estimators_) == 3
    card = card_text(tmp_path / "m", rows, [], {t: {"macro_f1": 0.5} for t in ("speaker", "stance", "role")})
    assert "library_name: sklearn" in card and "stance macro-F1" in card


def test_the_saved_pipeline_goes_from_raw_rows_to_labels_with_actor_tags_inside(tmp_path):
    """The pipeline alone, loaded with skops trusting exactly the types it reports, labels raw rows."""
    model = tiny_baseline()
    save(model, tmp_path, params("baseline"))
    untrusted = sio.get_untrusted_types(file=tmp_path / "model.skops")
    assert set(untrusted) == EXPECTED_UNTRUSTED
    pipe = sio.load(tmp_path / "model.skops", trusted=untrusted)
    assert [name for name, _ in pipe.steps] == ["actors", "features", "classifier"]
    frame = pd.DataFrame([{"text": "Putin said so.", "context": "(start of article)", "target": "t"}])
    assert pipe.named_steps["actors"].transform(frame)["text"][0] == "Putin (Russian side) said so."
    assert pipe.predict(frame).shape == (1, 3)
    assert schema_nodes(tmp_path / "model.skops") <= ALLOWED_NODES


def test_actor_tagger_tags_listed_names_only():
    table = {"tags": {"other": "third party", "russia": "Russian side"}, "sides": {"other": ["Costa"], "russia": ["Putin"]},
             "not_names": ["Costa Rica"]}
    frame = pd.DataFrame([{"text": "Costa met Putin's envoy in Costa Rica.", "context": "Putinism", "target": "Putin"}])
    out = ActorTagger(table).transform(frame)
    assert out["text"][0] == "Costa (third party) met Putin's (Russian side) envoy in Costa Rica."
    assert out["context"][0] == "Putinism" and out["target"][0] == "Putin"  # whole words; target untouched
    assert ActorTagger(None).transform(frame).equals(frame)


def test_model_json_records_context_width_and_no_live_config(tmp_path, monkeypatch):
    """The context width and stance decoding are the ones at training: editing the config between
    training and saving (or loading) changes nothing the model keeps."""
    model = tiny_baseline()
    trained = model_info(True)
    assert model.context_sentences == trained["context_sentences"] == 1 and model.sides == trained["sides"]
    live = params()
    edited = dict(live, prepare=dict(live["prepare"], context_sentences=3),
                  decode=dict(live["decode"], by_side=not live["decode"]["by_side"]))
    monkeypatch.setattr(config, "_params", lambda path: edited)
    now = model_info(True)
    assert now["context_sentences"] == 3 and now["sides"] != trained["sides"]  # the edit is live
    save(model, tmp_path, params("baseline"))
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["model"] == "baseline" and meta["context_sentences"] == 1 and meta["sides"] == trained["sides"]
    again = load(tmp_path)
    assert again.context_sentences == 1 and again.sides == trained["sides"]


def test_out_of_fold_predicts_every_real_row_once_with_fold_models():
    rows = make_rows(4)
    folds = assign_folds(rows, 4, 0, "speaker")
    seen = []
    oof = out_of_fold(rows, folds, lambda train, fold, test: seen.append((fold, train, test)) or tiny_baseline(rows=train))
    assert sorted(p["uid"] for p in oof) == sorted(r["uid"] for r in rows)
    assert [len(train) for _, train, _ in seen] == [15, 15, 15, 15]
    fold_of = {f["uid"]: f["fold"] for f in folds}
    for fold, train, test in seen:  # a fold's model never sees its held-out rows, which are all of the fold's
        assert {r["uid"] for r in test} == {u for u, f in fold_of.items() if f == fold}
        assert not {r["uid"] for r in train} & {r["uid"] for r in test}
    assert set(oof[0]["scores"]) == {"speaker", "stance", "role"}
