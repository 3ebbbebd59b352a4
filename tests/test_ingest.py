"""`stance-ingest`: a collected, doubly annotated article into seeds/, data/annotations/ and data/review/."""
import json
from pathlib import Path

import pytest

from pipeline.commands import ingest as command
from pipeline.core.config import TASKS, label_sets
from pipeline.core.errors import DataError, UserError
from pipeline.core.jsonl import load_rows
from pipeline.data.articles import article_rows
from pipeline.data.ingest import check_events, collect, write
from pipeline.data.segment import split_sentences

TEXT = ("Russia said Ukraine shelled the plant. Kyiv denied it.\n"
        "The plant lies on the river. Inspectors said they saw damage.\n")
FIRST = [("russia", "support", "claim"), ("ukraine", "deny", "rebuttal"), ("narrator", "neutral", "none"),
         ("other", "neutral", "none")]
SECOND = FIRST[:3] + [("other", "support", "claim")]  # differs on sentence 3
META = {"article_id": "r_x_20250101_plant", "title": "Plant shelled", "outlet": "Example Wire", "date": "2025-01-01",
        "url": None, "source_corpus": "pages", "removed": "nothing", "target": "Ukraine shelled the plant.",
        "target_by": "russia", "event": "2025-01_plant_shelling", "synthetic": False}


