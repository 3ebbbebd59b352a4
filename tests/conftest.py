"""Shared fixtures: tiny articles written to a temp folder."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import pipeline.models
from pipeline import inference as predict_module
from pipeline.commands.predict import main as predict_main
from pipeline.core.config import label_sets, params
from pipeline.data.segment import split_sentences
from pipeline.models.baseline import fit as fit_baseline, save as save_baseline
from pipeline.models.transformer import save as save_transformer
from pipeline.training.cv import model_info
from pipeline.training.finetune import fit as fit_transformer

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
                  synthetic: bool = False, annotations: Path | None = None) -> Path:
    """Write <id>.txt, <id>.meta.json and its annotation file; return the annotation path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.txt").write_text(text, encoding="utf-8")
    meta = {"article_id": article_id, "target": target, "synthetic": synthetic}
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


def tiny_transformer(cfg: dict | None = None, rows: list[dict] | None = None, seed: int = 0, **kwargs):
    """One epoch on 5 rows of the real packaged encoder."""
    return fit_transformer(rows or make_rows(1), label_sets(), cfg or dict(params("transformer"), batch_size=4),
                           epochs=kwargs.pop("epochs", 1), seed=seed, device="cpu", model_info=model_info(True), cache={},
                           **kwargs)


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if any model folder is opened."""
    monkeypatch.setattr(pipeline.models, "read_model_type", lambda *a: pytest.fail("model loaded"))


@pytest.fixture
def use_root(models_root, monkeypatch) -> Path:
    """Make load_model read the tiny models (and forget models loaded by other tests)."""
    monkeypatch.setattr(predict_module, "ROOT", models_root)
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
