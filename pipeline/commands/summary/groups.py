"""`--by` terms as SQL: a time period of the date column, the target, or any article-level column;
`a+b` crosses two terms. Per-sentence columns (the labels, scores, text) are not groupings."""
from __future__ import annotations

import pyarrow as pa

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError

PERIODS = {"day": "day", "week": "week", "month": "month"}
# Per-sentence columns of a stance-bulk part: grouping by them is not "by article".
SENTENCE_COLUMNS = {"sentence_id", "text", "truncated", *TASKS}


def quote(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def sentence_columns(schema: pa.Schema) -> set[str]:
    return SENTENCE_COLUMNS | {name for name in schema.names if name.split("_", 1)[0] in TASKS}


def key_sql(term: str, schema: pa.Schema, date_column: str) -> str:
    """The SQL expression of one --by term."""
    if term in PERIODS:
        if date_column not in schema.names:
            raise UserError(f"--by {term}: the archive has no {date_column!r} column (give the articles a "
                            f"{date_column!r} field when running stance-bulk)")
        kind = schema.field(date_column).type
        if not (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
            raise UserError(f"--by {term}: column {date_column!r} holds {kind}, not dates")
        return f"CAST(date_trunc('{PERIODS[term]}', {quote(date_column)}) AS DATE)"
    if term not in schema.names:
        article = [n for n in schema.names if n not in sentence_columns(schema)]
        raise UserError(f"--by {term}: no such column in the archive; expected day, week, month or one of: "
                        + ", ".join(article))
    if term in sentence_columns(schema):
        raise UserError(f"--by {term}: a per-sentence column; --by takes article-level columns (outlet, target, ...)")
    return quote(term)


def grouping(spec: str, schema: pa.Schema, date_column: str) -> tuple[list[str], list[str]]:
    """(group column names, their SQL) of one --by value such as `outlet` or `outlet+month`."""
    terms = [t.strip() for t in spec.split("+")]
    if not all(terms) or len(set(terms)) != len(terms):
        raise UserError(f"--by {spec}: expected column names joined by '+', each once")
    return terms, [key_sql(t, schema, date_column) for t in terms]
