"""`stance-evaluate`: score a saved model on a labelled JSONL file."""
from __future__ import annotations

# Run as `python -m ...`, this file hands over to its console entry point before the imports below
# (scikit-learn and the model code: seconds), which imports it again as a module with Ctrl-C guarded:
# an interrupt during those imports is then `error: interrupted`, exit 130, not a traceback.
from pipeline.commands.entry import stance_evaluate  # standard library only

if __name__ == "__main__":
    raise SystemExit(stance_evaluate())

import argparse
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import cli
from pipeline.core.textio import check_output_path
from pipeline.evaluation.labelled import evaluate_labelled, load_labelled
from pipeline.evaluation.scoring import write_metrics
from pipeline.api import MODELS, model_folder
from pipeline.models import load_model


def print_tables(metrics: dict, model: str, stream=None) -> None:
    for task in TASKS:
        m = metrics[task]
        print(f"{model} {task}: macro-F1 {m['macro_f1']:.3f} [{m['macro_f1_ci'][0]:.3f}, {m['macro_f1_ci'][1]:.3f}]"
              f"  accuracy {m['accuracy']:.3f}  majority {m['majority_macro_f1']:.3f}  n={m['n']}", file=stream)
        print("  " + "  ".join(f"{label} F1 {c['f1']:.2f} (n={c['support']})" for label, c in m["per_class"].items()),
              file=stream)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stance-evaluate", description="Score a saved model on labelled sentences "
                                     "(rows with article_id, sentence_id, text, target, speaker, stance, role).")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="transformer", help=f"one of {', '.join(MODELS)} (default: transformer)")
    parser.add_argument("--model-dir", type=Path, help="model folder (default: models/<model>)")
    parser.add_argument("--out", type=Path, help="write the metrics JSON here (same shape as metrics/<model>.json)")
    args = parser.parse_args(argv)
    if args.out:
        check_output_path(args.out)
    folder = args.model_dir or model_folder(args.model)
    model_folder(args.model)  # the name is checked even with --model-dir
    rows = load_labelled(args.data)  # checked whole before the model loads
    metrics = evaluate_labelled(rows, load_model(folder))
    if args.out:
        write_metrics(args.out, metrics)
    print_tables(metrics, args.model)

