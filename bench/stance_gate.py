"""Does a "bears on the target at all" gate help stance? Measured on the event-grouped CV's
out-of-fold predictions, before building it into the model.

    python bench/stance_gate.py [--out bench/results/stance_gate.json]

The gate uses what the pretrained sentence encoder (all-MiniLM-L6-v2, not fine-tuned) was trained
for: the cosine similarity of a sentence (with its context sentence) and the article's target. A
sentence below a threshold gets stance `neutral`; above it the model's stance stands. The threshold
of each fold is chosen on the other folds' out-of-fold rows (the one that maximises their stance
macro-F1), so every sentence is gated by a threshold it did not choose. Reads only files
`dvc repro` writes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pipeline.core.config import ROOT, params
from pipeline.core.jsonl import load_rows
from pipeline.evaluation.f1 import macro_f1
from pipeline.evaluation.scoring import align, score_rows
from pipeline.models.encoders import model_source

STANCES = ["support", "deny", "neutral"]


def embed(texts: list[str], batch: int = 64) -> np.ndarray:
    """Mean-pooled, normalised sentence embeddings of the pretrained encoder."""
    source = model_source(params("transformer")["model"])
    tokenizer, model = AutoTokenizer.from_pretrained(source), AutoModel.from_pretrained(source).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            enc = tokenizer(texts[start:start + batch], padding=True, truncation=True, max_length=128,
                            return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


def gated(predicted: list[dict], sims: np.ndarray, threshold: float) -> list[dict]:
    return [dict(p, stance="neutral") if s < threshold else p for p, s in zip(predicted, sims)]


def best_threshold(gold: list[dict], predicted: list[dict], sims: np.ndarray) -> float:
    candidates = [-1.0, *np.quantile(sims, np.linspace(0.02, 0.5, 25))]
    score = [macro_f1([g["stance"] for g in gold], [p["stance"] for p in gated(predicted, sims, t)], STANCES)
             for t in candidates]
    return float(candidates[int(np.argmax(score))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "stance_gate.json")
    args = parser.parse_args()
    rows = [r for r in load_rows(ROOT / "data/prepare/sentences.jsonl") if not r["synthetic"]]
    gold, predicted = align(rows, load_rows(ROOT / "models/transformer/oof.jsonl"))
    fold_of = {f["uid"]: f["fold"] for f in load_rows(ROOT / "data/split/folds.jsonl")}
    targets = sorted({g["target"] for g in gold})
    target_vec = dict(zip(targets, embed(targets)))
    sentence_vec = embed([f"{g['context']} {g['text']}" for g in gold])
    sims = np.array([float(v @ target_vec[g["target"]]) for v, g in zip(sentence_vec, gold)])
    folds = np.array([fold_of[g["uid"]] for g in gold])
    out, thresholds = list(predicted), {}
    for fold in sorted(set(folds)):
        train = np.where(folds != fold)[0]
        t = best_threshold([gold[i] for i in train], [predicted[i] for i in train], sims[train])
        thresholds[int(fold)] = round(t, 4)
        for i in np.where(folds == fold)[0]:
            out[i] = gated([predicted[i]], sims[i:i + 1], t)[0]
    result = {"thresholds_by_fold": thresholds, "gated_share": round(float(np.mean(
                  [o["stance"] == "neutral" and p["stance"] != "neutral" for o, p in zip(out, predicted)])), 4)}
    for name, preds in (("model", predicted), ("gated", out)):
        m = score_rows(gold, preds)["stance"]
        result[name] = {"stance_macro_f1": m["macro_f1"], "ci": m["macro_f1_ci"]}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
