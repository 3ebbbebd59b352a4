"""Choose the transformer's fine-tuning schedule and stance decoding by the event-grouped CV.

    python bench/cv_sweep.py [--configs JSON ...] [--out bench/results/cv_sweep.json]

Each config is a JSON object of transformer params overriding configs/params.yaml (for example
'{"finetune_epochs": 3, "finetune_interpolation": 1.0}'); '{"synthetic": false}' trains every fold
from the pretrained encoder on its real rows alone for `epochs`. The shared run on the synthetic
rows is trained once per config (with its teacher where `distill_weight` is set, as the stage
does: pipeline/training/recipe.py). Every config is scored out of fold on the
stage's folds (data/split) with the shared metric function, three ways: the model's own labels;
stance direction from the speaker's side relative to the inferred claimant (pipeline/models/side_decoding.py,
`decode.sides` in configs/params.yaml); the same with each article's given claimant (`target_by`
in seeds/<id>.meta.json: an upper bound, since users rarely give it). Needs `dvc repro`'s
data/prepare and data/split outputs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.training.finetune import Trainer  # noqa: E402
from pipeline.training.recipe import Recipe  # noqa: E402
from pipeline.core.config import TASKS, label_sets, params  # noqa: E402
from pipeline.training.cv import join_folds, out_of_fold  # noqa: E402
from pipeline.training.snapshot import model_info  # noqa: E402
from pipeline.evaluation.scoring import align, score_rows  # noqa: E402
from pipeline.core.jsonl import load_rows  # noqa: E402
from pipeline.models.side_decoding import apply_sides  # noqa: E402
from pipeline.training.transformer_config import TransformerConfig  # noqa: E402


def claimants() -> dict[str, str]:
    out = {}
    for path in sorted((ROOT / "seeds").glob("*.meta.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("target_by"):
            out[path.name.removesuffix(".meta.json")] = meta["target_by"]
    return out


def scored(rows: list[dict], oof: list[dict]) -> dict:
    """Macro-F1 (with interval) per task of out-of-fold predictions, plain and with side decoding."""
    gold, predicted = align(rows, oof)
    sides = params("decode")["sides"]
    given = claimants()
    variants = {"model": predicted,
                "sides, inferred claimant": apply_sides(gold, predicted, {"sides": sides, "infer": True}),
                "sides, given claimant": apply_sides([dict(g, target_by=given.get(g["article_id"])) for g in gold],
                                                     predicted, {"sides": sides, "infer": False})}
    out = {}
    for name, preds in variants.items():
        metrics = score_rows(gold, preds)
        out[name] = {t: {"macro_f1": metrics[t]["macro_f1"], "ci": metrics[t]["macro_f1_ci"]} for t in TASKS}
    return out


def plain(model):
    """The model's own labels: side decoding is applied (and compared) in `scored`."""
    model.sides = None
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=['{}'])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/cv_sweep.json")
    args = parser.parse_args()
    rows, folds = load_rows(ROOT / "data/prepare/sentences.jsonl"), load_rows(ROOT / "data/split/folds.jsonl")
    labels, base = label_sets(), params("transformer")
    info = model_info(base["use_actors"])
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for text in args.configs:
        change = json.loads(text)
        started = time.time()
        cfg = dict(base, **{k: v for k, v in change.items() if k != "synthetic"})
        used = rows if change.get("synthetic", True) else [r for r in rows if not r["synthetic"]]
        trainer = Trainer(TransformerConfig.from_params(cfg), labels, "cpu", info)
        recipe = Recipe(used, join_folds(used, folds), trainer)
        oof = out_of_fold(recipe.real, folds, lambda train, fold, test: plain(recipe.model(train, cfg["seed"] + fold)))
        results[text] = {"seconds": round(time.time() - started), **scored(rows, oof)}
        print(text, json.dumps({k: {t: v[t]["macro_f1"] for t in TASKS} for k, v in results[text].items()
                                if k != "seconds"}), f"{results[text]['seconds']} s", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
