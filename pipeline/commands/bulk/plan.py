"""`stance-bulk`'s work on Ray: scanning INPUT, choosing the rows to label, reading and
segmenting them, and the labelling actor.

Segmentation is `split_sentences` and labelling `label_stream`, article by article, exactly as
`stance-predict` labels one input: the same context, batching and stance decoding. A task raises
only plain `UserError`s for the user's problems (`task_error`), which the driver reports as one line.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.commands.bulk.cluster import task_error
from pipeline.commands.bulk.columns import USED, FileTypes, article_table, pack
from pipeline.commands.bulk.inputs import SUFFIXES, read_rows
from pipeline.commands.bulk.schema import label_fields
from pipeline.commands.bulk.sink import flat_record
from pipeline.core.config import params
from pipeline.core.errors import UserError
from pipeline.data.segment import split_sentences
from pipeline.api import batch_size_for
from pipeline.inference import label_stream
from pipeline.models import load_model
from pipeline.models.side_decoding import infer_claimant

SCANNED = ("file", "row", "pos", "article_id", "target", "reason")


class Labeller:
    """A Ray actor: loads the model once, labels each article of a batch through label_stream and
    names its claimant side: the row's target_by, else the side inferred from the labels
    (side_decoding.infer_claimant; for stance-summary, whatever decode.infer_claimant says)."""

    def __init__(self, folder: str, device: str, batch_size: int | None):
        os.environ.setdefault("STANCE_THREADS", "1")  # one ONNX Runtime thread an actor (an actor takes one CPU)
        try:
            self.model = load_model(Path(folder), device)
        except Exception as err:  # an actor that fails to start is retried, then logged at length by Ray
            self.model, self.error = None, task_error(err)
            return
        self.batch_size, self.chunk_size = batch_size_for(self.model, batch_size), params("predict")["chunk_size"]
        self.type = pa.list_(pa.struct(label_fields(self.model.labels)))

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.model is None:
            raise self.error
        ids, targets, sides, texts = (batch.column(name).to_pylist()
                                      for name in ("article_id", "target", "target_by", "sentences"))
        try:
            records = [self.article(*values) for values in zip(ids, targets, sides, texts)]
        except Exception as err:
            raise task_error(err) from None
        return pa.table({"article_id": ids, "records": pa.array(records, type=self.type), "meta": batch.column("meta")})

    def article(self, article_id: str, target: str, side: str | None, sentences: list[str]) -> list[dict]:
        records = list(label_stream(self.model, sentences, target, side, self.batch_size, self.chunk_size))
        claimant = (side, "given") if side else (infer_claimant(records), "inferred") if records else (None, None)
        return [flat_record(article_id, r, *claimant) for r in records]


def read_error(path: str, err: Exception) -> Exception:
    """What a read task raises when INPUT's file `path` fails it (changed or gone since the check)."""
    if isinstance(err, pa.ArrowException) and not isinstance(err, OSError):
        return UserError(f"{path}: cannot be read ({str(err).splitlines()[0] if str(err) else type(err).__name__})")
    return task_error(err, path)


def scan(item: dict) -> list[dict]:
    """INPUT's rows of one file (what plan needs of each), then one row (row 0) with the types of
    the file's article columns."""
    path, types = item["path"], FileTypes(params("bulk")["date_column"])
    try:
        parquet, out = SUFFIXES[Path(path).suffix] == "parquet", []
        if parquet:
            types.add_arrow(pa.schema([f for f in pq.read_schema(path) if f.name not in USED]))
        for row in read_rows(path):
            if not parquet and not row["reason"]:
                types.add(row["meta"])
            out.append({k: row[k] for k in SCANNED} | {"types": None})
    except Exception as err:
        raise read_error(path, err) from None
    return out + [{"file": path, "row": 0, "pos": 0, "article_id": None, "target": None, "reason": None,
                   "types": types.dump()}]


def read_articles(item: dict, default_target: str, columns: bytes) -> Iterator[dict]:
    """The rows the plan picked, read again (INPUT must not change meanwhile), their article
    columns packed in OUTPUT's types."""
    wanted = [(int(r), int(p)) for r, p in zip(item["rows"], item["pos"])]
    schema = pa.ipc.read_schema(pa.py_buffer(columns))
    try:
        for row, expected in zip(read_rows(item["path"], wanted), item["ids"]):
            if row["reason"] or row["article_id"] != expected:
                raise UserError(f"{row['file']}: row {row['row']} changed during the run; run stance-bulk again")
            yield {"article_id": row["article_id"], "target": row["target"] or default_target, "text": row["text"],
                   "target_by": row["target_by"], "meta": pack(article_table([row["meta"]], schema)) if schema else b""}
    except Exception as err:
        raise read_error(item["path"], err) from None


def segment(row: dict) -> dict:
    """An article's sentences, segmented as `stance-predict` segments a file."""
    return {k: row[k] for k in ("article_id", "target", "target_by", "meta")} | {"sentences": split_sentences(row["text"])}


def plan(rows: list[dict], files: list[str], done: dict, per_task: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(read items of at most per_task articles, rejected rows, rows of articles already done): a
    repeated article_id is rejected after its first row (files in order, rows in order)."""
    order = {name: i for i, name in enumerate(files)}
    first: dict[str, str] = {}
    rejected, todo, skipped = [], {name: [] for name in files}, []
    for row in sorted(rows, key=lambda r: (order[r["file"]], r["row"])):
        where = {"file": row["file"], "row": row["row"], "article_id": row["article_id"]}
        if row["reason"]:
            rejected.append(where | {"reason": row["reason"]})
        elif row["article_id"] in first:
            rejected.append(where | {"reason": f"duplicate article_id (first at {first[row['article_id']]})"})
        else:
            first[row["article_id"]] = f"{row['file']}:{row['row']}"
            (skipped if row["article_id"] in done else todo[row["file"]]).append(row)
    items = [{"path": name, "rows": [r["row"] for r in part], "pos": [r["pos"] for r in part],
              "ids": [r["article_id"] for r in part]} for name, chosen in todo.items() for part in tasks(name, chosen, per_task)]
    return items, rejected, skipped


def check_targets(skipped: list[dict], done: dict[str, set[str]], default_target: str, output) -> None:
    """Articles already in OUTPUT must have been labelled against the target this run gives them
    (the row's, else --target); else their labels would stay, stale, with nothing said."""
    stale = [row for row in skipped if done[row["article_id"]] != {row["target"] or default_target}]
    if stale:
        row, short = stale[0], lambda text: text if len(text) <= 60 else text[:57] + "..."
        raise UserError(f"{output}: {len(stale):,} articles there were labelled against another target, e.g. "
                        f"{row['article_id']!r} ({row['file']}:{row['row']}) against "
                        f"{short(sorted(done[row['article_id']])[0])!r}, not {short(row['target'] or default_target)!r}; "
                        "use another OUTPUT folder, or that run's target")


def tasks(name: str, rows: list[dict], per_task: int) -> list[list[dict]]:
    """One read task's rows: per_task lines of a JSONL file (each found by its offset), or one
    Parquet row group (read whole whatever is wanted from it)."""
    if SUFFIXES[Path(name).suffix] == "parquet":
        groups: dict[int, list[dict]] = {}
        for row in rows:
            groups.setdefault(row["pos"], []).append(row)
        return list(groups.values())
    return [rows[i:i + per_task] for i in range(0, len(rows), per_task)]
