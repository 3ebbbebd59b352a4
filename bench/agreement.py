"""Agreement between the annotators of the synthetic corpus (data/review/synthetic_labels.jsonl).

    python bench/agreement.py [--review data/review/synthetic_labels.jsonl] [--out bench/results/agreement.json]

Every synthetic sentence was labelled by its writer (first) and again, blind, by a second
annotator; where they differed, a third blind annotator labelled it. Per task this prints and
writes raw agreement, Cohen's kappa and macro-F1 of the second annotator against the first, and
how many labels the majority vote changed. The labels in data/synthetic/annotations are that
majority vote (tests/test_review.py checks it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import TASKS, label_sets  # noqa: E402
from pipeline.jsonl import load_rows  # noqa: E402
from pipeline.metrics import macro_f1  # noqa: E402
from pipeline.review import majority  # noqa: E402


def agreement(rows: list[dict]) -> dict:
    both = [r for r in rows if r["second"] is not None]
    out = {"n": len(both), "n_third": sum(r["third"] is not None for r in both)}
    labels = label_sets()
    for task in TASKS:
        first = [r["first"][task] for r in both]
        second = [r["second"][task] for r in both]
        final = [majority(r)[task] for r in both]
        out[task] = {
            "agreement": round(sum(a == b for a, b in zip(first, second)) / len(both), 4),
            "kappa": round(float(cohen_kappa_score(first, second)), 4),
            "macro_f1_second_vs_first": round(macro_f1(first, second, labels[task]), 4),
            "changed_by_vote": sum(a != z for a, z in zip(first, final)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--review", type=Path, default=ROOT / "data/review/synthetic_labels.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/agreement.json")
    args = parser.parse_args()
    result = agreement(load_rows(args.review))
    for task in TASKS:
        m = result[task]
        print(f"{task:8} agreement {m['agreement']:.3f}  kappa {m['kappa']:.3f}  "
              f"macro-F1 {m['macro_f1_second_vs_first']:.3f}  changed by vote {m['changed_by_vote']}")
    print(f"{result['n']} sentences, {result['n_third']} with a third annotation")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
