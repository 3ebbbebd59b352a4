"""Ablation on ../shared/dev: both models trained on seed only, + synthetic rounds 1-2, + actors, + round 3.

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
from pipeline.evaluate import evaluate_model, load_labelled  # noqa: E402
from pipeline.jsonl import load_rows  # noqa: E402

# Each variant adds one change to the one before; the last is the default configuration.
# "rounds" are the synthetic writing rounds (data/README.md), told apart by article id prefix.
ROUNDS_1_2 = tuple(f"syn_{x}_" for x in "abcdefgh")
VARIANTS = {
    "seed only": {"synthetic": (), "actors": False},
    "+ synthetic rounds 1-2": {"synthetic": ROUNDS_1_2, "actors": False},
    "+ actors": {"synthetic": ROUNDS_1_2, "actors": True},
    "+ synthetic round 3 (default)": {"synthetic": ("syn_",), "actors": True},
    # Leave-one-out for the fine-tuning length chosen on this set (configs/params.yaml).
    "default, finetune_epochs 2": {"synthetic": ("syn_",), "actors": True, "finetune_epochs": 2},
}


def train(name: str, rows: list[dict], spec: dict):
    labels = label_sets()
    if name == "baseline":
        return baseline.fit(rows, dict(params("baseline"), use_actors=spec["actors"]), labels)
    cfg = dict(params("transformer"), use_actors=spec["actors"])
    cfg["finetune_epochs"] = spec.get("finetune_epochs", cfg["finetune_epochs"])
    return transformer.fit_final(rows, cfg, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared/dev/labels.jsonl")
    parser.add_argument("--models", nargs="+", default=["baseline", "transformer"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="run only these; results of the others already in --out are kept")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/ablation_dev.json")
    args = parser.parse_args()
    if not args.dev.is_file():
        sys.exit(f"{args.dev} not found: the ablation needs the development set")
    everything = load_rows(ROOT / "data/prepare/sentences.jsonl")
    dev = load_labelled(args.dev, params("prepare")["context_sentences"])
    partial = set(args.variants) != set(VARIANTS) and args.out.is_file()
    results = {k: v for k, v in json.loads(args.out.read_text())["results"].items() if k in VARIANTS} if partial else {}
    for variant in args.variants:
        spec = VARIANTS[variant]
        rows = [r for r in everything if not r["synthetic"] or r["article_id"].startswith(spec["synthetic"])]
        for name in args.models:
            if name == "baseline" and "finetune_epochs" in spec:
                continue  # the baseline has no fine-tuning phase
            started = time.time()
            model = train(name, rows, spec)
            metrics = evaluate_model(model, dev)
            results.setdefault(variant, {})[name] = {
                t: {k: metrics[t][k] for k in ("macro_f1", "macro_f1_ci", "majority_macro_f1")} for t in TASKS}
            line = "  ".join(f"{t} {metrics[t]['macro_f1']:.3f} {metrics[t]['macro_f1_ci']}" for t in TASKS)
            print(f"{variant:30} {name:12} {line}  ({time.time() - started:.0f} s, {len(rows)} rows)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dev": str(args.dev.name), "n_dev": len(dev), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
