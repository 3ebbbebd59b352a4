"""The annotation row schema, checked field by field with located errors."""
from __future__ import annotations

from pathlib import Path

from pipeline.core.config import TASKS, params
from pipeline.core.errors import DataError, UserError

TRAIN_ONLY = -1  # the fold of synthetic rows (data/split): in every training set, never evaluated
REQUIRED = ("article_id", "sentence_id", "text", *TASKS)
# A labelled row outside the project's articles (stance-evaluate) carries its article's target.
REQUIRED_WITH_TARGET = ("article_id", "sentence_id", "text", "target", *TASKS)
# Optional fields and the JSON type each must have: a "false" string is not a boolean.
OPTIONAL = {"synthetic": (bool, "true or false"), "group": (str, "a sentence uid (text)"), "note": (str, "text"),
            "target_by": (str, "the side making the target claim (a speaker label other than narrator)")}


def side_labels(labels: dict[str, list[str]]) -> list[str]:
    """Speaker labels that are sides (everyone but the narrator), in configs/labels.yaml's order."""
    return [label for label in labels["speaker"] if label != "narrator"]


def check_row(row: dict, path: Path, line: int, labels: dict[str, list[str]],
              required: tuple[str, ...] = REQUIRED) -> dict:
    """Return the row if it is a valid annotation; raise DataError naming the bad field."""
    for field in required:
        if field not in row:
            raise DataError(path, line, f"field '{field}' is missing; required fields: {', '.join(required)}")
    unknown = sorted(set(row) - set(required) - set(OPTIONAL))
    if unknown:
        allowed = ", ".join((*required, *OPTIONAL))
        raise DataError(path, line, f"unknown field '{unknown[0]}'; allowed fields: {allowed}")
    for field, (kind, expected) in OPTIONAL.items():
        if field in row and (not isinstance(row[field], kind) or row[field] == ""):
            raise DataError(path, line, f"field '{field}' has value {row[field]!r}; expected {expected}")
    sides = side_labels(labels)
    if "target_by" in row and row["target_by"] not in sides:
        raise DataError(path, line, f"field 'target_by' has value {row['target_by']!r}; expected one of: {', '.join(sides)}")
    if not isinstance(row["article_id"], str) or not row["article_id"].strip():
        raise DataError(path, line, f"field 'article_id' has value {row['article_id']!r}; expected non-empty text")
    if not isinstance(row["sentence_id"], int) or isinstance(row["sentence_id"], bool) or row["sentence_id"] < 0:
        raise DataError(path, line, f"field 'sentence_id' has value {row['sentence_id']!r}; expected an integer from 0")
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise DataError(path, line, f"field 'text' has value {row['text']!r}; expected non-empty text")
    check_labels(row, path, line, labels)
    return row


def check_labels(row: dict, path: Path, line, labels: dict[str, list[str]]) -> None:
    """Each task's label is one of configs/labels.yaml's."""
    for task in TASKS:
        if row.get(task) not in labels[task]:
            raise DataError(
                path, line,
                f"field '{task}' has value {row.get(task)!r}; expected one of: {', '.join(labels[task])}",
            )


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
    if not rows:
        raise DataError(path, None, f"no annotation rows; the article has {len(sentences)} sentences, "
                                    f"starting with {sentences[0]!r}" if sentences else "no annotation rows")
    if len(rows) < len(sentences):
        raise DataError(
            path, rows[-1][0],
            f"missing sentence {len(rows)}: the article has {len(sentences)} sentences, "
            f"annotations stop at {len(rows)}; expected {sentences[len(rows)]!r}",
        )


def check_target(target, what: str = "the target") -> str:
    """The claim stance is measured against: non-empty text of at most prepare.max_target_chars."""
    if not isinstance(target, str):
        raise UserError(f"{what} has a value of type {type(target).__name__}; expected text: the claim stance is "
                        "measured against")
    if not target.strip():
        raise UserError(f"{what} is empty; give the claim stance is measured against")
    limit = params("prepare")["max_target_chars"]
    if len(target) > limit:
        raise UserError(f"{what} is {len(target):,} characters long; a target is one sentence stating the claim, "
                        f"at most {limit:,} characters (prepare.max_target_chars)")
    return target
