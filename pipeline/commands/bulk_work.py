"""`stance-bulk`'s work on Ray: scanning INPUT, choosing the rows to label, reading and
segmenting them, and the labelling actor.

Segmentation is `split_sentences` and labelling `label_stream`, article by article, exactly as
`stance-predict` labels one input: the same context, batching and stance decoding.
"""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from pipeline.commands.bulk_output import flat_record
from pipeline.commands.bulk_rows import SUFFIXES, read_rows
from pipeline.core.config import params
from pipeline.core.errors import UserError
from pipeline.data.segment import split_sentences
from pipeline.inference import batch_size_for, label_stream
from pipeline.models import load_model


class Labeller:
    """A Ray actor: loads the model once, labels each article of a batch through label_stream."""

    def __init__(self, folder: str, device: str, batch_size: int | None, schema: pa.Schema):
        os.environ.setdefault("STANCE_THREADS", "1")  # one ONNX Runtime thread an actor (an actor takes one CPU)
        self.model = load_model(Path(folder), device)
        self.batch_size, self.chunk_size = batch_size_for(self.model, batch_size), params("predict")["chunk_size"]
        self.type = pa.list_(pa.struct(list(schema)))

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids, targets, texts = (batch.column(name).to_pylist() for name in ("article_id", "target", "sentences"))
        records = [[flat_record(article_id, r) for r in label_stream(self.model, sentences, target, None,
                                                                     self.batch_size, self.chunk_size)]
                   for article_id, target, sentences in zip(ids, targets, texts)]
        return pa.table({"article_id": ids, "records": pa.array(records, type=self.type)})


def scan(item: dict) -> list[dict]:
    return [{k: row[k] for k in ("file", "row", "pos", "article_id", "reason")} for row in read_rows(item["path"])]


def read_articles(item: dict, default_target: str):
    """The rows the plan picked, read again; INPUT must not change meanwhile."""
    wanted = [(int(r), int(p)) for r, p in zip(item["rows"], item["pos"])]
    for row, expected in zip(read_rows(item["path"], wanted), item["ids"]):
        if row["reason"] or row["article_id"] != expected:
            raise UserError(f"{row['file']}: row {row['row']} changed during the run; run stance-bulk again")
        yield {"article_id": row["article_id"], "target": row["target"] or default_target, "text": row["text"]}


def segment(row: dict) -> dict:
    """An article's sentences, segmented as `stance-predict` segments a file."""
    return {"article_id": row["article_id"], "target": row["target"], "sentences": split_sentences(row["text"])}


def plan(rows: list[dict], files: list[str], done: set[str], per_task: int) -> tuple[list[dict], list[dict], int]:
    """(read items of at most per_task articles, rejected rows, articles already done): a repeated
    article_id is rejected after its first row (files in order, rows in order)."""
    order = {name: i for i, name in enumerate(files)}
    first: dict[str, str] = {}
    rejected, todo, skipped = [], {name: [] for name in files}, 0
    for row in sorted(rows, key=lambda r: (order[r["file"]], r["row"])):
        where = {"file": row["file"], "row": row["row"], "article_id": row["article_id"]}
        if row["reason"]:
            rejected.append(where | {"reason": row["reason"]})
        elif row["article_id"] in first:
            rejected.append(where | {"reason": f"duplicate article_id (first at {first[row['article_id']]})"})
        else:
            first[row["article_id"]] = f"{row['file']}:{row['row']}"
            if row["article_id"] in done:
                skipped += 1
            else:
                todo[row["file"]].append(row)
    items = [{"path": name, "rows": [r["row"] for r in part], "pos": [r["pos"] for r in part],
              "ids": [r["article_id"] for r in part]} for name, chosen in todo.items() for part in tasks(name, chosen, per_task)]
    return items, rejected, skipped


def tasks(name: str, rows: list[dict], per_task: int) -> list[list[dict]]:
    """One read task's rows: per_task lines of a JSONL file (each found by its offset), or one
    Parquet row group (read whole whatever is wanted from it)."""
    if SUFFIXES[Path(name).suffix] == "parquet":
        groups: dict[int, list[dict]] = {}
        for row in rows:
            groups.setdefault(row["pos"], []).append(row)
        return list(groups.values())
    return [rows[i:i + per_task] for i in range(0, len(rows), per_task)]
