"""Stage `baseline`: TF-IDF word + character n-grams and a linear classifier per task."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from pipeline.config import TASKS, label_sets, params
from pipeline.cv import out_of_fold
from pipeline.errors import UserError, cli
from pipeline.inputs import baseline_columns
from pipeline.jsonl import load_rows, write_jsonl

log = logging.getLogger(__name__)
# Types a saved baseline may contain; anything else in a .skops file is refused at load.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


def build_pipeline(cfg: dict) -> Pipeline:
    features = [
        ("word", TfidfVectorizer(ngram_range=tuple(cfg["word_ngrams"]), sublinear_tf=True), "text"),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(cfg["char_ngrams"]), sublinear_tf=True), "text"),
    ]
    if cfg["use_context"]:
        features.append(("context", TfidfVectorizer(sublinear_tf=True), "context"))
    if cfg["use_target"]:
        features.append(("target", TfidfVectorizer(sublinear_tf=True), "target"))
    classifier = LogisticRegression(C=cfg["C"], class_weight=cfg["class_weight"], max_iter=cfg["max_iter"])
    return Pipeline([("features", ColumnTransformer(features)), ("classifier", classifier)])


class BaselineModel:
    """One fitted sklearn Pipeline per task; the vectorisers live inside each Pipeline."""

    name = "baseline"

    def __init__(self, pipelines: dict[str, Pipeline], labels: dict[str, list[str]], actors: bool):
        self.pipelines, self.labels, self.actors = pipelines, labels, actors

    def predict_proba(self, rows: list[dict]) -> dict[str, np.ndarray]:
        """Probabilities per task, columns in the order of configs/labels.yaml."""
        frame = pd.DataFrame(baseline_columns(rows, self.actors))
        out = {}
        for task in TASKS:
            pipe = self.pipelines[task]
            probs = np.zeros((len(rows), len(self.labels[task])))
            columns = [self.labels[task].index(c) for c in pipe.classes_]
            probs[:, columns] = pipe.predict_proba(frame)
            out[task] = probs
        return out


def fit(rows: list[dict], cfg: dict, labels: dict) -> BaselineModel:
    frame = pd.DataFrame(baseline_columns(rows, cfg["use_actors"]))
    pipelines = {task: build_pipeline(cfg).fit(frame, [r[task] for r in rows]) for task in TASKS}
    return BaselineModel(pipelines, labels, cfg["use_actors"])


def save(model: BaselineModel, folder: Path, cfg: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for task, pipe in model.pipelines.items():
        sio.dump(pipe, folder / f"{task}.skops")
    meta = {"model": "baseline", "labels": model.labels, "params": cfg, "input_fields": ["text", "context", "target"]}
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load(folder: Path) -> BaselineModel:
    folder = Path(folder)
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        pipelines = {}
        for task in TASKS:
            path = folder / f"{task}.skops"
            untrusted = sio.get_untrusted_types(file=path)
            refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
            if refused:
                raise UserError(f"{path}: refusing to load unexpected type {refused[0]}")
            pipelines[task] = sio.load(path, trusted=untrusted)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise UserError(f"baseline model in {folder} is missing or corrupt ({err}); run `dvc repro`") from None
    return BaselineModel(pipelines, meta["labels"], meta["params"]["use_actors"])


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--folds", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cfg, labels = params("baseline"), label_sets()
    rows, folds = load_rows(args.data), load_rows(args.folds)
    oof = out_of_fold(rows, folds, lambda train, fold, _: fit(train, cfg, labels))
    write_jsonl(args.out / "oof.jsonl", oof)
    save(fit(rows, cfg, labels), args.out, cfg)
    log.info("saved baseline trained on %d rows and %d out-of-fold predictions to %s", len(rows), len(oof), args.out)


if __name__ == "__main__":
    main()
