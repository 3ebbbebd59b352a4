import pytest

from pipeline.evaluation.metrics import macro_f1, score, score_task

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


def test_intervals_resample_whole_articles():
    from pipeline.evaluation.metrics import resamples

    groups = ["a"] * 3 + ["b"] * 2 + ["c"] * 4
    for sample in resamples(groups, 20, 0):
        drawn = [groups[i] for i in sample]
        assert all(drawn.count(g) % {"a": 3, "b": 2, "c": 4}[g] == 0 for g in set(drawn))
        assert len(set(drawn)) >= 1 and len(sample) in range(6, 13)


def test_score_counts_articles_and_bootstraps_by_article_from_five():
    from pipeline.core.config import label_sets
    from pipeline.evaluation.metrics import score

    labels = label_sets()
    gold = [{"article_id": f"a{i // 4}", "speaker": "russia", "stance": ["support", "deny"][i % 2], "role": "none"}
            for i in range(24)]
    pred = [dict(g, stance="support") for g in gold]
    by_article = score(gold, pred, labels, 200, 0)
    assert by_article["stance"]["n_articles"] == 6 and by_article["stance"]["n"] == 24
    # Every article holds both classes in the same proportion, so whole-article resamples never move the score.
    assert by_article["stance"]["macro_f1_ci"][0] == by_article["stance"]["macro_f1_ci"][1]
    by_sentence = score([dict(g, article_id="one") for g in gold], pred, labels, 200, 0)
    assert by_sentence["stance"]["macro_f1_ci"][0] < by_sentence["stance"]["macro_f1_ci"][1]
