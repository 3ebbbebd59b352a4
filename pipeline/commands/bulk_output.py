"""`stance-bulk`'s output folder: whole articles in Parquet files that appear complete or not at all.

Each labelling result is one row per article (its sentences nested), so Ray never splits an
article between blocks; a write task flattens its articles to one row a sentence, writes
`.part-*.tmp`, fsyncs it and renames it to `part-<run>-<n>.parquet`. A file under a `part-` name
is therefore complete and holds only whole articles: on start, the article ids in those files are
the articles already done (leftover temporary files of a killed run are removed). `.lock` keeps a
second run off the folder; `.run` names the run that owns it, and a write task of an older run
(still finishing after its driver was killed) drops its file instead of renaming it.
"""
from __future__ import annotations

import fcntl
import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ray.data import Datasink
from ray.data.block import BlockAccessor

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError
from pipeline.core.textio import atomic_writer
from pipeline.inference import score_columns

REJECTED = "rejected.jsonl"


def record_schema(labels: dict[str, list[str]]) -> pa.Schema:
    """One output row a sentence: `stance-predict --format jsonl`'s fields, article_id for source,
    the scores as one column per task and label (as in its CSV)."""
    scores = [pa.field(name, pa.float64()) for name in score_columns(labels)]
    return pa.schema([pa.field("article_id", pa.string()), pa.field("sentence_id", pa.int64()),
                      pa.field("text", pa.string()), *(pa.field(task, pa.string()) for task in TASKS), *scores,
                      pa.field("truncated", pa.bool_()), pa.field("model", pa.string()), pa.field("target", pa.string())])


def flat_record(article_id: str, record: dict) -> dict:
    """A label_stream record as one output row."""
    values = [p for task in TASKS for p in record["scores"][task].values()]
    scores = dict(zip(score_columns(record["scores"]), values))
    return {"article_id": article_id, **{k: v for k, v in record.items() if k != "scores"}, **scores}


def prepare(folder: Path, model_name: str) -> tuple[str, set[str], object]:
    """Create/lock OUTPUT, take it over for a new run, drop leftovers; (run id, ids already done, lock)."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file; expected a folder for the output")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "a")
    except OSError as err:
        raise UserError(f"{folder}: cannot write there ({err.strerror or err})") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise UserError(f"{folder}: another stance-bulk run is writing there") from None
    run = uuid.uuid4().hex[:12]
    with atomic_writer(folder / ".run") as handle:
        handle.write(run)
    for leftover in folder.glob(".part-*.tmp"):
        leftover.unlink(missing_ok=True)
    return run, done_ids(folder, model_name), lock


def done_ids(folder: Path, model_name: str) -> set[str]:
    """Article ids in OUTPUT's complete files; every file must hold this model's labels."""
    done: set[str] = set()
    for path in sorted(folder.glob("part-*.parquet")):
        try:
            table = pq.read_table(path, columns=["article_id", "model"])
        except (OSError, pa.ArrowException) as err:
            raise UserError(f"{path}: not a readable output file ({str(err).splitlines()[0]}); "
                            "move it away to label its articles again") from None
        models = set(pc.unique(table.column("model")).to_pylist()) - {model_name}
        if models:
            raise UserError(f"{path}: holds labels of model {sorted(models)[0]!r}, not {model_name!r}; "
                            "use another OUTPUT folder or that --model")
        done.update(pc.unique(table.column("article_id")).to_pylist())
    return done


def write_rejected(folder: Path, rejected: list[dict]) -> None:
    """OUTPUT/rejected.jsonl: every row of INPUT this run could not label, with the reason."""
    with atomic_writer(folder / REJECTED) as handle:
        for row in rejected:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


class ArticleSink(Datasink):
    """Writes each write task's articles, flattened to sentences, as one Parquet file renamed into place."""

    def __init__(self, folder: Path, run: str, schema: pa.Schema, articles_per_file: int):
        self.folder, self.run, self.schema, self.per_file = str(folder), run, schema, articles_per_file
        self.totals = {"articles": 0, "sentences": 0}

    @property
    def min_rows_per_write(self) -> int:
        return self.per_file

    def write(self, blocks, ctx) -> dict:
        tables = [BlockAccessor.for_block(block).to_arrow() for block in blocks]
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return {"articles": 0, "sentences": 0}
        records = pa.concat_tables(tables).column("records")
        sentences = pa.Table.from_struct_array(pa.concat_arrays([chunk.flatten() for chunk in records.chunks]))
        name = f"part-{self.run}-{ctx.task_idx:06d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = os.path.join(self.folder, f".{name}.tmp")
        pq.write_table(sentences.cast(self.schema), tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if Path(self.folder, ".run").read_text(encoding="utf-8") != self.run:  # a newer run owns OUTPUT
            os.unlink(tmp)
            return {"articles": 0, "sentences": 0}
        os.replace(tmp, os.path.join(self.folder, name))
        return {"articles": len(records), "sentences": sentences.num_rows}

    def on_write_complete(self, write_result) -> None:
        for result in write_result.write_returns:
            for key in self.totals:
                self.totals[key] += int(result[key])
