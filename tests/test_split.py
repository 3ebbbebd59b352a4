from collections import Counter

import pytest

from pipeline.core.errors import UserError
from pipeline.data.schema import TRAIN_ONLY
from pipeline.stages.split import assign_folds
from tests.conftest import make_rows


def test_folds_are_deterministic_stratified_and_cover_real_rows():
    rows = make_rows(5)
    folds = assign_folds(rows, 5, seed=1, stratify="speaker")
    assert folds == assign_folds(rows, 5, seed=1, stratify="speaker")
    assert sorted(Counter(f["fold"] for f in folds).values()) == [5] * 5
    by_fold = {}
    for row, f in zip(rows, folds):
        by_fold.setdefault(f["fold"], Counter())[row["speaker"]] += 1
    assert all(counts == Counter({s: 1 for s in ("russia", "ukraine", "us", "other", "narrator")})
               for counts in by_fold.values())


def test_no_article_is_in_two_folds():
    rows = [dict(r, article_id=f"art{i % 7}") for i, r in enumerate(make_rows(6))]
    folds = assign_folds(rows, 3, seed=2, stratify="stance")
    fold_of = {}
    for row, f in zip(rows, folds):
        assert fold_of.setdefault(row["article_id"], f["fold"]) == f["fold"] and f["group"] == row["article_id"]
    assert set(fold_of.values()) == {0, 1, 2}


def test_groups_stay_together_and_synthetic_rows_train_only():
    rows = make_rows(4)
    derived = dict(rows[0], uid="a0:0:aug", synthetic=True, group=rows[0]["group"])
    synthetic = dict(rows[1], uid="syn:1", synthetic=True, group="syn:1")
    folds = {f["uid"]: f["fold"] for f in assign_folds(rows + [derived, synthetic], 4, 0, "stance")}
    assert folds["a0:0:aug"] == folds[rows[0]["uid"]] != TRAIN_ONLY
    assert folds["syn:1"] == TRAIN_ONLY


def test_too_few_rows_for_the_folds():
    with pytest.raises(UserError, match="1 events of real articles cannot fill 2 folds"):
        assign_folds(make_rows(1), 2, 0, "stance")


def test_no_event_is_in_two_folds():
    """Articles on one real-world event (another outlet's report of the same incident) share a fold."""
    rows = [dict(r, article_id=f"art{i % 8}", event=f"2025-01_event{i % 8 // 2}") for i, r in enumerate(make_rows(8))]
    folds = assign_folds(rows, 3, seed=2, stratify="stance")
    fold_of_event = {}
    for row, f in zip(rows, folds):
        assert fold_of_event.setdefault(row["event"], f["fold"]) == f["fold"]
        assert f["group"] == row["article_id"]
    assert set(fold_of_event.values()) == {0, 1, 2}


def test_too_few_events_for_the_folds():
    rows = [dict(r, event="2025-01_one") for r in make_rows(3)]
    with pytest.raises(UserError, match="1 events of real articles cannot fill 2 folds"):
        assign_folds(rows, 2, 0, "stance")
