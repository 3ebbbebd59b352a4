"""The baseline: one sklearn Pipeline from raw rows to labels (actor tags, TF-IDF word and
character n-grams, a linear classifier per task), saved with skops and loaded as untrusted input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import Pipeline

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError
from pipeline.data.actors import tag_actors
from pipeline.models.checks import check_context, read_model_json, read_sides, schema_nodes
from pipeline.models.manifest import check_files, check_seal, corrupt, first_line, write_model_json
from pipeline.models.pair_inputs import FIELDS, check_fields

TAGGER = "pipeline.models.baseline.ActorTagger"
# Every node a saved baseline holds, as (skops loader, module, class) read from the file's schema:
# the project's Pipeline, its actor tagger, vectorisers and classifiers, and plain containers and
# values. A file with any other node (a function, a method, another estimator such as
# FunctionTransformer) is refused before skops builds a single object, so a tampered model.skops
# cannot run code; skops is then told to trust exactly the types it reports as not trusted by default.
ALLOWED_NODES = frozenset({
    ("ObjectNode", "sklearn.pipeline", "Pipeline"),
    ("ObjectNode", "pipeline.models.baseline", "ActorTagger"),
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
# The only type of ours skops does not trust by default: the tagger (plain data, no code paths).
EXPECTED_UNTRUSTED = frozenset({TAGGER})


class ActorTagger(BaseEstimator, TransformerMixin):
    """Pipeline step: adds side tags after known names in `text` and `context` (None: no tags)."""

    def __init__(self, actors: dict | None = None):
        self.actors = actors

    def fit(self, frame, y=None):
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.actors:
            return frame
        return frame.assign(**{c: [tag_actors(t, self.actors) for t in frame[c]] for c in ("text", "context")})


def build_pipeline(cfg: dict, actors: dict | None) -> Pipeline:
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
    return Pipeline([("actors", ActorTagger(actors)), ("features", ColumnTransformer(features)),
                     ("classifier", MultiOutputClassifier(classifier))])


def frame(rows: list[dict]) -> pd.DataFrame:
    """The Pipeline's input: one row a sentence, columns text, context, target (raw text)."""
    return pd.DataFrame({f: [r[f] for r in check_fields(rows)] for f in FIELDS})


class BaselineModel:
    """One fitted sklearn Pipeline, its label lists, context width and stance decoding."""

    name = "baseline"

    def __init__(self, pipeline: Pipeline, labels: dict[str, list[str]], context_sentences: int,
                 sides: dict | None = None):
        self.pipeline, self.labels, self.context_sentences = pipeline, labels, context_sentences
        self.sides = sides  # stance decoding by speaker side (pipeline/models/side_decoding.py), or None

    def predict_proba(self, rows: list[dict]) -> dict[str, np.ndarray]:
        """Probabilities per task, columns in the order of `labels`."""
        per_task = self.pipeline.predict_proba(frame(rows))
        classifiers = self.pipeline.named_steps["classifier"].estimators_
        out = {}
        for task, probs, clf in zip(TASKS, per_task, classifiers):
            full = np.zeros((len(rows), len(self.labels[task])))
            full[:, [self.labels[task].index(c) for c in clf.classes_]] = probs
            out[task] = full
        return out


def fit(rows: list[dict], cfg: dict, labels: dict, info: dict) -> BaselineModel:
    """Fit the Pipeline on labelled rows. `info` holds what the model keeps for prediction: the
    actor table to tag with (None: no tags), the context width and the stance decoding."""
    targets = np.array([[r[task] for task in TASKS] for r in rows])
    pipeline = build_pipeline(cfg, info["actors"]).fit(frame(rows), targets)
    return BaselineModel(pipeline, labels, info["context_sentences"], info["sides"])


def save(model: BaselineModel, folder: Path, cfg: dict) -> None:
    """model.skops and model.json (labels, input fields, context width, decoding, and the SHA-256 of
    model.skops and of its own fields: pipeline/models/manifest.py)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(model.pipeline, folder / "model.skops")
    meta = {"model": "baseline", "labels": model.labels, "tasks": list(TASKS), "params": cfg,
            "input_fields": list(FIELDS), "context_sentences": model.context_sentences, "sides": model.sides}
    write_model_json(folder, meta, ["model.skops"])


def load_pipeline(path: Path) -> Pipeline:
    """The Pipeline in a .skops file, refused unless every node is one the project writes (read from
    its schema before skops builds anything), and skops trusting no type but EXPECTED_UNTRUSTED."""
    try:
        refused = sorted(schema_nodes(path) - ALLOWED_NODES)
        if refused:
            loader, module, name = refused[0]
            raise corrupt(path, f"refusing to load {module}.{name} ({loader}), which the project's baseline "
                                "never contains; the file may have been tampered with")
        return sio.load(path, trusted=sorted(EXPECTED_UNTRUSTED))
    except UserError:
        raise
    except UntrustedTypesFoundException as err:
        raise corrupt(path, f"refusing to load it ({first_line(err)}); the file may have been tampered with") from None
    except Exception as err:  # zipfile, json and skops raise many types: RecursionError for deep nesting,
        # NotImplementedError for an unknown compression method, ValueError, KeyError ...
        raise corrupt(path, f"cannot be read ({type(err).__name__}: {first_line(err)})") from None


def load(folder: Path, device: str = "cpu") -> BaselineModel:
    """The saved baseline, checked before use (model.json's fields and seal, then model.skops's
    SHA-256) and loaded as untrusted input (see ALLOWED_NODES); it runs on the CPU whatever `device`."""
    folder = Path(folder)
    path = folder / "model.json"
    meta = read_model_json(folder, "baseline")
    context, sides = check_context(meta, path), read_sides(meta, path)
    check_seal(meta, path)
    check_files(folder, meta.get("files"), ("model.skops",))
    pipeline = load_pipeline(folder / "model.skops")
    check_classes(pipeline, meta["labels"], folder / "model.skops")
    return BaselineModel(pipeline, meta["labels"], context, sides)


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
