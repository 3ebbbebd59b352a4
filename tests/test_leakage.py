"""The development set (../shared/dev) and the hidden evaluation articles must never be in the
project's training data."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.config import ROOT
from pipeline.core.jsonl import load_rows
from pipeline.stages.prepare import prepare
from pipeline.data.segment import split_sentences

DEV = ROOT.parent / "shared" / "dev" / "labels.jsonl"
LEAKGUARD = ROOT.parent / "shared" / "leakguard" / "check.py"


def outside_the_workspace(path: Path) -> str:
    """Why a check of `path` (in the team's ../shared, beside the repo) cannot run here."""
    where = ("in CI (a clean clone without ../shared, so it is skipped there too)" if os.environ.get("CI")
             else "outside the team's workspace")
    return f"NOT CHECKED: {path} is absent {where}; run this test in the workspace, which has ../shared"


@pytest.mark.skipif(not LEAKGUARD.is_file(), reason=outside_the_workspace(LEAKGUARD))
def test_the_leak_guard_finds_no_evaluation_article_in_seeds_or_data():
    """One-way fingerprints of the dev and hidden articles (8-word windows, titles, sources)."""
    done = subprocess.run([sys.executable, str(LEAKGUARD), "seeds", "data"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1].endswith(": clean"), done.stdout[-2000:]


def normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


@pytest.mark.skipif(not DEV.is_file(), reason=outside_the_workspace(DEV))
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
    rows = prepare([ROOT / "seeds", ROOT / "data" / "synthetic" / "articles"],
                   [ROOT / "data" / "annotations", ROOT / "data" / "synthetic" / "annotations"], True, 1)
    for row in rows:
        assert row["synthetic"] == row["article_id"].startswith("syn_")
    groups = [row["group"] for row in rows]
    assert len(groups) == len(set(groups))
    meta = [json.loads(p.read_text()) for p in (ROOT / "data" / "synthetic" / "articles").glob("*.meta.json")]
    assert meta and all(m["synthetic"] is True for m in meta)
