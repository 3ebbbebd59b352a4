import pytest

from pipeline.metrics import macro_f1, score, score_task

LABELS = ["support", "deny", "neutral"]


def test_known_values():
    gold = ["support", "support", "deny", "neutral"]
    pred = ["support", "deny", "deny", "neutral"]
    m = score_task(gold, pred, LABELS, n_boot=200, seed=0)
    # support P=1 R=.5 F=.667; deny P=.5 R=1 F=.667; neutral F=1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3, abs=1e-4)
    assert m["accuracy"] == 0.75
    assert m["majority_label"] == "support"
    # majority predicts "support" everywhere: support F=2/3, deny 0, neutral 0
    assert m["majority_macro_f1"] == pytest.approx((2 / 3) / 3, abs=1e-4)
    assert m["per_class"]["deny"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    lo, hi = m["macro_f1_ci"]
    assert 0 <= lo <= m["macro_f1"] <= hi <= 1


def test_absent_classes_do_not_count_as_zero():
    assert macro_f1(["support", "deny"], ["support", "deny"], LABELS) == 1.0
    assert macro_f1(["support", "deny"], ["support", "neutral"], LABELS) == pytest.approx(1 / 3)


def test_perfect_predictions_have_a_degenerate_interval():
    gold = ["support", "deny", "neutral"] * 5
    assert score_task(gold, gold, LABELS, 100, 0)["macro_f1_ci"] == [1.0, 1.0]


def test_score_shape_and_bad_input():
    rows = [{"speaker": "us", "stance": "deny", "role": "none"}]
    labels = {"speaker": ["us"], "stance": LABELS, "role": ["none"]}
    assert set(score(rows, rows, labels, 10, 0)) == {"speaker", "stance", "role"}
    with pytest.raises(ValueError):
        score_task([], [], LABELS, 10, 0)
