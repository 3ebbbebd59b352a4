"""The synthetic labels are the majority vote of their annotators, row for row."""
from pipeline.config import ROOT, TASKS
from pipeline.jsonl import load_rows
from pipeline.review import majority

REVIEW = ROOT / "data" / "review" / "synthetic_labels.jsonl"


def test_majority_vote():
    first = {"speaker": "russia", "stance": "support", "role": "claim"}
    second = {"speaker": "russia", "stance": "neutral", "role": "rebuttal"}
    third = {"speaker": "other", "stance": "neutral", "role": "none"}
    assert majority({"first": first, "second": None, "third": None}) == first
    # stance: second and third outvote the writer; role: all three differ, the writer's stays.
    assert majority({"first": first, "second": second, "third": third}) == {
        "speaker": "russia", "stance": "neutral", "role": "claim"}
    assert majority({"first": first, "second": second, "third": None}) == first


def test_synthetic_annotations_are_the_reviewed_majority():
    reviewed = {(r["article_id"], r["sentence_id"]): r for r in load_rows(REVIEW)}
    annotated = set()
    for path in sorted((ROOT / "data" / "synthetic" / "annotations").glob("*.jsonl")):
        for row in load_rows(path):
            key = (row["article_id"], row["sentence_id"])
            assert key in reviewed, f"{path.name}: sentence {row['sentence_id']} has no review row"
            assert {t: row[t] for t in TASKS} == majority(reviewed[key]), f"{path.name}: sentence {key[1]}"
            annotated.add(key)
    assert annotated == set(reviewed)
    assert sum(r["second"] is not None for r in reviewed.values()) == len(reviewed)
