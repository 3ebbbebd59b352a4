"""models/transformer/README.md: a model card generated from the training data and its scores."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from pipeline.config import TASKS


def render(rows: list[dict], metrics: dict, cfg: dict, training: dict) -> str:
    real = [r for r in rows if not r["synthetic"]]
    lines = [
        "# stance-pipeline transformer", "",
        "Labels each sentence of a news article for **speaker**, **stance** (toward the article's target claim)",
        "and **role**, with one shared encoder and one classification head per task.", "",
        "## Use", "",
        "```", "stance-predict --model transformer ARTICLE.txt --target \"The contested claim.\"", "```", "",
        "## Input format", "",
        "A sentence pair: first segment the sentence; second segment the article's target, the separator",
        f"token, then the previous sentence (or `(start of article)`). At {cfg['max_length']} tokens, truncation",
        "cuts the second segment (context, then target); a sentence that alone leaves fewer than 16 tokens",
        "for it loses its own tail, and the record says `truncated`. Mean pooling over tokens feeds the three heads.", "",
        "## Training data", "",
        f"{len(rows)} sentences from {len({r['article_id'] for r in rows})} articles: {len(real)} real "
        f"and {len(rows) - len(real)} synthetic (written by the team, training only).", "",
        "| task | label counts |", "| --- | --- |",
        *[f"| {t} | {dict(Counter(r[t] for r in rows))} |" for t in TASKS], "",
        "## Scores", "",
        "Out-of-fold on the real sentences, folds grouped by article (same folds and metric code as the baseline):", "",
        "| task | macro-F1 | 95% CI | accuracy | majority macro-F1 |", "| --- | --- | --- | --- | --- |",
        *[f"| {t} | {metrics[t]['macro_f1']:.3f} | [{metrics[t]['macro_f1_ci'][0]:.3f}, {metrics[t]['macro_f1_ci'][1]:.3f}]"
          f" | {metrics[t]['accuracy']:.3f} | {metrics[t]['majority_macro_f1']:.3f} |" for t in TASKS], "",
        f"Training: base model `{cfg['model']}`, batch {cfg['batch_size']}, learning rate {cfg['learning_rate']} "
        f"(heads {cfg['head_learning_rate']}), {cfg['freeze_layers']} lowest layers frozen. One shared run of "
        f"{cfg['epochs']} epochs on the synthetic rows ({training['train_only_seconds']} s), then each fold model and "
        f"the final model fine-tune from it on their own real rows for {cfg['finetune_epochs']} epoch(s) "
        f"(mean {training['mean_seconds_per_fold']} s per fold) and keep weights "
        f"{cfg['finetune_interpolation']} of the way from the shared run's to the fine-tuned ones (WiSE-FT).", "",
        "## Limits", "",
        f"- The real evaluation set is small ({len(real)} sentences): intervals are wide.",
        "- Trained on news about the Russia-Ukraine war; other topics and speakers are out of domain.",
        "- Stance is relative to the given target: a wrong or vague target gives meaningless stances.",
        "- Synthetic training articles were written by the team; their style may differ from real reporting.", "",
    ]
    return "\n".join(lines)


def write(folder: Path, rows: list[dict], metrics: dict, cfg: dict, training: dict) -> None:
    (folder / "README.md").write_text(render(rows, metrics, cfg, training), encoding="utf-8")
