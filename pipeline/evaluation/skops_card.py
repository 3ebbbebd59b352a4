"""The baseline's model card: a skops card of the fitted Pipeline and its out-of-fold scores."""
from __future__ import annotations

import yaml
from skops import card

from pipeline.core.config import TASKS
from pipeline.models.baseline import EXPECTED_UNTRUSTED


def render(pipeline, cfg: dict, metrics: dict) -> str:
    """A skops model card of the fitted Pipeline with its CV macro-F1, as README text."""
    model_card = card.Card(pipeline, model_format="skops", model_diagram=False, trusted=sorted(EXPECTED_UNTRUSTED))
    # skops would print every parameter (the whole actor table) padded into one wide table.
    for section in ("Model description/Training Procedure/Hyperparameters", "Model description/Training Procedure/Model Plot",
                    "Model Card Authors", "Model Card Contact", "Citation"):
        model_card.delete(section)
    model_card.add(**{
        "Model description": "The stance-pipeline baseline: one sklearn Pipeline (actor side tags, TF-IDF word and "
                             "character n-grams, one logistic regression per task).",
        "Model description/Intended uses & limitations": (
            "Labels each sentence of a news article for speaker, stance (toward the article's target claim) and "
            "role. Input: a table with columns text, context (the sentence before) and target. Load with "
            "`pipeline.load_model(folder)`, which checks the file before skops reads it."),
        "Model description/Training Procedure": "Parameters (configs/params.yaml `baseline`): " +
                                                ", ".join(f"`{k}`={v}" for k, v in cfg.items()),
        "How to Get Started with the Model": "`stance-predict --model baseline ARTICLE.txt`, or "
                                             "`pipeline.load_model(folder)` in Python (see the project README)."})
    model_card.add_metrics(**{f"{task} macro-F1 (event-grouped CV)": metrics[task]["macro_f1"] for task in TASKS})
    header = {"library_name": "sklearn", "pipeline_tag": "text-classification", "language": ["en"],
              "tags": ["sklearn", "skops", "tabular-text", "stance-detection"], "metrics": ["f1"]}
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n" + model_card.render()
