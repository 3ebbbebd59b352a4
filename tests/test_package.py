"""The package's shape: imports that point one way, exact DVC dependencies, offline for real."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.core.config import ROOT
from tests import import_graph as ig

GRAPH = ig.graph(ROOT)


def test_imports_point_one_way_down_the_layers():
    rank = {name: i for i, name in enumerate(ig.LAYERS)}
    for module, imported in GRAPH.items():
        for other in imported:
            if ig.layer(other) == "package" or ig.layer(module) == "package":
                continue
            assert not ig.is_stage_script(other), f"{module} imports the stage script {other}"
            assert rank[ig.layer(other)] <= rank[ig.layer(module)], f"{module} ({ig.layer(module)}) imports " \
                                                                     f"{other} ({ig.layer(other)}), a higher layer"


def test_no_import_cycle_and_no_project_import_inside_a_function():
    written = ig.explicit_graph(ROOT)
    for module in written:
        assert not ig.function_imports(ROOT, module), f"{module} imports project code inside a function"
        assert module not in ig.closure(written, written[module]), f"import cycle through {module}"


def test_the_package_root_imports_nothing_heavy():
    """`import pipeline` (every stage does) loads no layer: the API is imported on first use."""
    out = subprocess.run([sys.executable, "-c", "import sys, pipeline; print(sorted(m for m in sys.modules "
                          "if m.startswith('pipeline')))"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['pipeline']"


def declared_stages(root: Path) -> dict[str, tuple[str, set[str]]]:
    """stage name -> (module it runs, item, its declared deps), foreach stages expanded."""
    stages, out = yaml.safe_load((root / "dvc.yaml").read_text())["stages"], {}
    for name, stage in stages.items():
        for item in stage.get("foreach", [None]):
            body = stage.get("do", stage)
            text = yaml.safe_dump(body).replace("${item}", str(item)).replace("${key}", str(item))
            for field, value in (stage["foreach"][item] if isinstance(stage.get("foreach"), dict) else {}).items():
                text = text.replace(f"${{item.{field}}}", str(value))
            body = yaml.safe_load(text)
            module = body["cmd"].split("python -m ")[1].split()[0]
            out[f"{name}@{item}" if item else name] = (module, item, set(body["deps"]))
    return out


def test_dvc_deps_are_exactly_the_modules_and_configs_each_stage_reads():
    for stage, (module, item, deps) in declared_stages(ROOT).items():
        declared = {d for d in deps if d.startswith(("pipeline/", "configs/"))}
        assert declared == ig.stage_deps(ROOT, GRAPH, module), stage


def test_editing_the_api_commands_cards_or_scoring_retrains_nothing():
    """predict()'s module, the commands, the model cards, the bootstrap and the scoring settings are
    outside both training stages' deps."""
    stages = declared_stages(ROOT)
    product = {str(ig.module_path(ROOT, m).relative_to(ROOT)) for m in GRAPH if ig.layer(m) in ("commands", "api")}
    assert "pipeline/api.py" in product and "pipeline/commands/predict.py" in product
    evaluation = {f"pipeline/evaluation/{name}.py" for name in ("metrics", "scoring", "cards", "model_card", "skops_card")}
    for name in ("baseline", "transformer"):
        assert not stages[name][2] & (product | evaluation), name
    body = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert all("evaluate" not in body[name]["params"][0]["configs/params.yaml"] for name in ("baseline", "transformer"))


def network_off() -> list[str]:
    """A command prefix that runs without a network: `unshare -rn` where it works, else a socket guard."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if shutil.which(prefix[0]) and subprocess.run(prefix + ["true"], capture_output=True).returncode == 0:
            return prefix
    return []


GUARD = ("import socket\n"
         "def refuse(*a, **k): raise OSError('network access attempted')\n"
         "socket.socket.connect = refuse; socket.create_connection = refuse\n")


def test_one_training_and_one_prediction_with_the_network_shut_off(tmp_path):
    """A tiny training of the real encoder and a prediction by the saved model, in a process with no
    network (a new network namespace), and HF's offline switches cleared so they cannot hide a download."""
    script = tmp_path / "offline.py"
    script.write_text(
        ("" if network_off() else GUARD) +
        "import sys, json; sys.path.insert(0, %r)\n"
        "from tests.conftest import make_rows, tiny_transformer\n"
        "from pipeline.models.transformer import save\n"
        "import pipeline\n"
        "from pipeline.inference import label_stream\n"
        "save(tiny_transformer(), %r, {})\n"
        "model = pipeline.load_model(%r)\n"
        "print(json.dumps(list(label_stream(model, ['Kyiv denied it.'], 'T.'))))\n"
        % (str(ROOT), str(tmp_path / "m"), str(tmp_path / "m")))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    done = subprocess.run(network_off() + [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"sentence_id": 0' in done.stdout and "network access attempted" not in done.stderr


def test_network_off_really_has_no_network():
    prefix = network_off()
    if not prefix:
        pytest.skip("unshare is not available here; the socket guard is used instead")
    code = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"
    assert subprocess.run(prefix + [sys.executable, "-c", code], capture_output=True).returncode != 0
