"""Real input and tampered files (issue 12): every case ends labelled (exit 0) or with exit 2, one
line on stderr, no traceback and nothing on stdout. Model files are damaged in copies."""
import builtins
import csv
import errno
import io
import json
import shutil
import subprocess
import sys

import numpy
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import pipeline
import pipeline.models
from pipeline import api
from pipeline import inference as predict_module
from pipeline.commands import entry
from pipeline.core import config
from pipeline.data import segment
from pipeline.models import baseline, transformer, transformer_onnx
from pipeline.core.config import params
from pipeline.models.pair_inputs import SECOND_MIN, fit_sentences
from pipeline.core.errors import DataError, UserError
from pipeline.core.textio import decoded_lines
from tests.conftest import make_rows, predict_main, run_cli, tiny_baseline
from tests.test_model_files import reseal

# A real-length news sentence: 124 words, some 125 word-pieces once actor tags are added.
LONG = ("Speaking to reporters in Kyiv after a closed session of parliament on Tuesday, a senior Ukrainian "
        "official who asked not to be named because he was not authorised to discuss intelligence matters said "
        "that the drones launched overnight had been tracked from their launch sites in the Bryansk and Kursk "
        "regions, that air defence units had shot most of them down over the northern districts, and that the "
        "remaining aircraft had crashed into fields near the border without causing casualties, adding that the "
        "government would present the radar records, the recovered wreckage and the testimony of the crews to "
        "international partners and to the monitoring mission within days, and that the claim made by Moscow "
        "about an attack on the residence was, in his words, a fabrication meant to derail the talks.")


@pytest.fixture
def root(tmp_path, models_root, monkeypatch):
    """A private copy of the tiny models that a test may damage."""
    shutil.copytree(models_root / "models", tmp_path / "models")
    monkeypatch.setattr(api, "ROOT", tmp_path)
    pipeline.models._loaded.clear()
    return tmp_path


def one_line_error(code, out, err, *fragments):
    assert code == 2 and out == "" and "Traceback" not in err, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


def predict_fails(capsys, model, *fragments):
    one_line_error(*run_cli(capsys, "--model", model, "--text", "Kyiv denied it."), *fragments)


# 1. Code from a model file ------------------------------------------------------------------

def evil_pipeline(marker):
    """The probe's chain: an empty ColumnTransformer's output, ravelled, max(default=PAYLOAD), eval."""
    payload = f"open({str(marker)!r}, 'w').write('pwned')"
    pipe = Pipeline([("features", ColumnTransformer([])), ("ravel", FunctionTransformer(numpy.ravel)),
                     ("max", FunctionTransformer(builtins.max, kw_args={"default": payload})),
                     ("classifier", FunctionTransformer(builtins.eval))])
    return pipe.fit(pd.DataFrame({"text": ["a"], "context": ["b"], "target": ["c"]}))


def test_a_model_file_that_would_run_code_is_refused_before_any_object_is_built(root, capsys, monkeypatch, tmp_path):
    marker = tmp_path / "PWNED"
    path = root / "models" / "baseline" / "model.skops"
    sio.dump(evil_pipeline(marker), path)
    reseal(path.parent)  # a consistent edit: past the SHA-256 manifest, the allowlist must refuse it
    old_rule = ("sklearn.", "numpy.", "scipy.", "builtins.")
    assert all(t.startswith(old_rule) for t in sio.get_untrusted_types(file=path))  # the old check let it in
    monkeypatch.setattr(sio, "load", lambda *a, **k: pytest.fail("skops.load ran on a refused file"))
    code, out, err = run_cli(capsys, "--model", "baseline", "--text", "Kyiv denied it.")
    one_line_error(code, out, err, "model.skops: refusing to load", "tampered")
    assert not marker.exists()


def test_the_allowed_nodes_are_exactly_what_the_baseline_saves(tmp_path):
    found = set()
    for change in ({}, {"use_target": True, "use_context": False}, {"class_weight": None}, {"use_actors": False}):
        cfg = dict(params("baseline"), **change)
        baseline.save(tiny_baseline(cfg, make_rows(2)), tmp_path, cfg)
        found |= baseline.schema_nodes(tmp_path / "model.skops")
    assert found <= baseline.ALLOWED_NODES
    assert not any(loader == "FunctionNode" for loader, _, _ in baseline.ALLOWED_NODES)


