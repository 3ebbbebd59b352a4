"""`stance-bulk`'s writer: whole articles in Parquet files that appear complete or not at all.

Each labelling result is one row per article (its sentences nested, its article columns packed),
so Ray never splits an article between blocks; a write task flattens its articles to one row a
sentence in the layout of pipeline/commands/bulk/schema.py (the article columns repeated on each
of its sentences), writes
`.part-*.tmp`, fsyncs it and renames it to `part-<run>-<n>.parquet`. A file under a `part-` name
is therefore complete and holds only whole articles (pipeline/commands/bulk/folder.py reads the
ids already done from them). A write task of an older run (still finishing after its driver was
killed) finds another run's id in `.run` and drops its file instead of renaming it.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ray.data import Datasink
from ray.data.block import BlockAccessor

from pipeline.commands.bulk.cluster import task_error
from pipeline.commands.bulk.columns import unpack
from pipeline.core.config import TASKS
from pipeline.core.scores import score_columns


def flat_record(article_id: str, record: dict, target_by: str | None, source: str | None) -> dict:
    """A label_stream record as one output row, with the article's claimant side and where it came from."""
    values = [p for task in TASKS for p in record["scores"][task].values()]
    scores = dict(zip(score_columns(record["scores"]), values))
    return {"article_id": article_id, **{k: v for k, v in record.items() if k != "scores"}, **scores,
            "target_by": target_by, "target_by_source": source}


def sentence_table(articles: pa.Table, schema: pa.Schema) -> pa.Table:
    """Articles (nested records, packed article columns) as one row a sentence of `schema`."""
    records = articles.column("records")
    sentences = pa.Table.from_struct_array(pa.concat_arrays([chunk.flatten() for chunk in records.chunks]))
    extra = schema.names[len(sentences.column_names):]
    if extra:
        meta = pa.concat_tables([unpack(raw) for raw in articles.column("meta").to_pylist()])
        lengths = pc.list_value_length(records).to_numpy(zero_copy_only=False)
        repeated = meta.take(pa.array(np.repeat(np.arange(len(lengths)), lengths)))
        for name in extra:
            sentences = sentences.append_column(name, repeated.column(name))
    return sentences.cast(schema)


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
        articles = pa.concat_tables(tables)
        sentences = sentence_table(articles, self.schema)
        name = f"part-{self.run}-{ctx.task_idx:06d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = os.path.join(self.folder, f".{name}.tmp")
        try:
            pq.write_table(sentences, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            if Path(self.folder, ".run").read_text(encoding="utf-8") != self.run:  # a newer run owns OUTPUT
                os.unlink(tmp)
                return {"articles": 0, "sentences": 0}
            os.replace(tmp, os.path.join(self.folder, name))
        except Exception as err:
            with contextlib.suppress(OSError):  # gone, or OUTPUT itself is
                os.unlink(tmp)
            raise task_error(err, tmp) from None
        return {"articles": articles.num_rows, "sentences": sentences.num_rows}

    def on_write_complete(self, write_result) -> None:
        for result in write_result.write_returns:
            for key in self.totals:
                self.totals[key] += int(result[key])
