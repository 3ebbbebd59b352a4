"""`stance-summary BULK_OUTPUT --out DIR`: who is quoted, for and against which claims, per group.

    stance-summary labels/ --out summary/ --by outlet month [--format html|csv|parquet] [--top N]

Reads a `stance-bulk` OUTPUT folder with DuckDB (pipeline/commands/summary/frames.py) and writes,
for each --by value (`outlet`, `day`, `week`, `month`, `target`, any article column, or two joined
by `+`), the six tables `summarise` returns: one HTML page (`report.html`) or `<by>/<table>.csv|
.parquet`, with `summary.json` listing what was read and written. Every check runs and every figure
is computed before DIR is touched; DIR is then replaced whole, so it never holds a half-written summary.
"""
from __future__ import annotations

from pipeline.commands.entry import stance_summary  # standard library only

if __name__ == "__main__":
    raise SystemExit(stance_summary())

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

from pipeline.commands.summary.archive import open_archive  # noqa: E402
from pipeline.commands.summary.frames import summarise  # noqa: E402
from pipeline.commands.summary.report import render  # noqa: E402
from pipeline.core.config import params  # noqa: E402
from pipeline.core.errors import UserError, cli  # noqa: E402

MANIFEST = "summary.json"
FORMATS = ("html", "csv", "parquet")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cfg = params("summary")
    parser = argparse.ArgumentParser(prog="stance-summary", description=__doc__.splitlines()[0])
    parser.add_argument("archive", metavar="BULK_OUTPUT", help="a stance-bulk OUTPUT folder")
    parser.add_argument("--out", required=True, type=Path, help="folder for the summary (new, empty, or an earlier summary)")
    parser.add_argument("--by", nargs="+", default=cfg["by"], metavar="BY",
                        help=f"day, week, month, target or an article column; a+b crosses two (default: {' '.join(cfg['by'])})")
    parser.add_argument("--format", default=cfg["format"], choices=FORMATS, help=f"(default: {cfg['format']})")
    parser.add_argument("--top", type=int, default=cfg["top"], help=f"top sentences per group, side and role (default: {cfg['top']})")
    parser.add_argument("--min-articles", type=int, default=cfg["min_articles"],
                        help=f"groups with fewer articles are flagged small (default: {cfg['min_articles']})")
    return parser.parse_args(argv)


def check_out(out: Path) -> None:
    """DIR must be new, empty, or an earlier summary (which is replaced): never someone's other files."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; expected a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise UserError(f"--out {out}: a folder with other files in it; give a new or empty folder")


def folder_names(specs: list[str]) -> dict[str, str]:
    """A safe, distinct sub-folder name for each --by value (column names may hold any character)."""
    names: dict[str, str] = {}
    for spec in specs:
        name = re.sub(r"[^A-Za-z0-9_+.-]", "_", spec).lstrip(".") or "by"
        while name in names.values():
            name += "_"
        names[spec] = name
    return names


def write(summary: dict, fmt: str, folder: Path, info: dict) -> list[str]:
    """The summary's files in `folder` (new); their names relative to it."""
    if fmt == "html":
        (folder / "report.html").write_text(render(summary, info), encoding="utf-8")
        return ["report.html"]
    written = []
    for spec, sub in folder_names(list(summary)).items():
        (folder / sub).mkdir()
        for name, frame in summary[spec].items():
            path = folder / sub / f"{name}.{fmt}"
            if fmt == "csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
            written.append(f"{sub}/{name}.{fmt}")
    return written


def replace(out: Path, summary: dict, fmt: str, info: dict) -> list[str]:
    """Write into a new sibling folder, then swap it in for DIR."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = (out.parent / f".{out.name}.{kind}-{uuid.uuid4().hex[:8]}" for kind in ("new", "old"))
    try:
        tmp.mkdir()
        files = write(summary, fmt, tmp, info)
        (tmp / MANIFEST).write_text(json.dumps(info | {"format": fmt, "files": files}, indent=2, default=str) + "\n",
                                    encoding="utf-8")
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except OSError as err:
        raise UserError(f"--out {out}: cannot write the summary ({err.strerror or err})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return files


@cli
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.top < 1 or args.min_articles < 0:
        raise UserError(f"--top must be at least 1 (got {args.top}) and --min-articles 0 or more (got {args.min_articles})")
    check_out(args.out)
    archive = open_archive(args.archive)
    summary = summarise(args.archive, args.by, args.top, args.min_articles)
    first = next(iter(summary.values()))["groups"]
    info = {"folder": str(archive.folder), "model": archive.model, "parts": len(archive.parts),
            "articles": int(first["articles"].sum()), "sentences": int(first["sentences"].sum()), "by": args.by,
            "top": args.top, "min_articles": args.min_articles, "labels": archive.labels}
    files = replace(args.out, summary, args.format, info)
    print(f"stance-summary: {info['articles']:,} articles, {info['sentences']:,} sentences by {', '.join(args.by)}: "
          f"{len(files)} file{'s' if len(files) > 1 else ''} in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
