"""Learning curve on the event-grouped cross-validation: macro-F1 per task against the number of
real training articles, for the transformer and the baseline, over several training seeds.

    python bench/learning_curve.py [--sizes 0 25 50 100 200] [--seeds 13 14 15] [--models baseline transformer]
        [--out bench/results/learning_curve.json]

For every seed, size and fold of the stage's folds (data/split: every event in one fold), the model
trains on `size` articles drawn at random (by the seed) from that fold's training articles (0, or a
size above what the fold has: all of them) plus every train-only synthetic row, as the stages train
(`recipe.Recipe` for the transformer: one shared run on the synthetic rows per seed), and labels the
held-out fold. The held-out predictions of all folds are scored together by the shared metric
function, with the claimant not given, so the `0` point of each seed is the stage's CV with that
seed. Each finished (model, seed, size) is written at once to `<out stem>_runs.json` and skipped on a
rerun, so a killed run resumes. The mean over seeds per size goes to `--out` (transformer) and
`<out stem>_baseline.json`, the curves `dvc plots show` draws (dvc.yaml). Needs `dvc repro`'s
data/prepare and data/split outputs.
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

from pipeline.core.config import TASKS, label_sets, params  # noqa: E402
from pipeline.core.jsonl import load_rows  # noqa: E402
from pipeline.evaluation.scoring import align, score_rows  # noqa: E402
from pipeline.inference import label_rows  # noqa: E402
from pipeline.models import baseline  # noqa: E402
from pipeline.training.cv import join_folds  # noqa: E402
from pipeline.training.finetune import Trainer  # noqa: E402
from pipeline.training.recipe import Recipe  # noqa: E402
from pipeline.training.snapshot import model_info  # noqa: E402
from pipeline.training.transformer_config import TransformerConfig  # noqa: E402


def draw(train: list[dict], size: int, seed: int, fold: int) -> list[dict]:
    """The rows of `size` of the training articles (0 or more than there are: all)."""
    articles = sorted({r["article_id"] for r in train})
    if size == 0 or size >= len(articles):
        return train
    chosen = set(random.Random(seed * 1000 + fold).sample(articles, size))
    return [r for r in train if r["article_id"] in chosen]


def transformer_fitter(rows: list[dict], folds: list[dict], seed: int):
    cfg = TransformerConfig.from_params(dict(params("transformer"), seed=seed))
    recipe = Recipe(rows, join_folds(rows, folds), Trainer(cfg, label_sets(), "cpu", model_info(cfg.use_actors)))

    def fit(train: list[dict], fold: int):
        model = recipe.model(train, seed + fold, f"fold {fold}")
        model.sides = None  # the claimant is not given; decoding is compared in bench/claimant_decoding.py
        return model
    return fit


def baseline_fitter(rows: list[dict], folds: list[dict], seed: int):
    cfg, synthetic = params("baseline"), [r for r in rows if r["synthetic"]]
    info = model_info(cfg["use_actors"])

    def fit(train: list[dict], fold: int):
        model = baseline.fit(train + synthetic, cfg, label_sets(), info)
        model.sides = None
        return model
    return fit


def run(model: str, fit, rows: list[dict], folds: list[dict], seed: int, size: int) -> dict:
    """One point of one seed: every fold trained on `size` of its training articles, scored together."""
    started, fold_of = time.time(), join_folds(rows, folds)
    real = [r for r in rows if fold_of[r["uid"]] >= 0]
    predictions, used = [], []
    for fold in sorted({fold_of[r["uid"]] for r in real}):
        train = draw([r for r in real if fold_of[r["uid"]] != fold], size, seed, fold)
        test = [r for r in real if fold_of[r["uid"]] == fold]
        used.append(len({r["article_id"] for r in train}))
        predictions += [{"uid": r["uid"], **p} for r, p in zip(test, label_rows(fit(train, fold), test))]
    metrics = score_rows(*align(real, predictions))
    line = {"model": model, "seed": seed, "size": size, "real_articles": round(statistics.mean(used)),
            "seconds": round(time.time() - started)}
    line.update({t: metrics[t]["macro_f1"] for t in TASKS})
    line.update({f"{t}_ci": metrics[t]["macro_f1_ci"] for t in TASKS})
    print(json.dumps({k: v for k, v in line.items() if not k.endswith("_ci")}), flush=True)
    return line


def summary(runs: list[dict], model: str) -> list[dict]:
    """Mean (and sd) over seeds per size, in increasing order of training articles."""
    out = []
    for size in sorted({r["size"] for r in runs if r["model"] == model}, key=lambda s: s or 10**9):
        group = [r for r in runs if (r["model"], r["size"]) == (model, size)]
        line = {"model": model, "real_articles": round(statistics.mean(r["real_articles"] for r in group)),
                "seeds": len(group)}
        for task in TASKS:
            values = [r[task] for r in group]
            line[task] = round(statistics.mean(values), 4)
            line[f"{task}_sd"] = round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
        out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[0, 25, 50, 100, 200])
    parser.add_argument("--seeds", nargs="+", type=int, default=[13, 14, 15])
    parser.add_argument("--models", nargs="+", default=["baseline", "transformer"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/learning_curve.json")
    args = parser.parse_args()
    rows, folds = load_rows(ROOT / "data/prepare/sentences.jsonl"), load_rows(ROOT / "data/split/folds.jsonl")
    log = args.out.with_name(args.out.stem + "_runs.json")
    runs = json.loads(log.read_text())["runs"] if log.is_file() else []
    fitters: dict = {}  # one per (model, seed): the transformer's shared run is trained once a seed
    for model in args.models:
        for size in args.sizes:  # all seeds of a size before the next size, so the first sizes finish first
            for seed in args.seeds:
                if any((r["model"], r["seed"], r["size"]) == (model, seed, size) for r in runs):
                    continue  # done by an earlier, interrupted run
                same = [r for r in runs if (r["model"], r["size"]) == (model, size)]
                if model == "baseline" and size == 0 and same:  # deterministic, and every seed draws all articles
                    runs.append(dict(same[0], seed=seed, seconds=0))
                else:
                    if (model, seed) not in fitters:
                        fitters[(model, seed)] = (transformer_fitter if model == "transformer" else baseline_fitter)(
                            rows, folds, seed)
                    runs.append(run(model, fitters[(model, seed)], rows, folds, seed, size))
                save(runs, log, args.out)


def save(runs: list[dict], log: Path, out: Path) -> None:
    """Every run so far, and the curves of the sizes done so far (so a stopped run leaves both)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps({"folds": "event-grouped (data/split)", "runs": runs}, indent=2) + "\n")
    for model, path in (("transformer", out), ("baseline", out.with_name(out.stem + "_baseline.json"))):
        path.write_text(json.dumps(summary(runs, model), indent=2) + "\n")


if __name__ == "__main__":
    main()
