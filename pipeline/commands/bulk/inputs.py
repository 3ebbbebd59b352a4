"""`stance-bulk`'s input: JSONL, CSV or Parquet files of articles, read row by row with bad rows named.

A row is an article: `article_id`, `text`, optionally `target` and `target_by` (the side making
the target claim), and any other fields (outlet, date, url, ...), which travel to the output
(pipeline/commands/bulk/columns.py). A row that cannot be labelled (not JSON, no article_id, no
text, an empty or too long target, a date that does not parse, text that is not valid UTF-8) is
returned with a `reason` instead of failing the job. Each row also carries where it lies (`pos`:
the byte offset of its line in JSONL or its record in CSV, its row group in Parquet), so the
labelling pass reads only the rows it needs and a big file splits into many small Ray tasks.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.commands.bulk.columns import USED
from pipeline.commands.bulk.csv_rows import csv_rows
from pipeline.commands.bulk.rows import EMPTY, check_row
from pipeline.core.config import params
from pipeline.core.errors import UserError
from pipeline.core.textio import BOM

SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def input_files(path: str | Path, output: str | Path) -> list[Path]:
    """INPUT's files in a fixed order (a file, or a folder's *.jsonl/*.json/*.csv/*.parquet, recursively,
    leaving out OUTPUT's own files when OUTPUT lies inside INPUT), each checked readable now: a
    missing or unreadable INPUT is one line, before any work starts."""
    path, output = Path(path), Path(output).resolve()
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.resolve().is_relative_to(output):
        raise UserError(f"{path}: INPUT is inside OUTPUT {output}; give another OUTPUT folder")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                                                 and not p.resolve().is_relative_to(output))
    if not files:
        raise UserError(f"{path}: no .jsonl, .json, .csv or .parquet file to read")
    for file in files:
        if file.suffix not in SUFFIXES:
            raise UserError(f"{file}: expected a .jsonl, .json, .csv or .parquet file of articles")
        try:
            if SUFFIXES[file.suffix] == "parquet":
                pq.ParquetFile(file).metadata
            else:
                open(file, "rb").close()
        except OSError as err:
            raise UserError(f"{file}: cannot read file ({err.strerror or err})") from None
        except pa.ArrowException as err:
            raise UserError(f"{file}: not a readable Parquet file ({str(err).splitlines()[0]})") from None
    return files


def _jsonl_row(raw: bytes, limit: int, date_column: str) -> dict:
    if len(raw) > limit:
        return EMPTY | {"reason": f"line is longer than {limit:,} bytes (predict.max_line_bytes)"}
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return EMPTY | {"reason": f"line is not valid UTF-8 (byte offset {err.start})"}
    try:
        values = json.loads(line)
    except ValueError as err:
        return EMPTY | {"reason": f"not valid JSON ({err})"}
    if not isinstance(values, dict):
        return EMPTY | {"reason": f"a JSON {type(values).__name__}; expected an object with article_id and text"}
    return check_row(values, date_column)


def _read_line(handle, limit: int) -> bytes:
    """One line (at most limit + 1 bytes kept; the rest of a longer line is skipped)."""
    raw = handle.readline(limit + 1)
    if len(raw) > limit and not raw.endswith(b"\n"):
        while (more := handle.readline(2**20)) and not more.endswith(b"\n"):
            pass
    return raw


def jsonl_rows(path: str, limit: int, date_column: str, wanted: list[tuple[int, int]] | None = None) -> Iterator[dict]:
    """Rows of a JSONL file (row = line number; blank lines are skipped), or only `wanted` (row, pos)."""
    with open(path, "rb") as handle:
        if wanted is not None:
            for row, pos in wanted:
                handle.seek(pos)
                yield {"file": path, "row": row, "pos": pos} | _jsonl_row(_body(_read_line(handle, limit), pos), limit, date_column)
            return
        row, pos = 0, 0
        while raw := _read_line(handle, limit):
            row, start, pos = row + 1, pos, handle.tell()
            if (body := _body(raw, start)).strip():
                yield {"file": path, "row": row, "pos": start} | _jsonl_row(body, limit, date_column)


def _body(raw: bytes, pos: int) -> bytes:
    """A line without the UTF-8 byte-order mark that may open the file (scan and re-read alike)."""
    return raw[len(BOM):] if pos == 0 and raw.startswith(BOM) else raw


def _column(table: pa.Table, name: str) -> list:
    """A column's values; strings as bytes, so invalid UTF-8 is one row's problem, not the file's."""
    if name not in table.column_names:
        return [None] * table.num_rows
    column = table.column(name)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.cast(pa.large_binary())
    return column.to_pylist()


def parquet_rows(path: str, date_column: str, wanted: list[tuple[int, int]] | None = None) -> Iterator[dict]:
    """Rows of a Parquet file (row = 1-based row number; pos = its row group), or only `wanted`."""
    handle = pq.ParquetFile(path)
    extra = [name for name in handle.schema_arrow.names if name not in USED]
    starts = [0]
    for group in range(handle.num_row_groups):
        starts.append(starts[-1] + handle.metadata.row_group(group).num_rows)
    by_group: dict[int, set[int] | None] = {g: None for g in range(handle.num_row_groups)}
    if wanted is not None:
        by_group = {}
        for row, group in wanted:
            by_group.setdefault(group, set()).add(row)
    for group, rows in sorted(by_group.items()):
        table = handle.read_row_group(group)
        values = {name: _column(table, name) for name in USED} | {name: table.column(name).to_pylist() for name in extra}
        for index in range(table.num_rows):
            row = starts[group] + index + 1
            if rows is None or row in rows:
                yield {"file": path, "row": row, "pos": group} | check_row({k: v[index] for k, v in values.items()},
                                                                           date_column)


def read_rows(path: str, wanted: list[tuple[int, int]] | None = None) -> Iterator[dict]:
    kind, limit, date_column = SUFFIXES[Path(path).suffix], params("predict")["max_line_bytes"], params("bulk")["date_column"]
    if kind == "parquet":
        yield from parquet_rows(path, date_column, wanted)
    else:
        yield from (jsonl_rows if kind == "jsonl" else csv_rows)(path, limit, date_column, wanted)
