"""`stance-bulk`'s row check: an INPUT row's article_id, text, target, claimant side and article
columns, or why it cannot be labelled.

A row that cannot be labelled (no article_id, no text, an empty or too long target, a target_by
that is not a side, a date that does not parse, a value that is not valid UTF-8) gets a `reason`
and goes to OUTPUT's rejected rows instead of failing the job.
"""
from __future__ import annotations

from pipeline.commands.bulk.columns import USED, parse_date
from pipeline.core.errors import UserError
from pipeline.data.schema import check_target
from pipeline.models.side_decoding import SIDES

EMPTY = {"article_id": None, "text": None, "target": None, "target_by": None, "reason": None, "meta": {}}


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


def check_row(values: dict, date_column: str) -> dict:
    """article_id, text, target (None: the command's), target_by (None: to infer) and the other
    fields (`meta`, the date parsed) of one row, or a `reason` it is rejected."""
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
    side = values.get("target_by")
    if side is not None and side != "" and side != b"":
        side, out["reason"] = _string(side, "target_by")
        if out["reason"]:
            return out
        if side not in SIDES:
            return out | {"reason": f"field 'target_by' {side[:40]!r} is not a side; expected one of {', '.join(SIDES)}"}
    else:
        side = None
    meta, reason = article_fields(values, date_column)
    return out | ({"reason": reason} if reason else {"text": text, "target_by": side, "meta": meta})


def article_fields(values: dict, date_column: str) -> tuple[dict, str | None]:
    """The fields stance-bulk does not use (the date parsed, text checked), or why the row is rejected."""
    meta = {}
    for name, value in values.items():
        if name in USED:
            continue
        if name == date_column:
            value, reason = parse_date(value)
        else:
            value, reason = _string(value, name) if isinstance(value, str) else (value, None)
        if reason:
            return {}, reason
        meta[name] = value
    return meta, None
