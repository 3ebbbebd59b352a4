"""Double annotation: how the final labels of the synthetic and the real corpus are decided.

- Synthetic (data/review/synthetic_labels.jsonl): each sentence's writer (`first`), a blind second
  annotator (`second`) and, where those two differ, a blind third (`third`); the final label is
  the majority vote (`majority`).
- Real (data/review/real_labels.jsonl): two independent blind annotators (`first`, `second`);
  where they differ on a sentence, a third annotator who sees both decides (`third`), and the
  final label is theirs (`decision`). A later correction of a decided label (`revised`, with a
  `note` saying why: a change to the guide) overrides both.

See data/README.md for the procedure and bench/agreement.py for the agreement figures.
"""
from __future__ import annotations

from pipeline.core.config import TASKS


def majority(row: dict) -> dict[str, str]:
    """Per task, the label at least two annotators gave; the writer's where all three differ."""
    first, second, third = row["first"], row.get("second"), row.get("third")
    final = {}
    for task in TASKS:
        outvoted = second and third and second[task] != first[task] and third[task] == second[task]
        final[task] = second[task] if outvoted else first[task]
    return final


def decision(row: dict) -> dict[str, str]:
    """Per task, the label both annotators gave, else the deciding third annotator's; a revision
    (`revised`) overrides both."""
    if row.get("revised"):
        return {t: row["revised"][t] for t in TASKS}
    first, second, third = row["first"], row["second"], row.get("third")
    if any(first[t] != second[t] for t in TASKS) and not third:
        raise ValueError(f"{row['article_id']}:{row['sentence_id']}: the annotators differ and no decision is recorded")
    return {t: first[t] if first[t] == second[t] else third[t] for t in TASKS}
