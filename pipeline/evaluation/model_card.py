"""The transformer's model card, generated from the training data and its
out-of-fold scores, with the Hugging Face Hub metadata in its YAML header."""
from __future__ import annotations

from collections import Counter

import yaml

from pipeline.core.config import TASKS, label_sets
from pipeline.evaluation.metrics import point_scores
from pipeline.models.encoders import MINILM

BASE_MODELS = {MINILM: "sentence-transformers/all-MiniLM-L6-v2"}


def hub_metadata(cfg: dict, metrics: dict) -> dict:
    """The card's YAML header, as the Hub reads it (base model, library, task, metrics)."""
    results = [{"task": {"type": "text-classification", "name": f"{task} tagging"},
                "dataset": {"type": "stance-pipeline", "name": "event-grouped cross-validation"},
                "metrics": [{"type": "f1", "name": "macro-F1", "value": metrics[task]["macro_f1"]},
                            {"type": "accuracy", "name": "accuracy", "value": metrics[task]["accuracy"]}]}
               for task in TASKS]
    base = BASE_MODELS.get(cfg["model"], cfg["model"].removeprefix("package:"))
    return {"base_model": base, "library_name": "transformers", "pipeline_tag": "text-classification",
            "language": ["en"], "tags": ["stance-detection", "news"], "metrics": ["f1", "accuracy"],
            "model-index": [{"name": "stance-pipeline-transformer", "results": results}]}


def render(rows: list[dict], oof: list[dict], cfg: dict, training: dict) -> str:
    real = [r for r in rows if not r["synthetic"]]
    by_uid = {r["uid"]: r for r in rows}
    metrics = point_scores([by_uid[p["uid"]] for p in oof], oof, label_sets())
    lines = [
        "---", yaml.safe_dump(hub_metadata(cfg, metrics), sort_keys=False).strip(), "---", "",
        "# stance-pipeline transformer", "",
        "Labels each sentence of a news article for **speaker**, **stance** (toward the article's target claim)",
        "and **role**, with one shared encoder and one classification head per task.", "",
        "## Use", "",
        "```", "stance-predict --model transformer ARTICLE.txt --target \"The contested claim.\"", "```", "",
        "## Input format", "", *input_text(cfg), "",
        "## Training data", "",
        f"{len(rows)} sentences from {len({r['article_id'] for r in rows})} articles: {len(real)} real "
        f"and {len(rows) - len(real)} synthetic (written by the team, training only).", "",
        "| task | label counts |", "| --- | --- |",
        *[f"| {t} | {dict(Counter(r[t] for r in rows))} |" for t in TASKS], "",
        "## Scores", "",
        "Out-of-fold on the real sentences, folds grouped by event (same folds and metric code as the baseline;",
        "`metrics/transformer.json` adds article-bootstrap intervals):", "",
        "| task | macro-F1 | accuracy | majority macro-F1 |", "| --- | --- | --- | --- |",
        *[f"| {t} | {metrics[t]['macro_f1']:.3f} | {metrics[t]['accuracy']:.3f} | {metrics[t]['majority_macro_f1']:.3f} |"
          for t in TASKS], "",
        f"Training: base model `{cfg['model']}`, batch {cfg['batch_size']}, learning rate {cfg['learning_rate']} "
        f"(heads {cfg['head_learning_rate']}), {cfg['freeze_layers']} lowest layers frozen. One shared run of "
        f"{cfg['epochs']} epochs on the synthetic rows ({training['train_only_seconds']} s), then each fold model and "
        f"the final model fine-tune from it on their own real rows for {cfg['finetune_epochs']} epoch(s) "
        f"(mean {training['mean_seconds_per_fold']} s per fold) and keep weights "
        f"{cfg['finetune_interpolation']} of the way from the shared run's to the fine-tuned ones (WiSE-FT).", "",
        "## Limits", "",
        f"- The real evaluation set is small ({len(real)} sentences): scores are noisy.",
        "- Trained on news about the Russia-Ukraine war; other topics and speakers are out of domain.",
        "- Stance is relative to the given target: a wrong or vague target gives meaningless stances.",
        "- Synthetic training articles were written by the team; their style may differ from real reporting.", "",
    ]
    return "\n".join(lines)


def input_text(cfg: dict) -> list[str]:
    """The model card's account of the input format (packs or pairs, pipeline/models/packing.py)."""
    if cfg.get("packed"):
        return ["Packs: the sentences of one target share one input of at most "
                f"{cfg['pack_length']} tokens, `[CLS] target [SEP]` once, then per sentence `context [SEP] sentence [SEP]`",
                "(the sentence before it, copied). Under block attention a sentence's window sees the target and",
                "itself only, with its own position ids, so its labels are those of the window alone. The mean of",
                f"each sentence's own tokens feeds the three heads. A window keeps at most {cfg['max_length']} positions:",
                "a long sentence shortens its context, then the target (to 16 tokens), then its own tail (`truncated`)."]
    return ["A sentence pair: first segment the sentence; second segment the article's target, the separator",
            f"token, then the previous sentence (or `(start of article)`). At {cfg['max_length']} tokens, truncation",
            "cuts the second segment (context, then target); a sentence that alone leaves fewer than 16 tokens",
            "for it loses its own tail, and the record says `truncated`. Mean pooling over tokens feeds the three heads."]
