import json

import numpy as np
import pandas as pd
import skops.io as sio

import pipeline
from pipeline.core.config import label_sets, params
from pipeline.inference import predict_rows
from pipeline.models.baseline import ALLOWED_NODES, EXPECTED_UNTRUSTED, ActorTagger, load, save
from pipeline.models.files import schema_nodes
from pipeline.split import assign_folds
from pipeline.training.cv import out_of_fold
from pipeline.training.skops_card import write as write_baseline
from tests.conftest import make_rows, tiny_baseline


def test_fit_predict_save_load_roundtrip(tmp_path):
    rows, cfg, labels = make_rows(4), params("baseline"), label_sets()
    model = tiny_baseline(cfg, rows)
    probs = model.predict_proba(rows[:5])
    assert probs["speaker"].shape == (5, len(labels["speaker"]))
    assert np.allclose(probs["stance"].sum(axis=1), 1)
    preds = predict_rows(model, rows)
    assert [p["speaker"] for p in preds] == [r["speaker"] for r in rows]
    save(model, tmp_path / "m", cfg)
    write_baseline(tmp_path / "m", model.pipeline, cfg, {t: {"macro_f1": 0.5} for t in ("speaker", "stance", "role")})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["README.md", "model.json", "model.skops"]
    again = pipeline.load_model(tmp_path / "m")  # the type is read from the folder
    assert again.name == "baseline" and predict_rows(again, rows) == preds
    assert len(load(tmp_path / "m").pipeline.named_steps["classifier"].estimators_) == 3
    card = (tmp_path / "m" / "README.md").read_text()
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


def test_model_json_records_context_width_and_no_live_config(tmp_path):
    save(tiny_baseline(), tmp_path, params("baseline"))
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["context_sentences"] == 1 and meta["model"] == "baseline"


def test_out_of_fold_predicts_every_real_row_once_with_fold_models():
    rows = make_rows(4)
    folds = assign_folds(rows, 4, 0, "speaker")
    seen = []
    oof = out_of_fold(rows, folds, lambda train, fold, test: seen.append(len(train)) or tiny_baseline(rows=train))
    assert sorted(p["uid"] for p in oof) == sorted(r["uid"] for r in rows)
    assert seen == [15, 15, 15, 15]
    assert set(oof[0]["scores"]) == {"speaker", "stance", "role"}
