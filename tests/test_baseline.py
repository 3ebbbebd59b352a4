import numpy as np

from pipeline.baseline import fit, load, save
from pipeline.config import label_sets, params
from pipeline.cv import out_of_fold
from pipeline.predict import load_model, predict_rows
from pipeline.split import assign_folds
from tests.conftest import make_rows


def test_fit_predict_save_load_roundtrip(tmp_path):
    rows, cfg, labels = make_rows(4), params("baseline"), label_sets()
    model = fit(rows, cfg, labels)
    probs = model.predict_proba(rows[:5])
    assert probs["speaker"].shape == (5, len(labels["speaker"]))
    assert np.allclose(probs["stance"].sum(axis=1), 1)
    preds = predict_rows(model, rows)
    assert [p["speaker"] for p in preds] == [r["speaker"] for r in rows]
    save(model, tmp_path / "m", cfg)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.skops"]
    again = load_model("baseline", tmp_path / "m")
    assert predict_rows(again, rows) == preds
    assert len(load(tmp_path / "m").pipeline.named_steps["classifier"].estimators_) == 3


def test_out_of_fold_predicts_every_real_row_once_with_fold_models():
    rows = make_rows(4)
    folds = assign_folds(rows, 4, 0, "speaker")
    seen = []
    oof = out_of_fold(rows, folds, lambda train, fold, test: seen.append(len(train)) or fit(train, params("baseline"), label_sets()))
    assert sorted(p["uid"] for p in oof) == sorted(r["uid"] for r in rows)
    assert seen == [15, 15, 15, 15]
    assert set(oof[0]["scores"]) == {"speaker", "stance", "role"}
