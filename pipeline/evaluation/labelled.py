"""Scoring saved models on labelled files of real articles (`stance-evaluate`, the `unseen` stage):
rows checked article by article, context built with the model's own width, labels from the one
prediction path, scores from the one metric function."""
from __future__ import annotations

from pathlib import Path

from pipeline.core.config import label_sets
from pipeline.core.errors import DataError
from pipeline.core.jsonl import read_jsonl
from pipeline.data.context import contexts
from pipeline.data.schema import REQUIRED_WITH_TARGET, check_row, check_target
from pipeline.evaluation.scoring import score_rows
from pipeline.inference import label_rows


def load_labelled(path: Path) -> list[dict]:
    """Rows in the label-guide format, each with its target, in article and sentence order
    (context is added by `with_contexts`, with the width of the model that scores them).

    Each article's sentence ids must run 0, 1, 2, ... once each (context is the sentence before)
    and all its rows must give the same target; errors name the file and line.
    """
    labels, articles = label_sets(), {}
    for line, row in read_jsonl(path):
        row = check_row(row, path, line, labels, REQUIRED_WITH_TARGET)
        check_target(row["target"], f"{path}:{line}: field 'target'")
        articles.setdefault(row["article_id"], []).append((line, row))
    if not articles:
        raise DataError(path, None, "no labelled rows; expected one JSON object a line")
    rows = []
    for article_id, items in articles.items():
        check_article(path, article_id, items)
        items.sort(key=lambda item: item[1]["sentence_id"])
        rows += [dict(item, uid=f"{article_id}:{item['sentence_id']}", synthetic=False) for _, item in items]
    return rows


def with_contexts(rows: list[dict], window: int) -> list[dict]:
    """Rows (in article and sentence order) with the `window` sentences before each as context."""
    articles: dict[str, list[dict]] = {}
    for row in rows:
        articles.setdefault(row["article_id"], []).append(row)
    out = []
    for items in articles.values():
        out += [dict(row, context=c) for row, c in zip(items, contexts([r["text"] for r in items], window))]
    return out


def check_article(path: Path, article_id: str, items: list[tuple[int, dict]]) -> None:
    """One target (and target_by) per article and sentence ids 0..n-1, each once."""
    first_line, first = items[0]
    seen: dict[int, int] = {}
    for line, row in items:
        for name in ("target", "target_by"):  # one per article
            if row.get(name) != first.get(name):
                raise DataError(path, line, f"article {article_id!r} has a second {name} {row.get(name)!r}; "
                                            f"line {first_line} gave {first.get(name)!r}")
        if row["sentence_id"] in seen:
            raise DataError(path, line, f"sentence {row['sentence_id']} of article {article_id!r} appears twice "
                                        f"(also at line {seen[row['sentence_id']]})")
        seen[row["sentence_id"]] = line
    missing = sorted(set(range(len(items))) - set(seen))
    if missing:
        raise DataError(path, seen[max(seen)], f"article {article_id!r} has no sentence {missing[0]} but has "
                                               f"sentence {max(seen)}; expected ids 0 to {len(items) - 1}, each once")


def evaluate_model(model, rows: list[dict]) -> dict:
    """Score a model (saved or in memory) on labelled rows through the prediction path."""
    return score_rows(rows, label_rows(model, rows))


def evaluate_labelled(rows: list[dict], model) -> dict:
    """Score a loaded model on rows from `load_labelled`, context built with the model's own width."""
    return evaluate_model(model, with_contexts(rows, model.context_sentences))
