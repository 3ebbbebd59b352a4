"""Double annotation of the synthetic corpus: the majority vote that gives its final labels.

Each row of data/review/synthetic_labels.jsonl holds one sentence's labels from its writer
(`first`), a blind second annotator (`second`) and, where those two differ, a blind third
(`third`). See data/README.md for the procedure and bench/agreement.py for the agreement figures.
"""
from __future__ import annotations

from pipeline.config import TASKS


def majority(row: dict) -> dict[str, str]:
    """Per task, the label at least two annotators gave; the writer's where all three differ."""
    first, second, third = row["first"], row.get("second"), row.get("third")
    final = {}
    for task in TASKS:
        outvoted = second and third and second[task] != first[task] and third[task] == second[task]
        final[task] = second[task] if outvoted else first[task]
    return final
