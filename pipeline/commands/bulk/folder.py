"""`stance-bulk`'s OUTPUT folder: checked before any work, locked, taken over by each run.

`part-*.parquet` files hold the labels (pipeline/commands/bulk/sink.py); the article ids in them
are the articles already done, and each must have been labelled by this run's model against the
target this run gives it. `.lock` keeps a second run off the folder; `.run` names the run that owns
it; leftover `.part-*.tmp` files of a killed run are removed. Rows of INPUT that cannot be labelled
go to `_rejected.jsonl`: like `.lock` and `.run`, a name Parquet readers skip (pyarrow, pandas and
Spark ignore names starting with `_` or `.`), so `pandas.read_parquet(OUTPUT)` reads the labels.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.core.errors import UserError
from pipeline.core.textio import atomic_writer

log = logging.getLogger(__name__)
REJECTED = "_rejected.jsonl"


def check_output(folder: Path) -> None:
    """Fail now, before the model loads and Ray starts, if OUTPUT cannot be our folder (creates nothing)."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file; expected a folder for the output")
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{folder}: cannot write there ({existing} is not a folder this user can write in)")
    if folder.is_dir():
        lock(folder).close()  # refused now if another run writes there; taken for good by prepare


def lock(folder: Path):
    """OUTPUT/.lock, locked: one run at a time writes to OUTPUT."""
    try:
        handle = open(folder / ".lock", "a")
    except OSError as err:
        raise UserError(f"{folder}: cannot write there ({err.strerror or err})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UserError(f"{folder}: another stance-bulk run is writing there") from None
    return handle


def prepare(folder: Path, model_name: str) -> tuple[str, dict[str, set[str]], object]:
    """Create/lock OUTPUT, take it over for a new run, drop leftovers; (run id, the targets of each
    article already done, lock)."""
    check_output(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{folder}: cannot write there ({err.strerror or err})") from None
    handle = lock(folder)
    run = uuid.uuid4().hex[:12]
    with atomic_writer(folder / ".run") as out:
        out.write(run)
    for leftover in folder.glob(".part-*.tmp"):
        leftover.unlink(missing_ok=True)
    foreign = sorted(p.name for p in folder.iterdir() if not p.name.startswith((".", "_"))
                     and not (p.name.startswith("part-") and p.name.endswith(".parquet")))
    if foreign:
        log.warning("%s holds %s, not stance-bulk's: pandas.read_parquet(%s) fails on such files; move them away",
                    folder, ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""), folder)
    return run, done_ids(folder, model_name), handle


def done_ids(folder: Path, model_name: str) -> dict[str, set[str]]:
    """The targets of each article in OUTPUT's complete files; every file must hold this model's labels."""
    done: dict[str, set[str]] = {}
    for path in sorted(folder.glob("part-*.parquet")):
        try:
            table = pq.read_table(path, columns=["article_id", "model", "target"])
        except (OSError, pa.ArrowException) as err:
            raise UserError(f"{path}: not a readable output file ({str(err).splitlines()[0]}); "
                            "move it away to label its articles again") from None
        models = set(pc.unique(table.column("model")).to_pylist()) - {model_name}
        if models:
            raise UserError(f"{path}: holds labels of model {sorted(models)[0]!r}, not {model_name!r}; "
                            "use another OUTPUT folder or that --model")
        for row in table.group_by(["article_id", "target"]).aggregate([]).to_pylist():
            done.setdefault(row["article_id"], set()).add(row["target"])
    return done


def check_parts(folder: Path, schema: pa.Schema) -> None:
    """OUTPUT's parts must have this run's layout (version, columns, types): one archive, one shape."""
    for path in sorted(folder.glob("part-*.parquet"))[:1]:  # every part was checked against the first
        try:
            found = pq.read_schema(path)
        except (OSError, pa.ArrowException) as err:
            raise UserError(f"{path}: not a readable output file ({str(err).splitlines()[0]}); "
                            "move it away to label its articles again") from None
        if not found.equals(schema, check_metadata=False) or found.metadata != schema.metadata:
            raise UserError(f"{folder}: holds labels written by an earlier stance-bulk or from input with other "
                            f"fields or types ({path.name} has {len(found)} columns, this run writes {len(schema)}); "
                            "use another OUTPUT folder")


def write_rejected(folder: Path, rejected: list[dict]) -> None:
    """OUTPUT/_rejected.jsonl: every row of INPUT this run could not label, with the reason."""
    with atomic_writer(folder / REJECTED) as handle:
        for row in rejected:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
