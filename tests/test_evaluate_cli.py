"""`stance-evaluate` on labelled files: validation located by file and line, no partial --out."""
import json

import pytest

from pipeline.commands.evaluate import main as cli_main
from pipeline.core.errors import DataError
from pipeline.evaluation.labelled import load_labelled, with_contexts
from tests.conftest import run_command

ROWS = [{"article_id": "a", "sentence_id": i, "text": text, "target": "Ukraine attacked the dam.",
         "speaker": speaker, "stance": stance, "role": "none"}
        for i, (text, speaker, stance) in enumerate([("Moscow accused Kyiv.", "russia", "support"),
                                                     ("Kyiv denied it.", "ukraine", "deny"),
                                                     ("The dam is old.", "narrator", "neutral")])]


def write(path, rows, raw: bytes = b""):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + raw)
    return path


def evaluate(capsys, *args):
    return run_command(cli_main, capsys, *args)


def test_scores_a_valid_file_and_writes_out(capsys, tmp_path, models_root):
    data, out = write(tmp_path / "d.jsonl", ROWS), tmp_path / "m" / "metrics.json"
    code, stdout, _ = evaluate(capsys, "--data", str(data), "--model", "baseline",
                               "--model-dir", str(models_root / "models" / "baseline"), "--out", str(out))
    assert code == 0 and "baseline stance: macro-F1" in stdout
    assert json.loads(out.read_text())["stance"]["n"] == 3


@pytest.mark.parametrize("rows, raw, expected", [
    (ROWS + ROWS[1:2], b"", r"d.jsonl:4: sentence 1 of article 'a' appears twice \(also at line 2\)"),
    ([ROWS[0], ROWS[2]], b"", r"d.jsonl:2: article 'a' has no sentence 1 but has sentence 2"),
    ([dict(ROWS[0], sentence_id=-1)], b"", r"d.jsonl:1: field 'sentence_id' has value -1"),
    ([ROWS[0], dict(ROWS[1], target="Another claim.")], b"", r"d.jsonl:2: article 'a' has a second target"),
    ([{k: v for k, v in ROWS[0].items() if k != "target"}], b"", r"field 'target' is missing; required fields: "
                                                                  r"article_id, sentence_id, text, target, speaker"),
    ([], b"", r"d.jsonl: no labelled rows"),
    ([], b"\n  \n", r"d.jsonl: no labelled rows"),
    (ROWS[:1], b'{"text": "caf\xe9"}\n', r"d.jsonl:2: invalid UTF-8 at byte offset"),
])
def test_bad_rows_are_located(tmp_path, rows, raw, expected):
    with pytest.raises(DataError, match=expected):
        load_labelled(write(tmp_path / "d.jsonl", rows, raw))


@pytest.mark.parametrize("out", ["folder", "impossible"])
def test_a_bad_out_path_fails_before_scoring(capsys, tmp_path, no_model_load, out):
    path = tmp_path if out == "folder" else tmp_path / "file.txt" / "metrics.json"
    (tmp_path / "file.txt").write_text("x")
    code, stdout, err = evaluate(capsys, "--data", str(write(tmp_path / "d.jsonl", ROWS)), "--out", str(path))
    assert code == 2 and stdout == "" and err.count("\n") == 1 and str(path) in err


def test_labelled_rows_come_back_in_article_order_with_their_context(tmp_path):
    shuffled = [ROWS[2], dict(ROWS[0], article_id="b"), ROWS[0], ROWS[1]]
    rows = with_contexts(load_labelled(write(tmp_path / "d.jsonl", shuffled)), 1)
    assert [(r["article_id"], r["sentence_id"]) for r in rows] == [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
    assert [r["context"] for r in rows] == ["(start of article)", ROWS[0]["text"], ROWS[1]["text"],
                                            "(start of article)"]
    wide = with_contexts(load_labelled(write(tmp_path / "d.jsonl", ROWS)), 2)
    assert wide[2]["context"] == f"{ROWS[0]['text']} {ROWS[1]['text']}"
    assert {r["uid"] for r in rows} == {"a:0", "a:1", "a:2", "b:0"} and not any(r["synthetic"] for r in rows)


def test_bad_data_fails_before_the_model_loads(capsys, tmp_path, no_model_load):
    code, stdout, err = evaluate(capsys, "--data", str(write(tmp_path / "d.jsonl", ROWS + ROWS[:1])))
    assert code == 2 and stdout == "" and "appears twice" in err


def test_unknown_model_name_is_one_line(capsys, tmp_path, no_model_load):
    code, _, err = evaluate(capsys, "--data", str(write(tmp_path / "d.jsonl", ROWS)), "--model", "gpt")
    assert code == 2 and "unknown model 'gpt'" in err
