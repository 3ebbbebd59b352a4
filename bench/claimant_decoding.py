"""Stance decoded by speaker side, on the out-of-fold predictions of the event-grouped CV: the
model's own stances, each article's claimant given (its meta's `target_by`), and the claimant
inferred from the model's own labels by three rules, with each rule's accuracy per article:

- `weight`: the product's rule (pipeline/models/side_decoding.py, `decode.infer_claimant`): the
  side whose sentences most confidently put the target forward (speaker x support x claim);
- `count`: two passes, the side of most non-narrator sentences the model labels `support`;
- `learned`: an article-level predictor (logistic regression) trained on the corpus's `target_by`
  from per-side sums of the model's scores and which sides the target names; fitted on the other
  folds' articles only, so every article's claimant is inferred out of fold too.

Reads only files `dvc repro` writes.

    python bench/claimant_decoding.py [--out bench/results/claimant_decoding.json]
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline.core.config import ROOT
from pipeline.core.jsonl import load_rows
from pipeline.evaluation.scoring import align, score_rows
from pipeline.models.side_decoding import SIDES, apply_sides, configured_sides, infer_claimant

# Words in a target that name a side: the party a target names is usually the one accused.
SIDE_WORDS = {"russia": ("Russia", "Russian", "Moscow", "Kremlin", "Putin"),
              "ukraine": ("Ukraine", "Ukrainian", "Kyiv", "Zelensky", "Zelenskyy"),
              "us": ("US", "U.S.", "American", "Washington", "Trump", "Biden")}


def count_rule(records: list[dict]) -> str:
    """The side of most non-narrator sentences labelled support (ties and none: the weight rule)."""
    votes = Counter(r["speaker"] for r in records if r["speaker"] != "narrator" and r["stance"] == "support")
    best = [side for side in SIDES if votes and votes.get(side) == max(votes.values())]
    return best[0] if len(best) == 1 else infer_claimant(records)


def features(target: str, records: list[dict]) -> list[float]:
    """Per side: mean P(speaker = side) x P(support), x P(deny), x P(claim), x P(rebuttal); and
    whether the target names russia, ukraine or us."""
    out = []
    for side in SIDES:
        for task, label in (("stance", "support"), ("stance", "deny"), ("role", "claim"), ("role", "rebuttal")):
            out.append(float(np.mean([r["scores"]["speaker"][side] * r["scores"][task][label] for r in records])))
    words = set(re.findall(r"[A-Za-z.]+", target))
    return out + [float(any(w in words for w in names)) for names in SIDE_WORDS.values()]


def stance(gold: list[dict], records: list[dict]) -> dict:
    m = score_rows(gold, records)["stance"]
    return {"macro_f1": m["macro_f1"], "macro_f1_ci": m["macro_f1_ci"]}


def by_article(gold: list[dict]) -> dict[str, list[int]]:
    articles: dict[str, list[int]] = {}
    for i, g in enumerate(gold):
        articles.setdefault(g["article_id"], []).append(i)
    return articles


def learned_claimants(gold: list[dict], predicted: list[dict], fold_of: dict[str, int]) -> dict[str, str]:
    """Each article's claimant by the article-level predictor fitted on the other folds' articles."""
    articles = by_article(gold)
    x = {a: features(gold[m[0]]["target"], [predicted[i] for i in m]) for a, m in articles.items()}
    truth = {a: gold[m[0]]["claimant"] for a, m in articles.items()}
    out = {}
    for fold in sorted(set(fold_of.values())):
        train = np.array([x[a] for a in articles if fold_of[a] != fold])
        mean, scale = train.mean(0), train.std(0) + 1e-6
        model = LogisticRegression(max_iter=2000).fit((train - mean) / scale,
                                                      [truth[a] for a in articles if fold_of[a] != fold])
        for a in articles:
            if fold_of[a] == fold:
                out[a] = str(model.predict(((np.array(x[a]) - mean) / scale)[None])[0])
    return out


def model_figures(model: str, rows: list[dict], fold_of: dict[str, int]) -> dict:
    gold, predicted = align(rows, load_rows(ROOT / "models" / model / "oof.jsonl"))
    sides = dict(configured_sides() or {"sides": {}}, infer=False)
    articles = by_article(gold)
    truth = {a: gold[m[0]]["claimant"] for a, m in articles.items()}
    inferred = {name: {a: rule([predicted[i] for i in m]) for a, m in articles.items()}
                for name, rule in (("weight", infer_claimant), ("count", count_rule))}
    inferred["learned"] = learned_claimants(gold, predicted, fold_of)
    out = {"articles": len(articles), "stance_own": stance(gold, predicted),
           "stance_claimant_given": stance(gold, apply_sides([dict(g, target_by=truth[g["article_id"]]) for g in gold],
                                                             predicted, sides))}
    for name, claimant in inferred.items():
        decoded = apply_sides([dict(g, target_by=claimant[g["article_id"]]) for g in gold], predicted, sides)
        out[f"inferred_{name}"] = {"accuracy": round(sum(claimant[a] == truth[a] for a in articles) / len(articles), 4),
                                   "stance": stance(gold, decoded)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "claimant_decoding.json")
    args = parser.parse_args()
    rows = [r for r in load_rows(ROOT / "data" / "prepare" / "sentences.jsonl") if not r["synthetic"]]
    folds = {f["uid"]: f["fold"] for f in load_rows(ROOT / "data" / "split" / "folds.jsonl")}
    fold_of = {r["article_id"]: folds[r["uid"]] for r in rows}
    results = {model: model_figures(model, rows, fold_of) for model in ("baseline", "transformer")}
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
