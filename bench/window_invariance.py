"""Does a sentence's label depend on anything but its own window? Every sentence of ../shared/dev
labelled inside its whole article against the same sentence labelled after only the
`context_sentences` before it (same target; no claimant, and each side given as claimant).

    python bench/window_invariance.py [--model-dir models/transformer] [--out bench/results/window_invariance.json]

Writes the number of sentences whose labels differ and the largest score difference, per claimant.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pipeline
from pipeline.core.config import TASKS
from pipeline.inference import label_stream

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "dev" / "labels.jsonl"


def articles(path: Path) -> list[tuple[list[str], str]]:
    rows: dict[str, list[dict]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows.setdefault(row["article_id"], []).append(row)
    return [([r["text"] for r in sorted(v, key=lambda r: r["sentence_id"])], v[0]["target"]) for v in rows.values()]


def compare(model, texts: list[str], target: str, target_by: str | None) -> tuple[int, float, int]:
    """(sentences whose labels differ, largest score difference, sentences) for one article."""
    inside = list(label_stream(model, texts, target, target_by))
    k, differ, most = model.context_sentences, 0, 0.0
    for i, record in enumerate(inside):
        alone = list(label_stream(model, texts[max(0, i - k):i + 1], target, target_by))[-1]
        differ += any(record[t] != alone[t] for t in TASKS)
        most = max([most] + [abs(s - alone["scores"][t][label]) for t in TASKS for label, s in record["scores"][t].items()])
    return differ, most, len(inside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "transformer")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "window_invariance.json")
    args = parser.parse_args()
    model, data, out = pipeline.load_model(args.model_dir, "cpu"), articles(DEV), {}
    for target_by in (None, "russia", "ukraine"):
        started = time.time()
        results = [compare(model, texts, target, target_by) for texts, target in data]
        out[str(target_by)] = {"sentences": sum(r[2] for r in results), "labels_differ": sum(r[0] for r in results),
                               "max_score_difference": round(max(r[1] for r in results), 6),
                               "seconds": round(time.time() - started, 1)}
    args.out.write_text(json.dumps({"model_dir": str(args.model_dir), "dev": str(DEV), "claimant": out}, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
