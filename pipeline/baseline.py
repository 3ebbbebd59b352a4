"""Stage `baseline`: TF-IDF word + character n-grams and a linear classifier per task."""
from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import Pipeline

from pipeline.config import TASKS, label_sets, params
from pipeline.cv import out_of_fold, stage_parser
from pipeline.errors import UserError, cli
from pipeline.inputs import fields
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
    # One set of features, one classifier per task (columns of y in TASKS order).
    return Pipeline([("features", ColumnTransformer(features)), ("classifier", MultiOutputClassifier(classifier))])


class BaselineModel:
    """One fitted sklearn Pipeline: the vectorisers and the three task classifiers inside it."""

    name = "baseline"

    def __init__(self, pipeline: Pipeline, labels: dict[str, list[str]], actors: bool):
        self.pipeline, self.labels, self.actors = pipeline, labels, actors

    def predict_proba(self, rows: list[dict]) -> dict[str, np.ndarray]:
        """Probabilities per task, columns in the order of configs/labels.yaml."""
        frame = pd.DataFrame(fields(rows, self.actors))
        per_task = self.pipeline.predict_proba(frame)
        classifiers = self.pipeline.named_steps["classifier"].estimators_
        out = {}
        for task, probs, clf in zip(TASKS, per_task, classifiers):
            full = np.zeros((len(rows), len(self.labels[task])))
            full[:, [self.labels[task].index(c) for c in clf.classes_]] = probs
            out[task] = full
        return out


def fit(rows: list[dict], cfg: dict, labels: dict) -> BaselineModel:
    frame = pd.DataFrame(fields(rows, cfg["use_actors"]))
    targets = np.array([[r[task] for task in TASKS] for r in rows])
    return BaselineModel(build_pipeline(cfg).fit(frame, targets), labels, cfg["use_actors"])


def save(model: BaselineModel, folder: Path, cfg: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(model.pipeline, folder / "model.skops")
    meta = {"model": "baseline", "labels": model.labels, "tasks": list(TASKS), "params": cfg,
            "input_fields": ["text", "context", "target"]}
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load(folder: Path) -> BaselineModel:
    folder = Path(folder)
    path = folder / "model.skops"
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if refused:
            raise UserError(f"{path}: refusing to load unexpected type {refused[0]}")
        pipeline = sio.load(path, trusted=untrusted)
    except (OSError, ValueError, KeyError, json.JSONDecodeError, zipfile.BadZipFile) as err:
        raise UserError(f"baseline model in {folder} is missing or corrupt ({err}); run `dvc repro`") from None
    return BaselineModel(pipeline, meta["labels"], meta["params"]["use_actors"])


@cli
def main(argv: list[str] | None = None) -> None:
    args = stage_parser(__doc__).parse_args(argv)
    cfg, labels = params("baseline"), label_sets()
    rows, folds = load_rows(args.data), load_rows(args.folds)
    oof = out_of_fold(rows, folds, lambda train, fold, _: fit(train, cfg, labels))
    write_jsonl(args.out / "oof.jsonl", oof)
    save(fit(rows, cfg, labels), args.out, cfg)
    log.info("saved baseline trained on %d rows and %d out-of-fold predictions to %s", len(rows), len(oof), args.out)


if __name__ == "__main__":
    main()
