"""One end-to-end run of the real pipeline (`dvc repro`) in a copy of the repo, with tiny params."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from contextlib import contextmanager

import pytest
import yaml
from datasets import load_dataset
from dvc.repo import Repo

from pipeline.core.config import ROOT, TASKS, label_sets
from tests import import_graph as ig
from tests.test_package import declared_stages

pytestmark = pytest.mark.e2e
KEEP = 4  # real articles kept in the copy (the first in sorted order, the seed among them)
TINY = {
    "prepare": {"use_synthetic": False},  # real articles only: the seed and KEEP - 1 others
    "split": {"n_folds": 2},
    "transformer": {"epochs": 1, "batch_size": 8},
    "evaluate": {"n_bootstrap": 50},
}


def run(cmd, cwd, check=True):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A fresh copy of the project's files (as git sees them), with tiny params, after `dvc repro`."""
    dest = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    for txt in sorted((dest / "seeds").glob("*.txt"))[KEEP:]:
        stem = txt.name.removesuffix(".txt")
        for path in (txt, dest / "seeds" / f"{stem}.meta.json", dest / "data" / "annotations" / f"{stem}.jsonl"):
            path.unlink()
    params_file = dest / "configs" / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    for section, values in TINY.items():
        params[section].update(values)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "copy"], dest)
    run(["dvc", "repro"], dest)
    return dest


def real_sentences(repo) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (repo / "data" / "annotations").glob("*.jsonl"))


def test_repro_writes_metrics_of_the_documented_shape(repo):
    n = real_sentences(repo)
    for model in ("baseline", "transformer"):
        metrics = json.loads((repo / "metrics" / f"{model}.json").read_text())
        assert set(metrics) == set(TASKS)
        for task in TASKS:
            m = metrics[task]
            assert {"macro_f1", "macro_f1_ci", "accuracy", "majority_macro_f1", "per_class"} <= set(m)
            assert m["n"] == n and m["n_articles"] == KEEP and m["macro_f1_ci"][0] <= m["macro_f1_ci"][1]
        oof = [json.loads(line) for line in (repo / "models" / model / "oof.jsonl").read_text().splitlines()]
        assert len(oof) == n and {p["fold"] for p in oof} == {0, 1}
    report = (repo / "reports" / "metrics.md").read_text()
    assert "| baseline | speaker |" in report and "| transformer | role |" in report and "overlap" in report
    assert f"{n} real sentences from {KEEP} real articles" in report
    assert "Unseen" not in report and json.loads((repo / "metrics" / "unseen" / "baseline.json").read_text()) == {}
    card = (repo / "reports" / "cards" / "transformer.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and header["library_name"] == "transformers"
    assert header["pipeline_tag"] == "text-classification" and header["model-index"][0]["results"]
    assert "macro-F1" in card and "Limits" in card
    assert (repo / "models" / "transformer" / "heads.safetensors").is_file()
    assert "library_name: sklearn" in (repo / "reports" / "cards" / "baseline.md").read_text()
    data = load_dataset(str(repo / "data" / "prepare" / "dataset"))
    assert data["real"].num_rows == n and data["real"].features["stance"].names == label_sets()["stance"]
    assert (repo / "plots" / "transformer" / "metrics.json").is_file()


def test_second_repro_runs_nothing(repo):
    out = run(["dvc", "repro"], repo).stdout
    assert "Running stage" not in out


def test_predict_command_on_the_trained_models(repo):
    for model in ("baseline", "transformer"):
        out = run([sys.executable, "-m", "pipeline.commands.predict", "--model", model, "--text",
                   "Kyiv rejected the claim. The Kremlin said drones attacked the residence."], repo).stdout
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["sentence_id"] for r in records] == [0, 1] and records[0]["model"] == model


@contextmanager
def edited(path: Path, text: str):
    """`path` holds `text` inside the block and its old content again after it (the shared repo is
    left as it was, so the tests do not depend on their order)."""
    old = path.read_bytes()
    path.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        path.write_bytes(old)


def test_unknown_label_stops_repro_with_one_located_line(repo):
    path = repo / "data" / "annotations" / "000_1ec38597c2fd01f3.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[6])
    row["stance"] = "maybe"
    lines[6] = json.dumps(row, ensure_ascii=False)
    with edited(path, "\n".join(lines) + "\n"):
        result = run(["dvc", "repro"], repo, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "000_1ec38597c2fd01f3.jsonl:7:" in output and "'maybe'" in output
    assert "Traceback" not in output
    assert "Running stage" not in run(["dvc", "repro"], repo).stdout  # restored: nothing to do


def changed_stages(repo: Path) -> set[str]:
    with Repo(str(repo)) as dvc:
        return {name.split(":")[-1] for name in dvc.status()}


def test_editing_any_module_makes_dvc_report_exactly_the_stages_that_import_it(repo):
    graph, stages = ig.graph(repo), declared_stages(repo)
    assert changed_stages(repo) == set()
    for module in sorted(graph):
        path = ig.module_path(repo, module)
        expected = {name for name, (script, item, _) in stages.items()
                    if str(path.relative_to(repo)) in ig.stage_deps(repo, graph, script)}
        with edited(path, path.read_text(encoding="utf-8") + "\n# an edit\n"):
            assert changed_stages(repo) == expected, module
    with edited(repo / "configs" / "labels.yaml", (repo / "configs" / "labels.yaml").read_text() + "\n# edit\n"):
        assert {"baseline", "transformer", "prepare"} <= changed_stages(repo)


def test_unseen_stage_switched_on_scores_the_final_models(repo, tmp_path):
    """The figures the README says to trust: the saved models on an external labelled file."""
    rows = [json.loads(line) for line in (repo / "data" / "annotations" / "000_1ec38597c2fd01f3.jsonl").read_text(
        encoding="utf-8").splitlines()]
    target = json.loads((repo / "seeds" / "000_1ec38597c2fd01f3.meta.json").read_text())["target"]
    data = tmp_path / "unseen.jsonl"
    data.write_text("".join(json.dumps(dict(r, article_id="u", target=target)) + "\n" for r in rows), encoding="utf-8")
    params_file = repo / "configs" / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["unseen"]["data"] = str(data)
    with edited(params_file, yaml.safe_dump(params, sort_keys=False)):
        run(["dvc", "repro", "unseen@baseline", "unseen@transformer", "report"], repo)
        report = (repo / "reports" / "metrics.md").read_text()
        for model in ("baseline", "transformer"):
            metrics = json.loads((repo / "metrics" / "unseen" / f"{model}.json").read_text())
            assert metrics["stance"]["n"] == len(rows)
            direct = run([sys.executable, "-m", "pipeline.commands.evaluate", "--model", model, "--data", str(data), "--out", str(tmp_path / "m.json")],
                         repo)
            assert json.loads((tmp_path / "m.json").read_text()) == metrics and "macro-F1" in direct.stdout
    assert "Unseen articles" in report
    run(["dvc", "repro"], repo)  # back to the committed params
