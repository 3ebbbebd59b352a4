"""`stance-evaluate` on labelled files: validation located by file and line, no partial --out."""
import json

import pytest

from pipeline import predict as predict_module
from pipeline.errors import DataError
from pipeline.evaluate import cli_main, load_labelled

ROWS = [{"article_id": "a", "sentence_id": i, "text": text, "target": "Ukraine attacked the dam.",
         "speaker": speaker, "stance": stance, "role": "none"}
        for i, (text, speaker, stance) in enumerate([("Moscow accused Kyiv.", "russia", "support"),
                                                     ("Kyiv denied it.", "ukraine", "deny"),
                                                     ("The dam is old.", "narrator", "neutral")])]


def write(path, rows, raw: bytes = b""):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + raw)
    return path


def evaluate(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(list(args))
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


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
        load_labelled(write(tmp_path / "d.jsonl", rows, raw), 1)


@pytest.mark.parametrize("out", ["folder", "impossible"])
def test_a_bad_out_path_fails_before_scoring(capsys, tmp_path, monkeypatch, out):
    monkeypatch.setattr(predict_module, "load_model", lambda *a: pytest.fail("model loaded"))
    path = tmp_path if out == "folder" else tmp_path / "file.txt" / "metrics.json"
    (tmp_path / "file.txt").write_text("x")
    code, stdout, err = evaluate(capsys, "--data", str(write(tmp_path / "d.jsonl", ROWS)), "--out", str(path))
    assert code == 2 and stdout == "" and err.count("\n") == 1 and str(path) in err
