"""Shared fixtures: tiny articles written to a temp folder."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.segment import split_sentences

TINY_TEXT = (
    "Moscow accused Kyiv of attacking a dam on Monday. Ukrainian officials rejected the claim as a lie.\n"
    "“It is another fabrication,” the foreign minister said.\n"
    "The dam lies on the Dnipro river.\n"
)
TINY_LABELS = [
    ("russia", "support", "claim"),
    ("ukraine", "deny", "rebuttal"),
    ("ukraine", "deny", "rebuttal"),
    ("narrator", "neutral", "none"),
]


def write_article(folder: Path, article_id: str, text: str, labels, target: str = "Ukraine attacked the dam.",
                  synthetic: bool = False, annotations: Path | None = None) -> Path:
    """Write <id>.txt, <id>.meta.json and its annotation file; return the annotation path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.txt").write_text(text, encoding="utf-8")
    meta = {"article_id": article_id, "target": target, "synthetic": synthetic}
    (folder / f"{article_id}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    annotations = annotations or folder.parent / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    path = annotations / f"{article_id}.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i, (sentence, (speaker, stance, role)) in enumerate(zip(split_sentences(text), labels)):
            row = {"article_id": article_id, "sentence_id": i, "text": sentence,
                   "speaker": speaker, "stance": stance, "role": role}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def tiny_article(tmp_path: Path) -> tuple[Path, Path]:
    """(articles folder, annotation file) of a four-sentence article."""
    path = write_article(tmp_path / "articles", "tiny", TINY_TEXT, TINY_LABELS)
    return tmp_path / "articles", path


def make_rows(n_per_class: int = 4) -> list[dict]:
    """Prepared-style rows, separable by wording, for fast model tests."""
    templates = [
        ("The Kremlin said Ukraine attacked the residence.", ("russia", "support", "claim")),
        ("Kyiv rejected the accusation as a lie.", ("ukraine", "deny", "rebuttal")),
        ("The White House said it had no information.", ("us", "neutral", "none")),
        ("NATO's chief called for calm.", ("other", "neutral", "none")),
        ("The region lies on the river.", ("narrator", "neutral", "none")),
    ]
    rows = []
    for k in range(n_per_class):
        for j, (text, (speaker, stance, role)) in enumerate(templates):
            uid = f"a{k}:{j}"
            rows.append({"uid": uid, "article_id": f"a{k}", "sentence_id": j, "text": f"{text} ({k})",
                         "context": "(start of article)", "target": "Ukraine attacked the residence.",
                         "speaker": speaker, "stance": stance, "role": role, "synthetic": False, "group": uid})
    return rows
