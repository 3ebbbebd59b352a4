"""A `stance-bulk` OUTPUT folder as `stance-summary` reads it: its complete Parquet parts, checked
to share one schema version, one model and one set of columns, from their footers only.

`stance-bulk` writes `part-*.parquet` files whose footer carries `stance_bulk` metadata: the output
schema version and the model's label lists (pipeline/commands/bulk/schema.py). Parts of an older
version, of another model, or with other columns cannot be summed together, so each is one line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.commands.bulk.schema import SCHEMA_KEY, SCHEMA_VERSION
from pipeline.core.errors import UserError



@dataclass(frozen=True)
class Archive:
    folder: Path
    parts: list[str]
    schema: pa.Schema
    model: str
    labels: dict[str, list[str]]

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _footer(path: Path) -> tuple[pa.Schema, dict]:
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as err:
        raise UserError(f"{path}: not a readable Parquet file ({str(err).splitlines()[0]})") from None
    raw = (schema.metadata or {}).get(SCHEMA_KEY)
    try:
        info = json.loads(raw) if raw else {}
    except ValueError:
        info = {}
    if info.get("schema") != SCHEMA_VERSION:
        found = f"version {info['schema']}" if "schema" in info else "no version (written before metadata travelled)"
        raise UserError(f"{path}: a stance-bulk part of output schema {found}, not {SCHEMA_VERSION}; "
                        "label the archive again with this stance-bulk into a new folder")
    return schema.remove_metadata(), info


def open_archive(folder: str | Path) -> Archive:
    """The folder's parts, all of one schema version, one model and one set of columns."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder (expected a stance-bulk OUTPUT folder)")
    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        raise UserError(f"{folder}: no part-*.parquet files (is it a stance-bulk OUTPUT folder, and did the run finish?)")
    schema, info = _footer(parts[0])
    for path in parts[1:]:
        other, other_info = _footer(path)
        if other_info.get("model") != info.get("model"):
            raise UserError(f"{folder}: parts of different models ({parts[0].name}: {info.get('model')!r}, "
                            f"{path.name}: {other_info.get('model')!r}); summarise one model's labels at a time")
        if not other.equals(schema):
            raise UserError(f"{folder}: parts with different columns ({parts[0].name} and {path.name}); "
                            "runs over inputs with other article columns belong in separate folders")
    return Archive(folder, [str(p) for p in parts], schema, info.get("model", ""), info.get("labels", {}))
