"""Shared fixtures (tiny articles, rows and models) and the test tiers: tests listed in SLOW are
marked `slow`, so `python -m pytest -m "not slow"` is the quick run."""
from __future__ import annotations

import fnmatch
import io
import json
import re
import sys
import warnings
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import pipeline.models
from pipeline import api
from pipeline.commands.predict import main as predict_main
from pipeline.core.config import TASKS, label_sets, params
from pipeline.data.segment import split_sentences
from pipeline.models.baseline import fit as fit_baseline, save as save_baseline
from pipeline.models.transformer import save as save_transformer
from pipeline.training.finetune import Run, Trainer
from pipeline.training.snapshot import model_info
from pipeline.training.transformer_config import TransformerConfig

# The slow tier, measured with `--durations` on the shared 2-core machine: whole files (glob patterns)
# and single tests (file::function, every parametrization). Everything else is the fast tier.
SLOW_FILES = (
    "test_e2e.py",  # `dvc repro` of a tiny pipeline, twice (also marked e2e)
    "test_bulk*.py",  # Ray, hundreds of articles through the models
    "test_labelstudio_server.py",  # starts Label Studio (30-40 s)
    "test_html_view.py",  # Chromium
)
SLOW_TESTS = (
    "test_docs.py::test_documented_commands_and_python_blocks_run_as_written",  # every documented command: 86 s
    "test_package.py::test_one_training_and_one_prediction_with_the_network_shut_off",  # training in a new process: 81 s
    "test_packing.py::test_every_dev_sentence_in_its_article_is_labelled_as_with_only_its_context_window",  # 20-48 s
    "test_packing.py::test_labels_and_scores_are_the_same_for_any_chunk_size",  # 29 s
    "test_packing.py::test_eager_and_sdpa_give_the_same_probabilities",  # 11 s
    "test_packing.py::test_a_sentence_does_not_move_when_any_other_sentence_changes",  # 8-10 s each
    "test_distill.py::test_soft_targets_change_the_loss_by_distill_weight",  # 3 fits: 18 s
    "test_distill.py::test_a_distilled_recipe_trains_its_teacher_on_exactly_the_students_rows_and_learns_its_predictions",
    "test_transformer.py::test_fine_tuning_from_a_start_ends_at_the_interpolated_weights",  # a 2-epoch fit
    "test_transformer.py::test_hub_offline_flag_is_on_inside_huggingface_hub_after_importing_the_training_code",
    "test_transformer.py::test_saved_model_reloads_in_a_new_process_with_the_same_predictions",
    "test_fast_path.py::test_one_sentence_imports_no_torch_sklearn_pandas_or_datasets",  # a new process
    "test_robustness.py::test_real_dev_full_and_closed_pipe_in_a_process",  # 18 s
    "test_probe_io.py::test_ctrl_c_during_start_up_imports_is_one_line_and_exit_130",  # a new process
    "test_prepare.py::test_command_prints_one_line_and_exits_2",  # a new process
    "test_evaluate_cli.py::test_scores_a_valid_file_and_writes_out",  # 16 s
    "test_metrics.py::test_score_counts_articles_and_bootstraps_by_article_from_five",  # 8 s
    "test_leakage.py::test_the_leak_guard_finds_no_evaluation_article_in_seeds_or_data",  # a new process
    "test_leakage.py::test_no_dev_sentence_is_in_any_training_article",  # segments the corpus: 10 s
    "test_leakage.py::test_synthetic_rows_are_marked_and_have_their_own_group",  # prepares the corpus: 10 s
    # The pair-input model (`pair_model`, 10-12 s to train and export; packs are the default format):
    "test_transformer.py::test_a_pair_model_trains_and_predicts_one_sentence_an_input",
    "test_fast_path.py::test_both_paths_build_the_same_pairs",
    "test_fast_path.py::test_onnx_probabilities_equal_the_pytorch_model[pair]",
    "test_model_files.py::test_a_graph_fed_other_inputs_than_its_format_is_refused",
    # Many damaged-model cases, each loaded (about a second a case); the single-case checks stay fast.
    "test_model_files.py::test_m11_every_input_format_field_is_checked",  # 15 cases: 15 s
    "test_model_files.py::test_m10_m12_format_against_the_encoder_and_tokenizer",  # 7 s
    "test_model_files.py::test_m13_context_sentences_out_of_range",  # 6 s
    "test_model_files.py::test_m9_label_lists_that_do_not_fit_the_heads",  # 6 s
    "test_model_files.py::test_m5_nan_weights_are_refused_at_load",  # 6 s
)


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the tests of SLOW_FILES and SLOW_TESTS `slow`; warn about a SLOW_TESTS entry that names no
    test of a collected file (renamed or removed), which would silently move it to the fast tier."""
    found = set()
    for item in items:
        names = {f"{item.path.name}::{getattr(item, 'originalname', item.name)}", f"{item.path.name}::{item.name}"}
        if any(fnmatch.fnmatch(item.path.name, pattern) for pattern in SLOW_FILES) or names & set(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
            found |= names
    collected = {item.path.name for item in items}
    for stale in (t for t in SLOW_TESTS if t.split("::")[0] in collected and t not in found):
        warnings.warn(f"tests/conftest.py SLOW_TESTS names no collected test: {stale}", pytest.PytestWarning)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say so when the checks against ../shared could not run (outside the workspace, or in CI)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "NOT CHECKED" in str(r.longrepr)]
    for report in skipped:
        terminalreporter.write_line(f"{report.nodeid}: {report.longrepr[2]}", yellow=True, bold=True)


TINY_TEXT = (
    "Moscow accused Kyiv of attacking a dam on Monday. Ukrainian officials rejected the claim as a lie.\n"
    "“It is another fabrication,” the foreign minister said.\n"
    "The dam lies on the Dnipro river.\n"
)
TINY_LABELS = [
    ("russia", "support", "claim"),
    ("ukraine", "deny", "rebuttal"),
    ("ukraine", "deny", "rebuttal"),
    ("narrator", "neutral", "none"),
]


def write_article(folder: Path, article_id: str, text: str, labels, target: str = "Ukraine attacked the dam.",
                  synthetic: bool = False, annotations: Path | None = None, event: str | None = None) -> Path:
    """Write <id>.txt, <id>.meta.json and its annotation file; return the annotation path. A real
    article's event is its own unless given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.txt").write_text(text, encoding="utf-8")
    meta = {"article_id": article_id, "target": target, "synthetic": synthetic}
    if not synthetic:
        meta["event"] = event or "2025-01_" + re.sub(r"[^a-z0-9]+", "_", article_id.lower()).strip("_")
    (folder / f"{article_id}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    annotations = annotations or folder.parent / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    path = annotations / f"{article_id}.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i, (sentence, (speaker, stance, role)) in enumerate(zip(split_sentences(text), labels)):
            row = {"article_id": article_id, "sentence_id": i, "text": sentence,
                   "speaker": speaker, "stance": stance, "role": role}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def tiny_article(tmp_path: Path) -> tuple[Path, Path]:
    """(articles folder, annotation file) of a four-sentence article."""
    path = write_article(tmp_path / "articles", "tiny", TINY_TEXT, TINY_LABELS)
    return tmp_path / "articles", path


def make_rows(n_per_class: int = 4) -> list[dict]:
    """Prepared-style rows, separable by wording, for fast model tests: articles of five sentences,
    each with the one before as context (as prepare builds it), so a packing model packs them."""
    templates = [
        ("The Kremlin said Ukraine attacked the residence.", ("russia", "support", "claim")),
        ("Kyiv rejected the accusation as a lie.", ("ukraine", "deny", "rebuttal")),
        ("The White House said it had no information.", ("us", "neutral", "none")),
        ("NATO's chief called for calm.", ("other", "neutral", "none")),
        ("The region lies on the river.", ("narrator", "neutral", "none")),
    ]
    rows = []
    for k in range(n_per_class):
        for j, (text, (speaker, stance, role)) in enumerate(templates):
            uid = f"a{k}:{j}"
            rows.append({"uid": uid, "article_id": f"a{k}", "sentence_id": j, "text": f"{text} ({k})",
                         "context": f"{templates[j - 1][0]} ({k})" if j else "(start of article)",
                         "target": "Ukraine attacked the residence.",
                         "speaker": speaker, "stance": stance, "role": role, "synthetic": False, "group": uid})
    return rows


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    """A repo-like root with a tiny baseline and a tiny transformer (the real packaged encoder,
    one epoch on 5 rows) saved where load_model looks: <root>/models/<name>."""
    root = tmp_path_factory.mktemp("root")
    cfg = params("baseline")
    save_baseline(tiny_baseline(cfg), root / "models" / "baseline", cfg)
    cfg = dict(params("transformer"), batch_size=4)
    save_transformer(tiny_transformer(cfg), root / "models" / "transformer", cfg)
    return root


def tiny_baseline(cfg: dict | None = None, rows: list[dict] | None = None):
    cfg = cfg or params("baseline")
    return fit_baseline(rows or make_rows(3), cfg, label_sets(), model_info(cfg["use_actors"]))


def tiny_config(**changes) -> TransformerConfig:
    """The configured transformer params with batches of 4 and `changes`."""
    return TransformerConfig.from_params(dict(params("transformer"), batch_size=4, **changes))


def tiny_transformer(cfg: dict | TransformerConfig | None = None, rows: list[dict] | None = None, seed: int = 0,
                     history=None, epochs: int = 1, **run):
    """One epoch on 5 rows of the real packaged encoder; `run`: the other fields of finetune.Run."""
    if not isinstance(cfg, TransformerConfig):
        cfg = TransformerConfig.from_params(cfg or dict(params("transformer"), batch_size=4))
    trainer = Trainer(cfg, label_sets(), "cpu", model_info(True), history)
    return trainer.fit(rows or make_rows(1), Run(epochs, seed, **run))


PAIR_PARAMS = dict(params("transformer"), batch_size=4, packed=False, max_length=128)


@pytest.fixture(scope="session")
def pair_model(tmp_path_factory):
    """A tiny model with pair inputs (transformer.packed: false), trained once for every test that
    needs one: (the model, the folder it is saved in, its params)."""
    model = tiny_transformer(PAIR_PARAMS)
    folder = tmp_path_factory.mktemp("pairs") / "transformer"
    save_transformer(model, folder, PAIR_PARAMS)
    return model, folder, PAIR_PARAMS


class StubTagger:
    """What `fake_fit` returns instead of a trained model: a Labeller whose probabilities depend on
    each row's text alone, recording the uids of the rows it labels."""

    name, context_sentences, sides = "stub", 1, None

    def __init__(self, labels: dict):
        self.labels, self.net, self.predicted = labels, torch.nn.Linear(1, 1), []

    def predict_proba(self, rows: list[dict], batch_size: int = 64) -> dict:
        self.predicted += [row.get("uid") for row in rows]
        out = {}
        for task in TASKS:
            logits = np.array([np.cos(np.arange(len(self.labels[task])) + zlib.crc32(r["text"].encode())) for r in rows])
            out[task] = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        return out


@pytest.fixture
def fake_fit(monkeypatch) -> list[SimpleNamespace]:
    """Replace `Trainer.fit` by a recorder that trains nothing and returns a StubTagger: the recipe's
    data flow in milliseconds. Returns the calls, in order: (cfg, rows, run, model) each."""
    calls: list[SimpleNamespace] = []

    def fit(trainer: Trainer, rows: list[dict], run: Run) -> StubTagger:
        calls.append(SimpleNamespace(cfg=trainer.cfg, rows=list(rows), run=run, model=StubTagger(trainer.labels)))
        return calls[-1].model

    monkeypatch.setattr(Trainer, "fit", fit)
    return calls


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if any model folder is opened."""
    monkeypatch.setattr(pipeline.models, "read_model_type", lambda *a: pytest.fail("model loaded"))


@pytest.fixture
def use_root(models_root, monkeypatch) -> Path:
    """Make load_model read the tiny models (and forget models loaded by other tests)."""
    monkeypatch.setattr(api, "ROOT", models_root)
    pipeline.models._loaded.clear()
    return models_root


def run_command(main, capsys, *args):
    """Run a command's main() in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def run_cli(capsys, *args, stdin: bytes | None = None, monkeypatch=None):
    """Run stance-predict in-process: (exit code, stdout, stderr)."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    return run_command(predict_main, capsys, *args)