@pytest.mark.parametrize("meta, fragment", [
    ({}, "field 'model' is None"),
    ([], "expected a JSON object, got list"),
    ({"model": "baseline", "labels": {"speaker": ["a"], "stance": [], "role": []}, "context_sentences": 1},
     "labels for 'speaker'"),
    ({"model": "baseline", "labels": config.label_sets()}, "field 'context_sentences' has value None"),
    ({"model": "baseline", "labels": config.label_sets(), "context_sentences": 1,
      "sides": {"sides": {"russia": {"ukraine": "eval"}}, "infer": True}}, "field 'sides'"),
    ({"model": "forest", "labels": config.label_sets()}, "field 'model' is 'forest'; expected one of"),
])
def test_baseline_model_json_of_the_wrong_shape(root, capsys, meta, fragment):
    (root / "models" / "baseline" / "model.json").write_text(json.dumps(meta))
    predict_fails(capsys, "baseline", "model.json", fragment, "dvc repro")


def test_baseline_classes_that_do_not_match_its_labels(root, capsys):
    pipe = baseline.load(root / "models" / "baseline").pipeline
    pipe.named_steps["classifier"].estimators_[1].classes_ = numpy.array(["maybe", "deny", "neutral"])
    sio.dump(pipe, root / "models" / "baseline" / "model.skops")
    reseal(root / "models" / "baseline")
    predict_fails(capsys, "baseline", "stance classifier predicts 'maybe'")


# 2. Long sentences ------------------------------------------------------------------------

def test_a_248_word_sentence_is_labelled_and_flagged(use_root, capsys):
    """Twice LONG (some 250 word-pieces) is more than a pack holds."""
    code, out, err = run_cli(capsys, "--model", "transformer", "--lines", "--text", f"{LONG} {LONG}")
    record = json.loads(out)
    assert code == 0 and record["text"] == f"{LONG} {LONG}" and record["truncated"] is True
    code, out, _ = run_cli(capsys, "--model", "transformer", "--text", "Kyiv denied it.")
    assert code == 0 and json.loads(out)["truncated"] is False


@pytest.mark.parametrize("backend", [transformer, transformer_onnx])
def test_truncation_cuts_target_and_context_first_then_the_sentence_tail(use_root, backend):
    model = backend.load(use_root / "models" / "transformer")
    tokenizer = transformer.load(use_root / "models" / "transformer").tokenizer  # to check the result
    short, long_second = "Kyiv denied it.", "target [SEP] " + "context " * 300
    out, cut = fit_sentences(model.pieces, model.special_tokens, [short, LONG, LONG], [long_second, long_second, "t"],
                             128)
    assert out[0] == short and cut == [False, True, True]  # a short sentence survives a huge context
    room = 128 - tokenizer.num_special_tokens_to_add(pair=True)
    kept = tokenizer(out[1], add_special_tokens=False)["input_ids"]
    assert LONG.startswith(out[1]) and len(kept) <= room - SECOND_MIN  # its tail went, its start stayed
    assert len(tokenizer(out[2], add_special_tokens=False)["input_ids"]) > len(kept)  # short second: more kept
    encoded = tokenizer(out, [long_second, long_second, "t"], truncation="only_second", max_length=128)
    assert all(len(ids) <= 128 for ids in encoded["input_ids"])


def test_a_megabyte_line_with_lines_is_refused_before_the_model_loads(use_root, capsys, no_model_load):
    code, out, err = run_cli(capsys, "--lines", "--text", "a" * 2**20)
    one_line_error(code, out, err, "text:1: sentence of 1,048,576 characters", "prepare.max_sentence_chars")


# 3. Tokenizer files -------------------------------------------------------------------------

@pytest.mark.parametrize("names", [["tokenizer.json"], ["tokenizer.json", "tokenizer_config.json"], ["config.json"]])
def test_missing_tokenizer_or_config_files_are_refused(root, capsys, names):
    for name in names:
        (root / "models" / "transformer" / name).unlink()
    predict_fails(capsys, "transformer", f"{names[0]}: missing", "dvc repro")


def test_a_changed_tokenizer_file_is_refused(root, capsys):
    path = root / "models" / "transformer" / "tokenizer.json"
    data = json.loads(path.read_text())
    data["model"]["vocab"] = dict(list(data["model"]["vocab"].items())[:5])
    path.write_text(json.dumps(data))
    predict_fails(capsys, "transformer", "tokenizer.json: differs from the file saved with the model")