def labelled(article_id: str, labels: list[tuple]) -> list[dict]:
    return [{"article_id": article_id, "sentence_id": i, "text": s, **dict(zip(TASKS, lab))}
            for i, (s, lab) in enumerate(zip(split_sentences(TEXT), labels))]


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def collection(folder: Path, article_id: str = META["article_id"], event: str = META["event"], third=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.txt").write_text(TEXT, encoding="utf-8")
    meta = dict(META, article_id=article_id, event=event)
    (folder / f"{article_id}.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    write_rows(folder / "labels" / "first" / f"{article_id}.jsonl", labelled(article_id, FIRST))
    write_rows(folder / "labels" / "second" / f"{article_id}.jsonl", labelled(article_id, SECOND))
    if third:
        write_rows(folder / "labels" / "third" / f"{article_id}.jsonl",
                   [{"sentence_id": 3, "speaker": "other", "stance": "neutral", "role": "none", "why": "a finding"}])
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    paths = {"seeds": tmp_path / "seeds", "annotations": tmp_path / "data" / "annotations",
             "review": tmp_path / "data" / "review" / "real_labels.jsonl"}
    for key in ("seeds", "annotations"):
        paths[key].mkdir(parents=True)
    return paths


def test_decided_labels_review_rows_and_text_as_collected(tmp_path, corpus):
    folder = collection(tmp_path / "incoming")
    item = collect(folder, META["article_id"], label_sets())
    write([item], corpus["seeds"], corpus["annotations"], corpus["review"], replace=False)
    aid = META["article_id"]
    assert (corpus["seeds"] / f"{aid}.txt").read_bytes() == (folder / f"{aid}.txt").read_bytes()
    assert (corpus["seeds"] / f"{aid}.meta.json").read_bytes() == (folder / f"{aid}.meta.json").read_bytes()
    # The written article prepares cleanly, with the agreed labels and the third's decision.
    rows = article_rows(corpus["seeds"] / f"{aid}.txt", corpus["annotations"] / f"{aid}.jsonl", label_sets(), 1)
    assert [tuple(r[t] for t in TASKS) for r in rows] == FIRST
    assert {r["event"] for r in rows} == {META["event"]} and {r["claimant"] for r in rows} == {"russia"}
    review = load_rows(corpus["review"])
    assert [r["third"] is not None for r in review] == [False, False, False, True]
    assert review[3]["second"] == dict(zip(TASKS, SECOND[3]))


def test_a_revision_overrides_and_must_say_why(tmp_path, corpus):
    folder = collection(tmp_path / "incoming")
    revision = folder / "labels" / "revised" / f"{META['article_id']}.jsonl"
    write_rows(revision, [{"sentence_id": 2, "speaker": "narrator", "stance": "neutral", "role": "claim",
                           "note": "guide change"}])
    item = collect(folder, META["article_id"], label_sets())
    assert item.annotations[2]["role"] == "claim" and item.review[2]["revised"]["note"] == "guide change"
    write_rows(revision, [{"sentence_id": 2, "speaker": "narrator", "stance": "neutral", "role": "claim"}])
    with pytest.raises(DataError, match="revised.*:1: field 'note' is missing"):
        collect(folder, META["article_id"], label_sets())


def test_disagreement_without_a_decision_is_refused(tmp_path):
    folder = collection(tmp_path / "incoming", third=False)
    with pytest.raises(DataError, match="third.*sentence 3: the two annotators differ"):
        collect(folder, META["article_id"], label_sets())


@pytest.mark.parametrize("field, value, message", [
    ("outlet", "", "field 'outlet' has value ''; a real article's meta must give its provenance"),
    ("date", "1 Jan 2025", "field 'date' has value '1 Jan 2025'; expected the publication date as YYYY-MM-DD"),
    ("event", "plant shelling", "field 'event' has value 'plant shelling'; expected the real-world event"),
    ("target_by", "kremlin", "field 'target_by' has value 'kremlin'; expected one of: russia, ukraine, us, other"),
])
def test_bad_meta_names_file_and_field(tmp_path, field, value, message):
    folder = collection(tmp_path / "incoming")
    path = folder / f"{META['article_id']}.meta.json"
    path.write_text(json.dumps(dict(META, **{field: value})), encoding="utf-8")
    with pytest.raises(DataError, match=f"{path.name}: {message}"):
        collect(folder, META["article_id"], label_sets())


def test_misaligned_labels_name_file_and_line(tmp_path):
    folder = collection(tmp_path / "incoming")
    rows = labelled(META["article_id"], SECOND)
    rows[1]["text"] = "Kyiv denied it!"
    write_rows(folder / "labels" / "second" / f"{META['article_id']}.jsonl", rows)
    with pytest.raises(DataError, match=r"second/r_x_20250101_plant.jsonl:2: field 'text' does not match sentence 1"):
        collect(folder, META["article_id"], label_sets())


def test_existing_article_replaced_only_when_asked_and_review_rows_not_doubled(tmp_path, corpus):
    item = collect(collection(tmp_path / "incoming"), META["article_id"], label_sets())
    write([item], corpus["seeds"], corpus["annotations"], corpus["review"], replace=False)
    with pytest.raises(UserError, match="already in the corpus.*--replace"):
        write([item], corpus["seeds"], corpus["annotations"], corpus["review"], replace=False)
    write([item], corpus["seeds"], corpus["annotations"], corpus["review"], replace=True)
    assert len(load_rows(corpus["review"])) == 4


def test_at_most_three_articles_an_event(tmp_path, corpus):
    folder = tmp_path / "incoming"
    items = [collect(collection(folder, f"r_x_2025010{k}_plant"), f"r_x_2025010{k}_plant", label_sets())
             for k in range(1, 5)]
    check_events(items[:3], corpus["seeds"], 3)
    with pytest.raises(UserError, match="event '2025-01_plant_shelling' would have 4 articles"):
        check_events(items, corpus["seeds"], 3)


def cli(monkeypatch, tmp_path, capsys, *args) -> tuple[int, str]:
    monkeypatch.setattr(command, "ROOT", tmp_path)
    try:
        command.main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_command_runs_the_overlap_check_and_writes_nothing_it_flags(tmp_path, corpus, monkeypatch, capsys):
    folder = collection(tmp_path / "incoming")
    flagging = tmp_path / "guard_flags.py"
    flagging.write_text("import sys\nprint(sys.argv[1], 'shares 9 shingles with dev-3')\nsys.exit(1)\n")
    code, out = cli(monkeypatch, tmp_path, capsys, folder, "--overlap-check", flagging)
    assert code == 2 and "overlap check flagged" in out and "dev-3" in out
    assert not any(corpus["seeds"].iterdir()) and not corpus["review"].exists()
    clean = tmp_path / "guard_clean.py"
    clean.write_text("print('checked: clean')\n")
    code, out = cli(monkeypatch, tmp_path, capsys, folder, "--overlap-check", clean)
    assert code == 0 and "ingested 1 articles (4 sentences, 1 decided by the third annotator)" in out
    assert len(load_rows(corpus["annotations"] / f"{META['article_id']}.jsonl")) == 4


def test_command_refuses_unknown_ids_and_missing_guard(tmp_path, corpus, monkeypatch, capsys):
    folder = collection(tmp_path / "incoming")
    code, out = cli(monkeypatch, tmp_path, capsys, folder, "--ids", "nope")
    assert code == 2 and "--ids: no article 'nope'" in out
    code, out = cli(monkeypatch, tmp_path, capsys, folder, "--overlap-check", tmp_path / "absent.py")
    assert code == 2 and "absent.py: no such file" in out
