"""Learning curve and training-data ablation on ../shared/dev: macro-F1 per task against the
number of real training articles, and the real corpus with and without the synthetic articles.

    python bench/learning_curve.py [--sizes 1 10 20 0] [--seeds 13 14 15] [--no-real-only]
        [--dev ../shared/dev/labels.jsonl] [--out bench/results/learning_curve.json]

Size 1 is the seed article alone (the project before the real corpus: seed + synthetic), 0 means
every real article. Each transformer seed draws its own random article subsets (the seed article
always in), trains the shared run on the synthetic rows once, then fine-tunes on each subset as the
stage does (`recipe.Recipe`, configs/params.yaml; with its teacher where `distill_weight` is set).
"real only" trains from the pretrained encoder on every real article and no synthetic row. The baseline (deterministic) is trained once per
subset of the first seed. Scores use the shared metric function; the transformer's mean over seeds
per size goes to --out (the curve `dvc plots show` draws, see dvc.yaml), and the mean and standard
deviation of every model and setting, and every run with its intervals, to `<out stem>_runs.json`. Needs `dvc repro`'s data/prepare output.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.models import baseline  # noqa: E402
from pipeline.training.snapshot import model_info  # noqa: E402
from pipeline.training.finetune import Trainer  # noqa: E402
from pipeline.training.recipe import Recipe  # noqa: E402
from pipeline.core.config import TASKS, label_sets, params  # noqa: E402
from pipeline.evaluation.labelled import evaluate_model, load_labelled, with_contexts  # noqa: E402
from pipeline.core.jsonl import load_rows  # noqa: E402
from pipeline.data.schema import TRAIN_ONLY  # noqa: E402
from pipeline.training.transformer_config import TransformerConfig  # noqa: E402

SEED_ARTICLE = "000_1ec38597c2fd01f3"


def subset(real: list[dict], size: int, seed: int) -> list[dict]:
    """The real rows of `size` articles (0: all): the seed article and a random draw of the others."""
    others = sorted({r["article_id"] for r in real} - {SEED_ARTICLE})
    if size == 0 or size - 1 >= len(others):
        return real
    chosen = {SEED_ARTICLE, *random.Random(seed).sample(others, size - 1)}
    return [r for r in real if r["article_id"] in chosen]


def result(model: str, setting: str, rows: list[dict], seed: int, metrics: dict, started: float) -> dict:
    line = {"model": model, "setting": setting, "real_articles": len({r["article_id"] for r in rows}),
            "real_sentences": len(rows), "seed": seed, "seconds": round(time.time() - started)}
    line.update({t: metrics[t]["macro_f1"] for t in TASKS})
    line.update({f"{t}_ci": metrics[t]["macro_f1_ci"] for t in TASKS})
    print(json.dumps({k: v for k, v in line.items() if not k.endswith("_ci")}), flush=True)
    return line


def transformer_runs(rows: list[dict], sizes: list[int], seed: int, dev: list[dict], real_only: bool) -> list[dict]:
    """Every size for one seed: one shared run on the synthetic rows, then one fine-tuning per subset."""
    labels, cfg, out = label_sets(), TransformerConfig.from_params(dict(params("transformer"), seed=seed)), []
    real = [r for r in rows if not r["synthetic"]]
    fold_of = {r["uid"]: TRAIN_ONLY if r["synthetic"] else 0 for r in rows}
    started = time.time()
    info = model_info(cfg.use_actors)
    recipe = Recipe(rows, fold_of, Trainer(cfg, labels, "cpu", info))
    for size in sizes:
        train = subset(real, size, seed)
        out.append(result("transformer", "synthetic + real", train, seed, evaluate_model(recipe.model(train, seed), dev),
                          started))
        started = time.time()
    if real_only:  # no train-only rows: trained from the pretrained encoder for `epochs`
        model = Recipe(real, {r["uid"]: 0 for r in real}, Trainer(cfg, labels, "cpu", info)).model(real, seed)
        out.append(result("transformer", "real only", real, seed, evaluate_model(model, dev), started))
    return out


def summary(runs: list[dict]) -> list[dict]:
    """Mean macro-F1 over seeds per (model, setting, size), for the plot."""
    keys = sorted({(r["model"], r["setting"], r["real_articles"]) for r in runs})
    out = []
    for model, setting, size in keys:
        group = [r for r in runs if (r["model"], r["setting"], r["real_articles"]) == (model, setting, size)]
        line = {"model": model, "setting": setting, "real_articles": size, "seeds": len(group)}
        for task in TASKS:
            values = [r[task] for r in group]
            line[task] = round(statistics.mean(values), 4)
            line[f"{task}_sd"] = round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
        out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared/dev/labels.jsonl")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 10, 20, 0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[13, 14, 15])
    parser.add_argument("--no-real-only", dest="real_only", action="store_false")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/learning_curve.json")
    args = parser.parse_args()
    if not args.dev.is_file():
        sys.exit(f"{args.dev} not found: the learning curve is measured on the development set")
    rows = load_rows(ROOT / "data/prepare/sentences.jsonl")
    dev = with_contexts(load_labelled(args.dev), params("prepare")["context_sentences"])
    runs = []
    for size in args.sizes:
        train = subset([r for r in rows if not r["synthetic"]], size, args.seeds[0])
        train += [r for r in rows if r["synthetic"]]
        started = time.time()
        model = baseline.fit(train, params("baseline"), label_sets(), model_info(params("baseline")["use_actors"]))
        runs.append(result("baseline", "synthetic + real", [r for r in train if not r["synthetic"]], 0,
                           evaluate_model(model, dev), started))
    for seed in args.seeds:
        runs += transformer_runs(rows, args.sizes, seed, dev, args.real_only)
    table = summary(runs)
    curve = [line for line in table if (line["model"], line["setting"]) == ("transformer", "synthetic + real")]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(curve, indent=2) + "\n")
    args.out.with_name(args.out.stem + "_runs.json").write_text(
        json.dumps({"dev": args.dev.name, "n_dev": len(dev), "summary": table, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
