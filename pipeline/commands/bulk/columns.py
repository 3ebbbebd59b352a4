"""`stance-bulk`'s article columns: the input fields it does not use, carried into every sentence
row of OUTPUT unchanged.

A JSONL value keeps its JSON type (string, integer, float, boolean; lists and objects as nested
Parquet types), a Parquet column its Arrow type, a CSV value is text (CSV has no types). Each read
task finds its file's type per column (`FileTypes`); the driver unifies them over all files
(integers with floats become floats, a column of nulls takes the other files' type) before any
labelling, and a column whose rows disagree (text here, a number there) is written as text, its
non-text values as JSON. The date column (`bulk.date_column`) is parsed: an ISO 8601 date, or a
date and time whose date is kept, becomes a Parquet date; one that does not parse rejects its row.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

import pyarrow as pa

from pipeline.commands.bulk.schema import label_fields
from pipeline.core.errors import UserError

log = logging.getLogger(__name__)
USED = ("article_id", "text", "target", "target_by")  # the fields stance-bulk reads itself
MIXED = "mixed"  # a column whose values disagree (written as text); in a dumped schema, field metadata


def parse_date(value) -> tuple[dt.date | None, str | None]:
    """(the date, None) or (None, why not) for a date column's value; empty is no date."""
    if value is None or value == "":
        return None, None
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, str):
        try:
            return (dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value).date()), None
        except ValueError:
            pass
    shown = value if isinstance(value, str) and len(value) <= 40 else f"{str(value)[:37]}..."
    return None, f"field 'date' {shown!r} is not a date (expected YYYY-MM-DD or an ISO 8601 date and time)"


def _merge(a, b):
    """One type for values of types a and b (either may be MIXED or None: not seen yet)."""
    if a is None or a == b or (b != MIXED and pa.types.is_null(b)):
        return b if a is None else a
    if MIXED in (a, b):
        return MIXED
    if pa.types.is_null(a):
        return b
    try:
        return pa.unify_schemas([pa.schema([("x", a)]), pa.schema([("x", b)])], promote_options="permissive").field("x").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return MIXED


class FileTypes:
    """The type of each article column over one file's rows, in the order the columns first appear."""

    def __init__(self, date_column: str):
        self.date_column, self.types = date_column, {}

    def add(self, meta: dict) -> None:
        for name, value in meta.items():
            if name == self.date_column:
                self.types[name] = pa.date32()
                continue
            try:
                kind = pa.scalar(value).type
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                kind = MIXED
            self.types[name] = _merge(self.types.get(name), kind)

    def add_arrow(self, schema: pa.Schema) -> None:
        for field in schema:
            self.types[field.name] = pa.date32() if field.name == self.date_column else field.type

    def dump(self) -> bytes:
        fields = [pa.field(n, pa.string(), metadata={MIXED: "1"}) if t == MIXED else pa.field(n, t)
                  for n, t in self.types.items()]
        return pa.schema(fields).serialize().to_pybytes()


def article_schema(dumps: list[bytes], labels: dict[str, list[str]]) -> pa.Schema:
    """The article columns of OUTPUT: each file's types unified; a name stance-bulk writes itself is refused."""
    types: dict[str, pa.DataType] = {}
    for raw in dumps:
        for field in pa.ipc.read_schema(pa.py_buffer(raw)):
            kind = MIXED if field.metadata and MIXED.encode() in field.metadata else field.type
            types[field.name] = _merge(types.get(field.name), kind)
    taken = {f.name for f in label_fields(labels)}
    if clash := [name for name in types if name in taken]:
        raise UserError(f"INPUT has an article field named {clash[0]!r}, a column stance-bulk writes itself; "
                        "rename that field in the input")
    for name, kind in types.items():
        if kind == MIXED:
            log.warning("article field %r has values of different types: written as text (JSON for non-text values)", name)
    return pa.schema([(name, pa.string() if kind == MIXED or pa.types.is_null(kind) else kind) for name, kind in types.items()])


def article_table(meta: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows' article columns as a table of `schema` (text columns get non-text values as JSON)."""
    text = {f.name for f in schema if f.type == pa.string()}
    rows = [{name: json.dumps(v, ensure_ascii=False, default=str) if name in text and v is not None
             and not isinstance(v, str) else v for name, v in m.items()} for m in meta]
    return pa.Table.from_pylist(rows, schema=schema)


def pack(table: pa.Table) -> bytes:
    """A one-article table as bytes that travel through Ray Data unchanged (Arrow IPC)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def unpack(raw: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(raw)).read_all()
