"""Stage `evaluate`: score a model's out-of-fold predictions with the shared metric function."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from pipeline.config import TASKS, label_sets, params
from pipeline.errors import DataError, UserError, cli
from pipeline.context import contexts
from pipeline.jsonl import load_rows, read_jsonl
from pipeline.metrics import score
from pipeline.schema import REQUIRED_WITH_TARGET, check_row, check_target
from pipeline.textio import check_output_path, write_atomic

log = logging.getLogger(__name__)


def align(gold_rows: list[dict], predictions: list[dict]) -> tuple[list[dict], list[dict]]:
    """Real gold rows and their predictions, in gold order; every real row must be predicted."""
    by_uid = {p["uid"]: p for p in predictions}
    gold = [row for row in gold_rows if not row["synthetic"]]
    missing = [row["uid"] for row in gold if row["uid"] not in by_uid]
    if missing:
        raise UserError(f"{len(missing)} real sentences have no prediction (first: {missing[0]})")
    scored = {row["uid"] for row in gold}
    extra = [uid for uid in by_uid if uid not in scored]
    if extra:
        raise UserError(f"prediction for {extra[0]}, which is not a real evaluation sentence")
    return gold, [by_uid[row["uid"]] for row in gold]


def write_metrics(path: Path, metrics: dict) -> None:
    write_atomic(path, json.dumps(metrics, indent=2) + "\n")


def write_confusions(folder: Path, gold: list[dict], predicted: list[dict]) -> None:
    """One {actual, predicted} list per task, drawn by DVC's confusion template."""
    folder.mkdir(parents=True, exist_ok=True)
    for task in TASKS:
        pairs = [{"actual": g[task], "predicted": p[task]} for g, p in zip(gold, predicted)]
        (folder / f"{task}.json").write_text(json.dumps(pairs, indent=1) + "\n", encoding="utf-8")


def load_labelled(path: Path, window: int) -> list[dict]:
    """Rows in the label-guide format, each with its target; context from the same article.

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
        texts = [row["text"] for _, row in items]
        for (_, item), context in zip(items, contexts(texts, window)):
            rows.append(dict(item, uid=f"{article_id}:{item['sentence_id']}", context=context, synthetic=False))
    return rows


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


def print_tables(metrics: dict, model: str, stream=None) -> None:
    for task in TASKS:
        m = metrics[task]
        print(f"{model} {task}: macro-F1 {m['macro_f1']:.3f} [{m['macro_f1_ci'][0]:.3f}, {m['macro_f1_ci'][1]:.3f}]"
              f"  accuracy {m['accuracy']:.3f}  majority {m['majority_macro_f1']:.3f}  n={m['n']}", file=stream)
        print("  " + "  ".join(f"{label} F1 {c['f1']:.2f} (n={c['support']})" for label, c in m["per_class"].items()),
              file=stream)


def log_metrics(metrics: dict, what: str) -> None:
    for task in TASKS:
        m = metrics[task]
        log.info("%s %s: macro-F1 %.3f [%.3f, %.3f], majority %.3f (n=%d)", what, task, m["macro_f1"],
                 *m["macro_f1_ci"], m["majority_macro_f1"], m["n"])


def score_rows(gold: list[dict], predicted: list[dict]) -> dict:
    """The shared metric function with the `evaluate` params: every score of every model goes through it."""
    cfg = params("evaluate")
    return score(gold, predicted, label_sets(), cfg["n_bootstrap"], cfg["seed"])


def evaluate_model(model, rows: list[dict]) -> dict:
    """Score a model (saved or in memory) on labelled rows through the prediction API."""
    from pipeline.predict import predict_rows

    return score_rows(rows, predict_rows(model, rows))


def evaluate_file(data: Path, model_name: str, model_dir: Path | None = None) -> dict:
    """Score a saved model on any labelled file."""
    from pipeline.predict import load_model

    rows = load_labelled(data, params("prepare")["context_sentences"])
    return evaluate_model(load_model(model_name, model_dir), rows)


@cli
def cli_main(argv: list[str] | None = None) -> None:
    """stance-evaluate: score a saved model on a labelled JSONL file."""
    parser = argparse.ArgumentParser(prog="stance-evaluate", description="Score a saved model on labelled sentences "
                                     "(rows with article_id, sentence_id, text, target, speaker, stance, role).")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="transformer", help="transformer or baseline (default: transformer)")
    parser.add_argument("--model-dir", type=Path, help="model folder (default: models/<model>)")
    parser.add_argument("--out", type=Path, help="write the metrics JSON here (same shape as metrics/<model>.json)")
    args = parser.parse_args(argv)
    if args.out:
        check_output_path(args.out)
    metrics = evaluate_file(args.data, args.model, args.model_dir)
    if args.out:
        write_metrics(args.out, metrics)
    print_tables(metrics, args.model)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="prepared sentences (gold labels)")
    parser.add_argument("--predictions", type=Path, required=True, help="out-of-fold predictions")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args(argv)
    gold, predicted = align(load_rows(args.data), load_rows(args.predictions))
    metrics = score_rows(gold, predicted)
    write_metrics(args.metrics, metrics)
    write_confusions(args.plots, gold, predicted)
    log_metrics(metrics, "cross-validation")


if __name__ == "__main__":
    main()
