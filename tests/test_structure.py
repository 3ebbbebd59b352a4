"""Stance decoding by speaker side (pipeline/models/side_decoding.py)."""
import numpy as np
import pytest

from pipeline.core.config import params
from pipeline.inference import label_rows
from pipeline.models import side_decoding
from pipeline.models.side_decoding import apply_sides, check_sides, claimant_of, configured_sides, infer_claimant

SIDES = {"sides": params("decode")["sides"], "infer": True}


def record(speaker, stance, support=0.5, claim=0.5):
    scores = {"speaker": {s: (0.9 if s == speaker else 0.025) for s in ("russia", "ukraine", "us", "other", "narrator")},
              "stance": {"support": support, "deny": 1 - support, "neutral": 0.0},
              "role": {"claim": claim, "rebuttal": 1 - claim, "none": 0.0}}
    return {"speaker": speaker, "stance": stance, "role": "claim", "scores": scores}


def test_the_claimant_is_the_side_that_most_puts_the_target_forward():
    records = [record("russia", "support", 0.9, 0.9), record("ukraine", "support", 0.6, 0.2),
               record("narrator", "neutral")]
    assert infer_claimant(records) == "russia"
    assert claimant_of([{"target_by": "ukraine"}] * 3, records) == "ukraine"  # given beats inferred


def test_directions_follow_the_speaker_side_and_neutral_stays():
    rows = [{"article_id": "a"}] * 4
    records = [record("russia", "deny", 0.9, 0.9), record("ukraine", "support"), record("ukraine", "neutral"),
               record("narrator", "deny")]
    out = apply_sides(rows, records, SIDES)
    assert [r["stance"] for r in out] == ["support", "deny", "neutral", "deny"]
    assert [r["stance"] for r in records] == ["deny", "support", "neutral", "deny"]  # input untouched


def test_each_article_has_its_own_claimant():
    rows = [{"article_id": "a", "target_by": "russia"}, {"article_id": "b", "target_by": "ukraine"}]
    out = apply_sides(rows, [record("ukraine", "support"), record("ukraine", "deny")], SIDES)
    assert [r["stance"] for r in out] == ["deny", "support"]


def test_side_tables_are_checked():
    assert check_sides(SIDES) == SIDES
    with pytest.raises(ValueError, match="expected"):
        check_sides({"sides": {"russia": {"ukraine": "maybe"}}, "infer": True})
    with pytest.raises(ValueError, match="expected"):
        check_sides({"sides": {}, "infer": "yes"})


@pytest.mark.parametrize("by_side, infer", [(True, False), (True, True), (False, False), (False, True)])
def test_the_configured_decoding_follows_the_decode_params(monkeypatch, by_side, infer):
    table = {"us": {"us": "support", "russia": "deny"}}  # not the live table: the result must come from the params
    decode = {"by_side": by_side, "infer_claimant": infer, "sides": table}
    monkeypatch.setattr(side_decoding, "params", lambda section: decode if section == "decode" else params(section))
    assert configured_sides() == ({"sides": table, "infer": infer} if by_side else None)
    decode["sides"] = {"us": {"narrator": "support"}}  # the narrator is no side
    if by_side:
        with pytest.raises(ValueError, match="expected"):
            configured_sides()


def test_the_live_decoding_is_the_params_files():
    live = params("decode")
    assert configured_sides() == ({"sides": live["sides"], "infer": live["infer_claimant"]} if live["by_side"] else None)


def test_without_inference_only_articles_with_a_given_claimant_are_decoded():
    rows = [{"article_id": "a", "target_by": "russia"}, {"article_id": "b"}]
    out = apply_sides(rows, [record("ukraine", "support"), record("ukraine", "support")], dict(SIDES, infer=False))
    assert [r["stance"] for r in out] == ["deny", "support"]
    assert claimant_of([{}], [record("russia", "support", 0.9, 0.9)], infer=False) is None


class Stub:
    """A model that calls every sentence a Ukrainian support claim, with a side table."""

    def __init__(self, sides):
        self.labels, self.sides = {"speaker": ["russia", "ukraine", "us", "other", "narrator"],
                                   "stance": ["support", "deny", "neutral"], "role": ["claim", "rebuttal", "none"]}, sides

    def predict_proba(self, rows):
        n = len(rows)
        return {"speaker": np.tile([0.1, 0.6, 0.1, 0.1, 0.1], (n, 1)), "stance": np.tile([0.6, 0.3, 0.1], (n, 1)),
                "role": np.tile([0.6, 0.2, 0.2], (n, 1))}


def test_predict_rows_decodes_by_side_with_a_given_or_inferred_claimant():
    rows = [{"text": "x", "context": "y", "target": "t", "target_by": "russia"}] * 2
    assert [r["stance"] for r in label_rows(Stub(SIDES), rows)] == ["deny", "deny"]
    inferred = [{k: v for k, v in r.items() if k != "target_by"} for r in rows]
    assert [r["stance"] for r in label_rows(Stub(SIDES), inferred)] == ["support", "support"]
    assert [r["stance"] for r in label_rows(Stub(None), rows)] == ["support", "support"]
