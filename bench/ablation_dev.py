"""Ablation on ../shared/dev: both models trained on seed only, + synthetic, + actors.

    python bench/ablation_dev.py [--dev ../shared/dev/labels.jsonl] [--out bench/results/ablation_dev.json]

Each variant trains the final model as the stages do (no cross-validation) and scores it
on the dev set with the shared metric function (95% bootstrap intervals). Needs `dvc repro`'s
data/prepare output with synthetic rows in it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import baseline, transformer  # noqa: E402
from pipeline.config import TASKS, label_sets, params  # noqa: E402
from pipeline.evaluate import load_labelled  # noqa: E402
from pipeline.jsonl import load_rows  # noqa: E402
from pipeline.metrics import score  # noqa: E402
from pipeline.predict import predict_rows  # noqa: E402
from pipeline.training_log import TrainingLog  # noqa: E402

VARIANTS = {
    "seed only": {"synthetic": False, "actors": False},
    "+ synthetic": {"synthetic": True, "actors": False},
    "+ actors": {"synthetic": True, "actors": True},
}


def train(name: str, rows: list[dict], actors: bool):
    labels = label_sets()
    if name == "baseline":
        return baseline.fit(rows, dict(params("baseline"), use_actors=actors), labels)
    # The stage's own procedure for its final model: one run on the synthetic rows, then fine-tuning on the real ones.
    cfg, history, cache = dict(params("transformer"), use_actors=actors), TrainingLog(labels), {}
    folds = [{"uid": r["uid"], "fold": -1 if r["synthetic"] else 0} for r in rows]
    start, real, tune = transformer.train_only_phase(rows, folds, cfg, labels, "cpu", history, cache)
    return transformer.fit(real, [], tune, labels, "cpu", cfg["seed"], history, "final", cache, start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared/dev/labels.jsonl")
    parser.add_argument("--models", nargs="+", default=["baseline", "transformer"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/ablation_dev.json")
    args = parser.parse_args()
    if not args.dev.is_file():
        sys.exit(f"{args.dev} not found: the ablation needs the development set")
    everything = load_rows(ROOT / "data/prepare/sentences.jsonl")
    dev = load_labelled(args.dev, params("prepare")["context_sentences"])
    ev = params("evaluate")
    results = {}
    for variant, spec in VARIANTS.items():
        rows = [r for r in everything if spec["synthetic"] or not r["synthetic"]]
        for name in args.models:
            started = time.time()
            model = train(name, rows, spec["actors"])
            metrics = score(dev, predict_rows(model, dev), label_sets(), ev["n_bootstrap"], ev["seed"])
            results.setdefault(variant, {})[name] = {
                t: {k: metrics[t][k] for k in ("macro_f1", "macro_f1_ci", "majority_macro_f1")} for t in TASKS}
            line = "  ".join(f"{t} {metrics[t]['macro_f1']:.3f} {metrics[t]['macro_f1_ci']}" for t in TASKS)
            print(f"{variant:12} {name:12} {line}  ({time.time() - started:.0f} s, {len(rows)} rows)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dev": str(args.dev.name), "n_dev": len(dev), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
