"""The synthetic labels are the majority vote of their annotators, the real labels the two blind
annotators' agreement or the third annotator's decision, row for row."""
import json
from collections import Counter

import pytest

from pipeline.core.config import ROOT, TASKS, params
from pipeline.core.jsonl import load_rows
from pipeline.data.review import decision, majority

REVIEW = ROOT / "data" / "review" / "synthetic_labels.jsonl"
REAL_REVIEW = ROOT / "data" / "review" / "real_labels.jsonl"


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


def test_decision_takes_agreement_else_the_third():
    a = {"speaker": "russia", "stance": "support", "role": "claim"}
    b = {"speaker": "russia", "stance": "neutral", "role": "claim"}
    c = {"speaker": "other", "stance": "deny", "role": "none"}
    row = {"article_id": "x", "sentence_id": 0, "first": a, "second": b, "third": c}
    # Where both agree (speaker, role) their label stands; stance is the third's.
    assert decision(row) == {"speaker": "russia", "stance": "deny", "role": "claim"}
    assert decision(dict(row, second=a, third=None)) == a
    with pytest.raises(ValueError, match="no decision"):
        decision(dict(row, third=None))


def test_real_annotations_are_the_decisions_of_two_blind_annotators():
    """Every real article besides the seed has a review row per sentence, and its annotation file
    holds exactly the decision; each article's meta file records where the text came from."""
    reviewed = {(r["article_id"], r["sentence_id"]): r for r in load_rows(REAL_REVIEW)}
    articles = {aid for aid, _ in reviewed}
    assert len(articles) >= 40 and len(reviewed) >= 800
    for aid in sorted(articles):
        meta = json.loads((ROOT / "seeds" / f"{aid}.meta.json").read_text(encoding="utf-8"))
        assert meta["synthetic"] is False and meta["target_by"] in ("russia", "ukraine", "us", "other")
        assert all(meta.get(k) for k in ("outlet", "date", "source_corpus", "removed", "target", "event")), aid
        assert "title" in meta and "url" in meta, aid
        rows = load_rows(ROOT / "data" / "annotations" / f"{aid}.jsonl")
        assert {(aid, r["sentence_id"]) for r in rows} == {k for k in reviewed if k[0] == aid}
        for row in rows:
            assert {t: row[t] for t in TASKS} == decision(reviewed[(aid, row["sentence_id"])]), (aid, row["sentence_id"])


def test_every_real_article_names_its_event_and_no_event_has_more_than_three():
    """The corpus rule the event-grouped folds rely on (ingest.max_articles_per_event)."""
    events = Counter()
    for path in sorted((ROOT / "seeds").glob("*.meta.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        assert not meta.get("synthetic") and meta.get("event"), path.name
        events[meta["event"]] += 1
    assert max(events.values()) <= params("ingest")["max_articles_per_event"], events.most_common(3)