@pytest.mark.parametrize("damage", ["truncate", "empty", "random"])
def test_damaged_weights(root, capsys, damage):
    """The CPU path reads model.onnx, the PyTorch path (GPU, training) model.safetensors: either
    damaged is one line naming the file."""
    for name in ("model.onnx", "model.safetensors"):
        path = root / "models" / "transformer" / name
        data = path.read_bytes()
        path.write_bytes({"truncate": data[:len(data) // 2], "empty": b"", "random": numpy.random.bytes(4096)}[damage])
    predict_fails(capsys, "transformer", "model.onnx: differs from the file saved with the model", "dvc repro")
    with pytest.raises(UserError, match="model.safetensors: differs from the file saved with the model.*dvc repro"):
        transformer.load(root / "models" / "transformer")


@pytest.mark.parametrize("meta, fragment", [
    ([], "expected a JSON object, got list"),
    ({}, "field 'model' is None"),
    ("labels", "labels for 'role'"),
    ("actors", "field 'actors' must be null"),
    ("context", "field 'context_sentences' has value '1'"),
    ("format", "field 'input_format' has value"),
])
def test_transformer_model_json_of_the_wrong_shape(root, capsys, meta, fragment):
    path = root / "models" / "transformer" / "model.json"
    saved = json.loads(path.read_text())
    if meta == "labels":
        meta = dict(saved, labels=dict(saved["labels"], role=["none", "none", "rebuttal"]))
    elif meta == "actors":
        meta = dict(saved, actors={"sides": ["Putin"]})
    elif meta == "context":
        meta = dict(saved, context_sentences="1")
    elif meta == "format":
        meta = dict(saved, input_format=[])
    path.write_text(json.dumps(meta))
    predict_fails(capsys, "transformer", "model.json", fragment)


# 4. No half output --------------------------------------------------------------------------

@pytest.mark.parametrize("second", ["missing", "empty", "binary", "folder"])
def test_a_bad_second_file_leaves_stdout_empty(use_root, capsys, tmp_path, second):
    good = tmp_path / "good.txt"
    good.write_text("Kyiv denied it.\n" * 50)
    bad = tmp_path / "bad.txt"
    if second == "empty":
        bad.write_text("")
    elif second == "binary":
        bad.write_bytes(b"\x00\x01binary")
    elif second == "folder":
        bad.mkdir()
    code, out, err = run_cli(capsys, "--model", "baseline", str(good), str(bad))
    one_line_error(code, out, err, str(bad))


def test_bad_utf8_after_many_lines_leaves_stdout_empty(use_root, capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(config._params(str(config.PARAMS_FILE))["predict"], "chunk_size", 16)
    path = tmp_path / "in.txt"
    path.write_bytes(b"Kyiv denied it.\n" * 2100 + b"bad \xff\n")
    one_line_error(*run_cli(capsys, "--model", "baseline", "--lines", str(path)), f"{path}:2101: invalid UTF-8")


def test_an_error_while_labelling_leaves_stdout_empty(use_root, capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(config._params(str(config.PARAMS_FILE))["predict"], "chunk_size", 4)
    calls = []
    real = predict_module.label_rows

    def flaky(model, rows, batch_size=64):
        calls.append(1)
        if len(calls) == 3:
            raise UserError("labelling failed")
        return real(model, rows, batch_size)

    monkeypatch.setattr("pipeline.inference.label_rows", flaky)
    one_line_error(*run_cli(capsys, "--model", "baseline", "--lines", "--text", "Kyiv denied it.\n" * 20),
                   "labelling failed")


# 5. Runaway time and memory -----------------------------------------------------------------

def test_long_paragraphs_reach_the_segmenter_in_bounded_pieces(monkeypatch, caplog):
    seen = []
    real = segment._segmenter().segment
    monkeypatch.setattr(segment._segmenter(), "segment", lambda text: seen.append(len(text)) or real(text))
    limit = segment.max_sentence_chars()
    sentences = segment.split_paragraph("Kyiv denied it again. " * 2000 + "x" * (3 * limit))
    assert max(seen) <= limit and len(seen) > 8  # pieces, never the whole 50 KB paragraph
    assert sentences[:2] == ["Kyiv denied it again."] * 2 and max(map(len, sentences)) <= limit
    warnings = [r for r in caplog.records if "cut at that length" in r.getMessage()]
    assert len(warnings) == 1 and "piece(s)" in warnings[0].getMessage()  # one line a paragraph, not one a cut
    seen.clear()
    assert segment.split_paragraph("Mr. Smith met U.S. officials. Kyiv denied it.") == \
        ["Mr. Smith met U.S. officials.", "Kyiv denied it."] and seen == [45]  # short: whole, as before


def test_a_file_without_line_breaks_is_never_read_whole():
    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"a" * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(DataError, match="line is longer than 1,000 bytes"):
        list(decoded_lines("endless", io.BufferedReader(stream, 512), 1000))
    assert stream.served < 4096


def test_dev_zero_is_binary_at_once(use_root, capsys):
    one_line_error(*run_cli(capsys, "--model", "baseline", "/dev/zero"), "/dev/zero:1: binary data")


# 6. One line instead of a traceback ------------------------------------------------------------

class FailingStdout(io.StringIO):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def write(self, text):
        raise self.error

    def fileno(self):
        raise io.UnsupportedOperation


@pytest.mark.parametrize("error, fragment", [(BrokenPipeError(errno.EPIPE, "Broken pipe"), "broken pipe"),
                                             (OSError(errno.ENOSPC, "No space left on device"), "No space left")])
def test_closed_pipe_and_full_disk(use_root, capsys, monkeypatch, error, fragment):
    monkeypatch.setattr(sys, "stdout", FailingStdout(error))
    with pytest.raises(SystemExit) as exit_info:
        predict_main(["--model", "baseline", "--text", "Kyiv denied it."])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and fragment in err


def test_real_dev_full_and_closed_pipe_in_a_process(models_root):
    script = (f"import pipeline.api as p; p.ROOT = __import__('pathlib').Path({str(models_root)!r}); "
              "from pipeline.commands.predict import main; main(['--model', 'baseline', '--lines', '-'])")
    text = "Kyiv denied it.\n" * 3000
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", script], input=text, stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2 and done.stderr.splitlines()[-1] == \
        "error: cannot write the output (No space left on device)" and "Traceback" not in done.stderr
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    _, err = proc.communicate(text)
    assert proc.returncode == 2 and err.splitlines()[-1].startswith("error: output closed") and "Traceback" not in err


def test_ctrl_c_while_the_command_imports(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt
    monkeypatch.setattr(entry.importlib, "import_module", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        entry.stance_predict()
    assert exit_info.value.code == 130 and capsys.readouterr().err == "error: interrupted\n"


# 8. Smaller -------------------------------------------------------------------------------

def test_bom_is_dropped(use_root, capsys, tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffKyiv denied it.\n".encode())
    code, out, _ = run_cli(capsys, "--model", "baseline", str(path))
    assert code == 0 and json.loads(out)["text"] == "Kyiv denied it."


def test_a_huge_target_is_refused_before_the_model_loads(use_root, capsys, no_model_load):
    one_line_error(*run_cli(capsys, "--target", "x" * 100_000, "--text", "Kyiv denied it."),
                   "--target is 100,000 characters long", "prepare.max_target_chars")


def test_input_errors_come_before_the_model_loads(use_root, capsys, no_model_load, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Kyiv denied it.\n")
    one_line_error(*run_cli(capsys, str(good), str(tmp_path / "missing.txt")), "missing.txt: cannot read file")


def test_csv_cells_cannot_be_formulas_and_table_has_no_control_characters(use_root, capsys):
    text = "=HYPERLINK(\"http://x\")\n@SUM(A1)\n+1 said Kyiv\n-2 said Kyiv\n\x1b[31mred\x1b[0m text"
    code, out, _ = run_cli(capsys, "--model", "baseline", "--lines", "--format", "csv", "--text", text)
    cells = [row["text"] for row in csv.DictReader(io.StringIO(out))]
    assert cells[:4] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'+1 said Kyiv", "'-2 said Kyiv"]
    code, out, _ = run_cli(capsys, "--model", "baseline", "--lines", "--format", "table", "--text", text)
    assert code == 0 and "\x1b" not in out and " [31mred [0m text" in out
