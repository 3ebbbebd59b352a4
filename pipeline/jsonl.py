"""JSON Lines reading and writing with errors that name the file and line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.errors import DataError


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every non-blank line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "file not found")
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(path, number, f"not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(path, number, "expected a JSON object per line")
            yield number, obj


def load_rows(path: str | Path) -> list[dict]:
    return [obj for _, obj in read_jsonl(path)]


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows atomically enough for a stage: to a temp file, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count
