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
from pipeline.errors import cli
from pipeline.inputs import fields
from pipeline.jsonl import load_rows, write_jsonl
from pipeline.model_files import corrupt, field, first_line, read_model_json, read_sides
from pipeline.structure import configured_sides

log = logging.getLogger(__name__)
# Every node a saved baseline holds, as (skops loader, module, class) read from the file's schema:
# the project's Pipeline, its vectorisers and classifiers, and plain containers and values. A file
# with any other node (a function, a method, another estimator such as FunctionTransformer) is
# refused before skops builds a single object, so a tampered model.skops cannot run code.
ALLOWED_NODES = frozenset({
    ("ObjectNode", "sklearn.pipeline", "Pipeline"),
    ("ObjectNode", "sklearn.compose._column_transformer", "ColumnTransformer"),
    ("ObjectNode", "sklearn.feature_extraction.text", "TfidfVectorizer"),
    ("ObjectNode", "sklearn.feature_extraction.text", "TfidfTransformer"),
    ("ObjectNode", "sklearn.multioutput", "MultiOutputClassifier"),
    ("ObjectNode", "sklearn.linear_model._logistic", "LogisticRegression"),
    ("NdArrayNode", "numpy", "ndarray"),
    ("TypeNode", "numpy", "float64"),
    ("TypeNode", "builtins", "str"),
    ("DictNode", "builtins", "dict"),
    ("ListNode", "builtins", "list"),
    ("TupleNode", "builtins", "tuple"),
    ("SliceNode", "builtins", "slice"),
    *(("JsonNode", "builtins", kind) for kind in ("str", "int", "float", "bool", "NoneType")),
})
TRUSTED_TYPES = sorted({f"{module}.{name}" for loader, module, name in ALLOWED_NODES if loader != "JsonNode"})


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

    def __init__(self, pipeline: Pipeline, labels: dict[str, list[str]], actors: bool, sides: dict | None = None):
        self.pipeline, self.labels, self.actors = pipeline, labels, actors
        self.sides = sides  # stance decoding by speaker side (pipeline/structure.py), or None

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
    return BaselineModel(build_pipeline(cfg).fit(frame, targets), labels, cfg["use_actors"], configured_sides())


def save(model: BaselineModel, folder: Path, cfg: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(model.pipeline, folder / "model.skops")
    meta = {"model": "baseline", "labels": model.labels, "tasks": list(TASKS), "params": cfg,
            "input_fields": ["text", "context", "target"], "sides": model.sides}
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def schema_nodes(path: Path) -> set[tuple[str, str, str]]:
    """Every (loader, module, class) in a .skops file's schema, read as JSON without building objects."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                found.add((str(node["__loader__"]), str(node.get("__module__")), str(node.get("__class__"))))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load(folder: Path) -> BaselineModel:
    """The saved baseline, loaded as untrusted input (see ALLOWED_NODES)."""
    folder = Path(folder)
    meta = read_model_json(folder, "baseline")
    use_actors = field(field(meta, folder / "model.json", "params", dict), folder / "model.json", "use_actors", bool)
    path = folder / "model.skops"
    try:
        refused = sorted(schema_nodes(path) - ALLOWED_NODES)
        if refused:
            loader, module, name = refused[0]
            raise corrupt(path, f"refusing to load {module}.{name} ({loader}), which the project's baseline "
                                "never contains; the file may have been tampered with")
        pipeline = sio.load(path, trusted=TRUSTED_TYPES)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as err:
        raise corrupt(path, f"cannot be read ({type(err).__name__}: {first_line(err)})") from None
    check_classes(pipeline, meta["labels"], path)
    return BaselineModel(pipeline, meta["labels"], use_actors, read_sides(meta, folder / "model.json"))


def check_classes(pipeline, labels: dict, path: Path) -> None:
    """The loaded pipeline is the project's shape and its classes are the saved labels."""
    classifier = pipeline.named_steps.get("classifier") if isinstance(pipeline, Pipeline) else None
    estimators = getattr(classifier, "estimators_", None)
    if not isinstance(estimators, list) or len(estimators) != len(TASKS):
        raise corrupt(path, f"expected a fitted Pipeline with one classifier per task ({', '.join(TASKS)})")
    for task, clf in zip(TASKS, estimators):
        unknown = [str(c) for c in getattr(clf, "classes_", []) if c not in labels[task]]
        if unknown:
            raise corrupt(path, f"the {task} classifier predicts {unknown[0]!r}, not one of {labels[task]}")


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
