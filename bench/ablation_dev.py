"""Ablation on ../shared/dev: both models trained on seed only, + synthetic rounds 1-2, + actors,
+ round 3, + the second and third annotation of the synthetic labels, + weight interpolation after
fine-tuning (the default; transformer only).

    python bench/ablation_dev.py [--dev ../shared/dev/labels.jsonl] [--variants ...] [--seeds 13 14 15]
        [--out bench/results/ablation_dev.json]

Each variant trains the final model as the stages do (no cross-validation) and scores it
on the dev set with the shared metric function (95% bootstrap intervals). Needs `dvc repro`'s
data/prepare output with synthetic rows in it. With several --seeds, each variant is trained once
per seed (the transformer's seed; the baseline is deterministic) and the macro-F1 of each is kept;
the intervals are the first seed's.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.models import baseline  # noqa: E402
from pipeline.training.finetune import Trainer  # noqa: E402
from pipeline.training.recipe import fit_final  # noqa: E402
from pipeline.training.snapshot import model_info  # noqa: E402
from pipeline.training.transformer_config import TransformerConfig  # noqa: E402
from pipeline.core.config import TASKS, label_sets, params  # noqa: E402
from pipeline.evaluation.labelled import evaluate_model, load_labelled, with_contexts  # noqa: E402
from pipeline.core.jsonl import load_rows  # noqa: E402

# Each variant adds one change to the one before; the last is the default configuration.
# "rounds" are the synthetic writing rounds (data/README.md), told apart by article id prefix.
# "labels": "writer" trains on the writers' own synthetic labels (data/review), the others on the
# majority vote of three annotators that data/synthetic/annotations holds.
ROUNDS_1_2 = tuple(f"syn_{x}_" for x in "abcdefgh")
# Rows before "+ weight interpolation" fine-tune plainly (finetune_interpolation 1), as they were measured.
PLAIN = {"finetune_interpolation": 1.0}
VARIANTS = {
    "seed only": {"synthetic": (), "actors": False},
    "+ synthetic rounds 1-2": {"synthetic": ROUNDS_1_2, "actors": False, "labels": "writer", **PLAIN},
    "+ actors": {"synthetic": ROUNDS_1_2, "actors": True, "labels": "writer", **PLAIN},
    "+ synthetic round 3": {"synthetic": ("syn_",), "actors": True, "labels": "writer", **PLAIN},
    "+ second and third annotation": {"synthetic": ("syn_",), "actors": True, **PLAIN},
    # Leave-one-out for the fine-tuning length chosen on this set (configs/params.yaml), measured
    # before the interpolation was added.
    "+ second and third annotation, finetune_epochs 2": {
        "synthetic": ("syn_",), "actors": True, "finetune_epochs": 2, **PLAIN,
        "models": ("transformer",)},
    "+ weight interpolation (default)": {"synthetic": ("syn_",), "actors": True, "models": ("transformer",)},
}
# Transformer params a variant may set instead of configs/params.yaml's.
TRANSFORMER_KEYS = ("finetune_epochs", "finetune_interpolation")
REVIEW = ROOT / "data/review/synthetic_labels.jsonl"
SEED_ARTICLE = "000_1ec38597c2fd01f3"


def training_rows(everything: list[dict], spec: dict) -> list[dict]:
    """The prepared rows a variant trains on, with the writers' labels where it asks for them."""
    # The ablation describes the project before the real corpus: the seed is its only real article
    # (bench/learning_curve.py measures the real corpus).
    rows = [r for r in everything if r["article_id"] == SEED_ARTICLE
            or (r["synthetic"] and r["article_id"].startswith(spec["synthetic"]))]
    if spec.get("labels") != "writer":
        return rows
    writer = {(r["article_id"], r["sentence_id"]): r["first"] for r in load_rows(REVIEW)}
    return [dict(r, **writer[r["article_id"], r["sentence_id"]]) if r["synthetic"] else r for r in rows]


def train(name: str, rows: list[dict], spec: dict, seed: int):
    labels = label_sets()
    if name == "baseline":
        return baseline.fit(rows, dict(params("baseline"), use_actors=spec["actors"]), labels, model_info(spec["actors"]))
    cfg = dict(params("transformer"), use_actors=spec["actors"], seed=seed)
    cfg.update({k: spec[k] for k in TRANSFORMER_KEYS if k in spec})
    return fit_final(rows, Trainer(TransformerConfig.from_params(cfg), labels, "cpu", model_info(spec["actors"])))


def score_variant(variant: str, name: str, rows: list[dict], spec: dict, seeds: list[int], dev: list[dict]) -> dict:
    """One model of one variant on dev: the first seed's macro-F1 and intervals, every seed's macro-F1."""
    entry: dict = {}
    for seed in seeds:
        started = time.time()
        metrics = evaluate_model(train(name, rows, spec, seed), dev)
        if not entry:
            entry = {t: {k: metrics[t][k] for k in ("macro_f1", "macro_f1_ci", "majority_macro_f1")} for t in TASKS}
        entry.setdefault("macro_f1_by_seed", {})[str(seed)] = {t: metrics[t]["macro_f1"] for t in TASKS}
        line = "  ".join(f"{t} {metrics[t]['macro_f1']:.3f} {metrics[t]['macro_f1_ci']}" for t in TASKS)
        print(f"{variant:32} {name:12} seed {seed} {line}  ({time.time() - started:.0f} s, {len(rows)} rows)", flush=True)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared/dev/labels.jsonl")
    parser.add_argument("--models", nargs="+", default=["baseline", "transformer"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="run only these; results of the others already in --out are kept")
    parser.add_argument("--seeds", nargs="+", type=int, default=[params("transformer")["seed"]],
                        help="transformer seeds; each variant is trained once per seed")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/ablation_dev.json")
    args = parser.parse_args()
    if not args.dev.is_file():
        sys.exit(f"{args.dev} not found: the ablation needs the development set")
    everything = load_rows(ROOT / "data/prepare/sentences.jsonl")
    dev = with_contexts(load_labelled(args.dev), params("prepare")["context_sentences"])
    partial = set(args.variants) != set(VARIANTS) and args.out.is_file()
    results = {k: v for k, v in json.loads(args.out.read_text())["results"].items() if k in VARIANTS} if partial else {}
    for variant in args.variants:
        spec = VARIANTS[variant]
        rows = training_rows(everything, spec)
        for name in args.models:
            if name not in spec.get("models", (name,)):
                continue  # a transformer-only change: the baseline would repeat the row above
            seeds = args.seeds if name == "transformer" else args.seeds[:1]
            results.setdefault(variant, {})[name] = score_variant(variant, name, rows, spec, seeds, dev)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dev": str(args.dev.name), "n_dev": len(dev), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
