"""`stance-bulk`'s CSV input: one article a record, the first record naming the fields.

Values are text (CSV has no types); an empty target or target_by is "not given". Records may span
lines (quoted newlines), so each is found again by the byte offset where it starts, like a JSONL
line. A record that cannot be parsed or has the wrong number of fields is a rejected row.
"""
from __future__ import annotations

import csv
import sys
from typing import Iterator

from pipeline.commands.bulk.rows import EMPTY, check_row
from pipeline.core.errors import UserError
from pipeline.core.textio import BOM

OPTIONAL = ("target", "target_by")  # an empty cell: not given


def records(handle, start: int) -> Iterator[tuple[int, int, list[str] | str]]:
    """(byte offset, line number, fields or why not) of each record from `start` (a record's first byte)."""
    handle.seek(start)
    state = {"pos": start, "line": 0}

    def lines():
        while raw := handle.readline():
            state["pos"], state["line"] = state["pos"] + len(raw), state["line"] + 1
            yield (raw[len(BOM):] if state["pos"] == len(raw) and raw.startswith(BOM) else raw).decode(
                "utf-8", "surrogateescape")
    reader = csv.reader(lines(), strict=True)
    begin, first = start, 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            fields = f"not a valid CSV record ({err})"
        if fields:
            yield begin, first, fields
        begin, first = state["pos"], state["line"] + 1


def header(path: str, limit: int) -> list[str]:
    csv.field_size_limit(min(limit, sys.maxsize))
    with open(path, "rb") as handle:
        found = next(records(handle, 0), None)
    if found is None or isinstance(found[2], str):
        raise UserError(f"{path}: {found[2] if found else 'empty'}; expected a CSV file whose first record names the fields")
    names = found[2]
    if len(set(names)) != len(names) or "" in names:
        raise UserError(f"{path}: the header has an empty or repeated field name; expected distinct names")
    return names


def _row(names: list[str], fields: list[str] | str, date_column: str) -> dict:
    if isinstance(fields, str):
        return EMPTY | {"reason": fields}
    if len(fields) != len(names):
        return EMPTY | {"reason": f"{len(fields)} fields; the header names {len(names)}"}
    values = dict(zip(names, fields))
    return check_row({k: (None if k in OPTIONAL and v == "" else v) for k, v in values.items()}, date_column)


def csv_rows(path: str, limit: int, date_column: str, wanted: list[tuple[int, int]] | None = None) -> Iterator[dict]:
    """Rows of a CSV file (row = the line its record starts on), or only `wanted` (row, pos)."""
    names = header(path, limit)
    with open(path, "rb") as handle:
        if wanted is not None:
            for row, pos in wanted:
                found = next(records(handle, pos), None)
                yield {"file": path, "row": row, "pos": pos} | _row(names, found[2] if found else "record gone", date_column)
            return
        body = records(handle, 0)
        next(body)  # the header
        for pos, line, fields in body:
            yield {"file": path, "row": line, "pos": pos} | _row(names, fields, date_column)
