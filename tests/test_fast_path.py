"""The CPU prediction path (ONNX Runtime + tokenizers, no torch) gives the PyTorch model's labels,
and a one-sentence run loads nothing from training."""
import json
import subprocess
import sys

import numpy as np
import pytest

from pipeline.core.config import TASKS
from pipeline.inference import make_rows
from pipeline.models import transformer, transformer_onnx
from tests.conftest import run_cli
from tests.test_robustness import LONG

TEXTS = ["Moscow accused Kyiv of attacking a dam on Monday.", "Ukrainian officials rejected the claim as a lie.",
         "“It is another fabrication,” Zelensky said.", "The dam lies on the Dnipro river.", LONG, "Yes."]


@pytest.fixture(scope="module")
def both(models_root):
    folder = models_root / "models" / "transformer"
    return transformer.load(folder, "cpu"), transformer_onnx.load(folder)


@pytest.fixture(scope="module")
def pairs(pair_model):
    """The tiny model with pair inputs (transformer.packed: false), loaded both ways."""
    folder = pair_model[1]
    return transformer.load(folder, "cpu"), transformer_onnx.load(folder)


def test_both_paths_build_the_same_packs(both):
    torch_model, onnx_model = both
    rows = make_rows(TEXTS + [f"{LONG} {LONG}"], "Ukraine attacked the dam.", 1)
    ours, theirs = onnx_model.pack(rows), torch_model.pack(rows)
    # LONG (some 125 word-pieces) fills a 128-position segment alone, cut; so is twice LONG. A pack holds
    # sentences up to pack_length tokens, each once, in input order.
    assert ours == theirs and ours[1] == [False] * 4 + [True, False, True]
    assert sum((pack["rows"] for pack in ours[0]), []) == list(range(len(rows))) and len(ours[0]) > 1
    fmt = onnx_model.input_format
    assert all(len(pack["ids"]) <= fmt["pack_length"] or len(pack["rows"]) == 1 for pack in ours[0])
    assert all(max(pack["positions"]) < fmt["max_length"] for pack in ours[0])


def test_both_paths_build_the_same_pairs(pairs):
    torch_model, onnx_model = pairs
    rows = make_rows(TEXTS, "Ukraine attacked the dam.", 1)
    ours, cut = onnx_model.encode(rows)
    theirs, their_cut = torch_model.encode(rows, padding=True, return_tensors="np")
    assert cut == their_cut and cut[4] is True
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name


@pytest.mark.parametrize("fmt", ["packed", "pair"])
def test_onnx_probabilities_equal_the_pytorch_model(request, fmt):
    torch_model, onnx_model = request.getfixturevalue("both" if fmt == "packed" else "pairs")  # one model each
    assert torch_model.packed == onnx_model.packed == (fmt == "packed")
    rows = make_rows(TEXTS + [f"{LONG} {LONG}"], "Ukraine attacked the dam.", 1)
    ours, theirs = onnx_model.predict_proba(rows), torch_model.predict_proba(rows)
    for task in TASKS:
        assert np.allclose(ours[task], theirs[task], atol=1e-4), task
        assert (ours[task].argmax(1) == theirs[task].argmax(1)).all()
    assert (ours["truncated"] == theirs["truncated"]).all()


def test_one_sentence_imports_no_torch_sklearn_pandas_or_datasets(models_root):
    script = ("import sys, pipeline.api as p, pathlib; p.ROOT = pathlib.Path(%r)\n"
              "from pipeline.commands.predict import main\n"
              "try:\n    main(['--text', 'Kyiv denied it.', '--device', 'cpu'])\n"
              "except SystemExit as done:\n    assert not done.code, done.code\n"
              "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'sklearn', 'pandas',"
              " 'datasets', 'skops'})\n"
              "print(json.dumps(heavy), file=sys.stderr)\n" % str(models_root)).replace("import sys,", "import json, sys,")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
    assert json.loads(done.stdout)["model"] == "transformer"


def test_device_flag(use_root, capsys):
    code, out, _ = run_cli(capsys, "--device", "cpu", "--text", "Kyiv denied it.")
    assert code == 0 and json.loads(out)["speaker"]
    code, out, err = run_cli(capsys, "--device", "tpu", "--text", "Kyiv denied it.")
    assert code == 2 and out == "" and "--device" in err
    if not transformer_onnx.os.path.exists("/proc/driver/nvidia/version"):
        code, out, err = run_cli(capsys, "--device", "cuda", "--text", "Kyiv denied it.")
        assert code == 2 and out == "" and err.count("\n") == 1 and "no CUDA GPU" in err
