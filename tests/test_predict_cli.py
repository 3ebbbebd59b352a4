"""`stance-predict`: output formats and one-line, exit-2 errors for every kind of bad input."""
import csv
import io
import json
import shutil
import subprocess
import sys

import pytest

from pipeline.core import config
from pipeline import api
from pipeline.core.config import TASKS, label_sets, params
from pipeline.core.errors import UserError
from pipeline.data.context import contexts
from pipeline.api import predict
from pipeline.inference import label_stream
from tests.conftest import run_cli


@pytest.fixture(autouse=True)
def _tiny_models(use_root):
    """Every test here labels with the tiny models (tests/conftest.py)."""


def test_jsonl_records_for_lines(capsys, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("Kyiv rejected the accusation.\n\nThe Kremlin said Ukraine attacked.\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "--lines", "--model", "baseline", "--target", "Ukraine attacked.", str(path))
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["sentence_id"] for r in records] == [0, 1]
    assert set(records[0]) >= {"sentence_id", "text", "speaker", "stance", "role", "scores", "model", "target"}
    assert records[0]["target"] == "Ukraine attacked." and records[0]["model"] == "baseline"
    for task in TASKS:
        assert set(records[0]["scores"][task]) == set(label_sets()[task])
        assert records[0][task] == max(records[0]["scores"][task], key=records[0]["scores"][task].get)


def test_article_text_is_segmented_like_prepare_and_default_target_is_used(capsys):
    code, out, _ = run_cli(capsys, "--model", "baseline", "--text", "Mr. Smith spoke to U.S. officials. Kyiv denied it.")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in records] == ["Mr. Smith spoke to U.S. officials.", "Kyiv denied it."]
    assert records[0]["target"] == params("predict")["target"]


def test_csv_and_table_formats(capsys):
    code, out, _ = run_cli(capsys, "--model", "baseline", "--format", "csv", "--lines", "--text", "Kyiv denied it.\nA, b.")
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 2 and table[1]["text"] == "A, b." and float(table[0]["stance_deny"]) >= 0
    code, out, _ = run_cli(capsys, "--model", "baseline", "--format", "table", "--text", "Kyiv denied it.")
    assert out.splitlines()[0].split()[:4] == ["id", "speaker", "stance", "role"] and "Kyiv denied it." in out


def test_standard_input(capsys, monkeypatch):
    code, out, _ = run_cli(capsys, "--model", "baseline", "-", stdin="Kyiv denied it. Moscow insisted.".encode(),
                           monkeypatch=monkeypatch)
    assert code == 0 and len(out.splitlines()) == 2


def test_long_input_streams_in_chunks_with_the_same_labels_as_one_chunk(capsys, monkeypatch, tmp_path):
    """Chunks of 3 give exactly the records of one chunk: each chunk's first sentence still gets
    the sentence before it (from the previous chunk) as context, as prepare gives it."""
    path = tmp_path / "long.txt"
    path.write_text("".join(f"Kyiv said attack number {i} was staged.\n" for i in range(10)), encoding="utf-8")
    whole = run_cli(capsys, "--model", "baseline", "--lines", str(path))[1]
    monkeypatch.setitem(config._params(str(config.PARAMS_FILE))["predict"], "chunk_size", 3)
    chunked = run_cli(capsys, "--model", "baseline", "--lines", str(path))[1]
    assert [json.loads(line)["sentence_id"] for line in chunked.splitlines()] == list(range(10))
    assert chunked == whole


class Recorder:
    """A model that records the rows it is given and labels everything alike."""
    name, sides = "recorder", None

    def __init__(self, context_sentences):
        self.context_sentences, self.rows = context_sentences, []
        self.labels = label_sets()

    def predict_proba(self, rows):
        import numpy as np
        self.rows += rows
        return {t: np.ones((len(rows), len(self.labels[t]))) for t in TASKS}


@pytest.mark.parametrize("window", [0, 1, 2, 3])
def test_the_stream_gives_every_sentence_the_context_prepare_gives_it(window):
    sentences = [f"Sentence {i}." for i in range(11)]
    model = Recorder(window)
    records = list(label_stream(model, iter(sentences), "T.", chunk_size=4, batch_size=3))
    assert [r["sentence_id"] for r in records] == list(range(11)) and [r["text"] for r in records] == sentences
    by_text = {row["text"]: row["context"] for row in model.rows}
    assert [by_text[s] for s in sentences] == contexts(sentences, window)


@pytest.mark.parametrize("args, stdin, message", [
    (["--text", "   \n "], None, "no text to label"),
    (["MISSING.txt"], None, "MISSING.txt: cannot read file"),
    (["--model", "gpt"], b"x", "unknown model 'gpt'"),
    (["--target", " ", "--text", "x"], None, "--target is empty"),
    (["--batch-size", "0", "--text", "x"], None, "--batch-size must be at least 1"),
    (["-"], "Kyiv said.\n".encode() + b"\xff\xfe bad", "stdin:2: invalid UTF-8 at byte offset 11"),
    (["-"], b"\x00\x01\x02binary", "binary data"),
    (["-"], b"", "no text to label"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, args, stdin, message):
    code, out, err = run_cli(capsys, "--model", "baseline", *args, stdin=stdin, monkeypatch=monkeypatch) \
        if "--model" not in args else run_cli(capsys, *args, stdin=stdin, monkeypatch=monkeypatch)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_missing_and_corrupt_models_say_run_dvc_repro(capsys, monkeypatch, tmp_path, models_root):
    monkeypatch.setattr(api, "ROOT", tmp_path)
    code, _, err = run_cli(capsys, "--model", "transformer", "--text", "x")
    assert code == 2 and "run `dvc repro`" in err and "models/transformer" in err
    shutil.copytree(models_root / "models" / "baseline", tmp_path / "models" / "baseline")
    (tmp_path / "models" / "baseline" / "model.skops").write_bytes(b"not a zip")
    code, _, err = run_cli(capsys, "--model", "baseline", "--text", "x")
    assert code == 2 and "model.skops" in err and "SHA-256 mismatch" in err and "dvc repro" in err


def test_no_input_on_a_terminal(capsys, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stdin", Tty())
    code, _, err = run_cli(capsys, "--model", "baseline")
    assert code == 2 and "no input" in err


def test_python_api_matches_the_command(capsys):
    text = "Moscow accused Kyiv of the attack. Kyiv denied it.\nThe White House said nothing."
    for model in ("baseline", "transformer"):
        records = predict(text, target="T.", model=model)
        code, out, _ = run_cli(capsys, "--model", model, "--target", "T.", "--text", text)
        assert code == 0 and [dict(r, source="text") for r in records] == [json.loads(line) for line in out.splitlines()]
    with pytest.raises(UserError, match="target is empty"):
        predict(["x"], target="", model="baseline")


def test_module_entry_point_has_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pipeline.commands.predict", "--target", " ",
                             str(tmp_path / "nope.txt")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ["error: --target is empty; give the claim stance is measured against"]
