import json
import subprocess
import sys

import pytest

from pipeline.core.errors import DataError
from pipeline.stages.prepare import prepare
from tests.conftest import TINY_LABELS, TINY_TEXT, write_article


def _edit(path, line_index, **changes):
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[line_index].update(changes)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def test_prepare_joins_text_labels_target_and_context(tiny_article):
    articles, annotations = tiny_article
    rows = prepare([articles], [annotations.parent], use_synthetic=True, window=1)
    assert [r["uid"] for r in rows] == ["tiny:0", "tiny:1", "tiny:2", "tiny:3"]
    assert rows[1]["context"] == rows[0]["text"]
    assert rows[0]["target"] == "Ukraine attacked the dam."
    assert (rows[2]["speaker"], rows[2]["stance"], rows[2]["role"]) == TINY_LABELS[2]
    assert not any(r["synthetic"] for r in rows)


def test_unknown_label_names_file_line_field_value_and_allowed(tiny_article):
    articles, annotations = tiny_article
    _edit(annotations, 2, stance="maybe")
    with pytest.raises(DataError) as err:
        prepare([articles], [annotations.parent], True, 1)
    message = str(err.value)
    assert f"{annotations}:3:" in message and "'stance'" in message and "'maybe'" in message
    assert "support, deny, neutral" in message


@pytest.mark.parametrize("change, expected", [
    ({"text": "Something else."}, "does not match sentence 1"),
    ({"sentence_id": 5}, "expected 1"),
    ({"speaker": None}, "'speaker' has value None"),
    ({"colour": "red"}, "unknown field 'colour'"),
])
def test_bad_rows_are_located(tiny_article, change, expected):
    articles, annotations = tiny_article
    _edit(annotations, 1, **change)
    with pytest.raises(DataError, match=expected):
        prepare([articles], [annotations.parent], True, 1)


def test_missing_and_extra_sentences(tiny_article):
    articles, annotations = tiny_article
    lines = annotations.read_text(encoding="utf-8").splitlines(keepends=True)
    annotations.write_text("".join(lines[:-1]), encoding="utf-8")
    with pytest.raises(DataError, match="missing sentence 3"):
        prepare([articles], [annotations.parent], True, 1)
    annotations.write_text("".join(lines + [lines[-1]]), encoding="utf-8")
    with pytest.raises(DataError, match=r":5: extra sentence"):
        prepare([articles], [annotations.parent], True, 1)


def test_synthetic_articles_are_marked_and_can_be_left_out(tmp_path, tiny_article):
    articles, annotations = tiny_article
    write_article(tmp_path / "syn", "syn_1", TINY_TEXT, TINY_LABELS, synthetic=True, annotations=tmp_path / "syn_ann")
    rows = prepare([articles, tmp_path / "syn"], [annotations.parent, tmp_path / "syn_ann"], True, 1)
    assert sum(r["synthetic"] for r in rows) == 4
    rows = prepare([articles, tmp_path / "syn"], [annotations.parent, tmp_path / "syn_ann"], False, 1)
    assert not any(r["synthetic"] for r in rows)


def test_annotations_without_article_are_refused(tiny_article):
    articles, annotations = tiny_article
    (annotations.parent / "orphan.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="orphan.jsonl: no article text"):
        prepare([articles], [annotations.parent], True, 1)


def test_command_prints_one_line_and_exits_2(tiny_article, tmp_path):
    articles, annotations = tiny_article
    _edit(annotations, 0, role="maybe")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.stages.prepare", "--articles", str(articles),
         "--annotations", str(annotations.parent), "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "tiny.jsonl:1:" in error_lines[0] and "'maybe'" in error_lines[0]


@pytest.mark.parametrize("where, damage, expected", [
    ("annotations", lambda p: p.write_bytes(p.read_bytes().replace(b"Dnipro", b"Dn\xffpro")), r"tiny.jsonl:4: invalid UTF-8"),
    ("text", lambda p: p.write_bytes(p.read_bytes().replace(b"Dnipro", b"Dn\xffpro")), r"tiny.txt:3: invalid UTF-8"),
    ("meta", lambda p: p.write_text("[1, 2]"), r"tiny.meta.json: expected a JSON object, got list"),
    ("meta", lambda p: p.write_text('{"target": "T.", "synthetic": "false"}'), r"'synthetic' has value 'false'"),
    ("meta", lambda p: p.write_text('{"target": "' + "x" * 5000 + '"}'), r"'target' is 5,000 characters long"),
    ("annotations", lambda p: p.write_text(""), r"tiny.jsonl: no annotation rows; the article has 4 sentences"),
])
def test_damaged_files_name_file_line_and_problem(tiny_article, where, damage, expected):
    articles, annotations = tiny_article
    damage({"annotations": annotations, "text": articles / "tiny.txt", "meta": articles / "tiny.meta.json"}[where])
    with pytest.raises(DataError, match=expected):
        prepare([articles], [annotations.parent], True, 1)


@pytest.mark.parametrize("change, expected", [
    ({"synthetic": "false"}, "field 'synthetic' has value 'false'; expected true or false"),
    ({"group": {}}, "field 'group' has value {}; expected a sentence uid"),
    ({"note": 3}, "field 'note' has value 3; expected text"),
])
def test_optional_fields_have_their_types(tiny_article, change, expected):
    articles, annotations = tiny_article
    _edit(annotations, 1, **change)
    with pytest.raises(DataError, match=f":2: {expected}"):
        prepare([articles], [annotations.parent], True, 1)


def test_a_missing_articles_folder_is_named(tiny_article, tmp_path):
    _, annotations = tiny_article
    with pytest.raises(DataError, match="nope: folder not found"):
        prepare([tmp_path / "nope"], [annotations.parent], True, 1)


@pytest.mark.parametrize("meta_change, expected", [
    ({"event": None}, "field 'event' has value None; expected the real-world event the article reports"),
    ({"event": "dam attack"}, "field 'event' has value 'dam attack'"),
    ({"target_by": "kremlin"}, "field 'target_by' has value 'kremlin'; expected one of: russia, ukraine, us, other"),
])
def test_real_articles_name_their_event_and_a_valid_claimant(tiny_article, meta_change, expected):
    articles, annotations = tiny_article
    path = articles / "tiny.meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**meta, **meta_change}), encoding="utf-8")
    with pytest.raises(DataError, match=f"tiny.meta.json: {expected}"):
        prepare([articles], [annotations.parent], use_synthetic=True, window=1)


def test_rows_carry_the_event_and_the_claimant_apart_from_target_by(tiny_article):
    articles, annotations = tiny_article
    path = articles / "tiny.meta.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), "target_by": "russia"}), encoding="utf-8")
    rows = prepare([articles], [annotations.parent], use_synthetic=True, window=1)
    assert {r["event"] for r in rows} == {"2025-01_tiny"} and {r["claimant"] for r in rows} == {"russia"}
    assert not any("target_by" in r for r in rows)  # prediction would decode with it: the CV must not see it
