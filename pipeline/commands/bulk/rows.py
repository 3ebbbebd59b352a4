"""`stance-bulk`'s row check: an INPUT row's article_id, text and target, or why it cannot be labelled.

A row that cannot be labelled (no article_id, no text, an empty or too long target, a value that is
not valid UTF-8) gets a `reason` and goes to OUTPUT's rejected rows instead of failing the job.
"""
from __future__ import annotations

from pipeline.core.errors import UserError
from pipeline.data.schema import check_target

EMPTY = {"article_id": None, "text": None, "target": None, "reason": None}


def _string(value, field: str) -> tuple[str | None, str | None]:
    """(text, None) or (None, why not): bytes must be UTF-8, str must encode as UTF-8 (no lone surrogate)."""
    try:
        if isinstance(value, bytes):
            return value.decode("utf-8"), None
        if isinstance(value, str):
            value.encode("utf-8")
            return value, None
    except UnicodeError as err:
        return None, f"field '{field}' is not valid UTF-8 (at character or byte {err.start})"
    return None, f"field '{field}' has a {type(value).__name__}; expected a string"


def check_row(values: dict) -> dict:
    """article_id, text and target (None: the command's) of one row, or a `reason` it is rejected."""
    out = dict(EMPTY)
    article_id = values.get("article_id")
    if isinstance(article_id, int) and not isinstance(article_id, bool):
        article_id = str(article_id)
    if article_id is None or article_id == "" or article_id == b"":
        return out | {"reason": "no article_id"}
    out["article_id"], out["reason"] = _string(article_id, "article_id")
    if out["reason"]:
        return out
    if values.get("text") is None:
        return out | {"reason": "no text"}
    text, out["reason"] = _string(values["text"], "text")
    if out["reason"]:
        return out
    if not text.strip():
        return out | {"reason": "no text (empty or whitespace only)"}
    if values.get("target") is not None:
        target, out["reason"] = _string(values["target"], "target")
        if out["reason"]:
            return out
        try:
            out["target"] = check_target(target, "field 'target'")
        except UserError as err:
            return out | {"reason": str(err)}
    return out | {"text": text}
