"""JSON Lines reading and writing with errors that name the file and line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.core.errors import DataError
from pipeline.core.textio import atomic_writer, decoded_lines, open_input


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every non-blank line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "not found or not a regular file; expected a JSON Lines file")
    with open_input(path) as handle:
        for number, line in enumerate(decoded_lines(path, handle), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(path, number, f"not valid JSON ({err.msg})") from None
            except RecursionError:
                raise DataError(path, number, "JSON nested too deeply to read; expected a flat JSON object") from None
            if not isinstance(obj, dict):
                raise DataError(path, number, "expected a JSON object per line")
            yield number, obj


def load_rows(path: str | Path) -> list[dict]:
    return [obj for _, obj in read_jsonl(path)]


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows whole or not at all (temporary file, then rename); return how many."""
    count = 0
    with atomic_writer(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
