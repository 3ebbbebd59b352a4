"""Agreement between the annotators of the synthetic and of the real corpus (data/review/).

    python bench/agreement.py [--out bench/results/agreement.json]

Synthetic: every sentence was labelled by its writer (first) and again, blind, by a second
annotator; where they differed, a third blind annotator labelled it; the final label is the
majority vote. Real: two blind annotators (first, second); where they differed, a third decided.
Per corpus and task this prints and writes raw agreement, Cohen's kappa and macro-F1 of the second
annotator against the first, and how many final labels differ from the first annotator's
(tests/test_review.py checks that the annotation files hold the final labels).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import TASKS, label_sets  # noqa: E402
from pipeline.core.jsonl import load_rows  # noqa: E402
from pipeline.evaluation.f1 import macro_f1  # noqa: E402
from pipeline.data.review import decision, majority  # noqa: E402

CORPORA = {"synthetic": (ROOT / "data/review/synthetic_labels.jsonl", majority),
           "real": (ROOT / "data/review/real_labels.jsonl", decision)}


def agreement(rows: list[dict], final_label=majority) -> dict:
    both = [r for r in rows if r["second"] is not None]
    out = {"n": len(both), "n_third": sum(r["third"] is not None for r in both)}
    labels = label_sets()
    for task in TASKS:
        first = [r["first"][task] for r in both]
        second = [r["second"][task] for r in both]
        final = [final_label(r)[task] for r in both]
        out[task] = {
            "agreement": round(sum(a == b for a, b in zip(first, second)) / len(both), 4),
            "kappa": round(float(cohen_kappa_score(first, second)), 4),
            "macro_f1_second_vs_first": round(macro_f1(first, second, labels[task]), 4),
            "changed_from_first": sum(a != z for a, z in zip(first, final)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/agreement.json")
    args = parser.parse_args()
    result = {}
    for corpus, (path, final_label) in CORPORA.items():
        result[corpus] = agreement(load_rows(path), final_label)
        for task in TASKS:
            m = result[corpus][task]
            print(f"{corpus:9} {task:8} agreement {m['agreement']:.3f}  kappa {m['kappa']:.3f}  "
                  f"macro-F1 {m['macro_f1_second_vs_first']:.3f}  final differs from first {m['changed_from_first']}")
        print(f"{corpus:9} {result[corpus]['n']} sentences, {result[corpus]['n_third']} with a third annotation")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
