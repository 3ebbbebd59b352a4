"""Stance decoded by speaker side, on the out-of-fold predictions: the model's own stances, the
article's claimant given (its meta file's `target_by`), and the claimant inferred from the model's
own labels; with the inference's accuracy per article. Reads only files `dvc repro` writes.

    python bench/claimant_decoding.py [--out bench/results/claimant_decoding.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.core.config import ROOT
from pipeline.core.jsonl import load_rows
from pipeline.evaluation.scoring import align, score_rows
from pipeline.models.side_decoding import apply_sides, configured_sides, infer_claimant

def claimants() -> dict[str, str]:
    """Each real article's target_by, from its meta file."""
    out = {}
    for path in (ROOT / "seeds").glob("*.meta.json"):
        meta = json.loads(path.read_text(encoding="utf-8"))
        out[meta["article_id"]] = meta.get("target_by")
    return out


def stance(gold: list[dict], records: list[dict]) -> dict:
    m = score_rows(gold, records)["stance"]
    return {"macro_f1": m["macro_f1"], "macro_f1_ci": m["macro_f1_ci"]}


def model_figures(model: str, rows: list[dict], by: dict[str, str]) -> dict:
    gold, predicted = align(rows, load_rows(ROOT / "models" / model / "oof.jsonl"))
    sides = configured_sides()
    given = [dict(g, target_by=by[g["article_id"]]) for g in gold]
    articles: dict[str, list[int]] = {}
    for i, g in enumerate(gold):
        articles.setdefault(g["article_id"], []).append(i)
    inferred = {a: infer_claimant([predicted[i] for i in members]) for a, members in articles.items()}
    return {"stance_own": stance(gold, predicted),
            "stance_claimant_given": stance(gold, apply_sides(given, predicted, dict(sides, infer=False))),
            "stance_claimant_inferred": stance(gold, apply_sides(gold, predicted, dict(sides, infer=True))),
            "claimant_inference_accuracy": round(sum(inferred[a] == by[a] for a in articles) / len(articles), 4),
            "articles": len(articles)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "claimant_decoding.json")
    args = parser.parse_args()
    rows, by = load_rows(ROOT / "data" / "prepare" / "sentences.jsonl"), claimants()
    results = {model: model_figures(model, rows, by) for model in ("baseline", "transformer")}
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
