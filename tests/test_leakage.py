"""The development set (../shared/dev) must never be in the project's training data."""
import json
import re

import pytest

from pipeline.config import ROOT
from pipeline.jsonl import load_rows
from pipeline.segment import split_sentences

DEV = ROOT.parent / "shared" / "dev" / "labels.jsonl"


def normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


@pytest.mark.skipif(not DEV.is_file(), reason="../shared/dev is not present")
def test_no_dev_sentence_is_in_any_training_article():
    dev = {normalise(row["text"]) for row in load_rows(DEV)}
    training = []
    for folder in (ROOT / "seeds", ROOT / "data" / "synthetic" / "articles"):
        for path in folder.glob("*.txt"):
            training += [(path.name, s) for s in split_sentences(path.read_text(encoding="utf-8"))]
    assert len(training) > 500
    leaked = [(name, s) for name, s in training if normalise(s) in dev]
    assert not leaked, f"dev sentences found in training data: {leaked[:3]}"
    # Long fragments too: a dev sentence pasted inside a longer training sentence.
    corpus = normalise(" ".join(s for _, s in training))
    fragments = [d[:80] for d in dev if len(d) > 80]
    assert not [f for f in fragments if f in corpus]


def test_synthetic_rows_are_marked_and_have_their_own_group():
    prepared = ROOT / "data" / "prepare" / "sentences.jsonl"
    if not prepared.is_file():
        pytest.skip("run `dvc repro` first")
    rows = load_rows(prepared)
    for row in rows:
        assert row["synthetic"] == row["article_id"].startswith("syn_")
    groups = [row["group"] for row in rows]
    assert len(groups) == len(set(groups))
    meta = [json.loads(p.read_text()) for p in (ROOT / "data" / "synthetic" / "articles").glob("*.meta.json")]
    assert meta and all(m["synthetic"] is True for m in meta)
