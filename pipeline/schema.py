"""The annotation row schema, checked field by field with located errors."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import TASKS
from pipeline.errors import DataError

REQUIRED = ("article_id", "sentence_id", "text", *TASKS)
OPTIONAL = ("synthetic", "group", "note")


def check_row(row: dict, path: Path, line: int, labels: dict[str, list[str]]) -> dict:
    """Return the row if it is a valid annotation; raise DataError naming the bad field."""
    for field in REQUIRED:
        if field not in row:
            raise DataError(path, line, f"field '{field}' is missing; required fields: {', '.join(REQUIRED)}")
    unknown = sorted(set(row) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        allowed = ", ".join(REQUIRED + OPTIONAL)
        raise DataError(path, line, f"unknown field '{unknown[0]}'; allowed fields: {allowed}")
    if not isinstance(row["sentence_id"], int) or isinstance(row["sentence_id"], bool):
        raise DataError(path, line, f"field 'sentence_id' has value {row['sentence_id']!r}; expected an integer")
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise DataError(path, line, f"field 'text' has value {row['text']!r}; expected non-empty text")
    for task in TASKS:
        if row[task] not in labels[task]:
            raise DataError(
                path, line,
                f"field '{task}' has value {row[task]!r}; expected one of: {', '.join(labels[task])}",
            )
    return row


def check_alignment(rows: list[tuple[int, dict]], sentences: list[str], path: Path, article_id: str) -> None:
    """Annotations must cover every segmented sentence, in order, with the same text."""
    for index, (line, row) in enumerate(rows):
        if row["article_id"] != article_id:
            raise DataError(path, line, f"field 'article_id' has value {row['article_id']!r}; expected {article_id!r}")
        if index >= len(sentences):
            raise DataError(path, line, f"extra sentence {row['sentence_id']}: the article has only {len(sentences)} sentences")
        if row["sentence_id"] != index:
            raise DataError(path, line, f"field 'sentence_id' has value {row['sentence_id']!r}; expected {index}")
        if row["text"] != sentences[index]:
            raise DataError(
                path, line,
                f"field 'text' does not match sentence {index} of the article; expected {sentences[index]!r}",
            )
    if len(rows) < len(sentences):
        last = rows[-1][0] if rows else 0
        raise DataError(
            path, last,
            f"missing sentence {len(rows)}: the article has {len(sentences)} sentences, "
            f"annotations stop at {len(rows)}; expected {sentences[len(rows)]!r}",
        )
