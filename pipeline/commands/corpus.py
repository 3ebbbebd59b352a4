"""`python -m pipeline.commands.corpus SEEDS OUT`: the project's articles as a `stance-bulk` input.

One JSON line an article of SEEDS (`<id>.txt` beside `<id>.meta.json`, as in seeds/): article_id,
text, target and target_by (the side making the claim, so stance-summary's claimant balance uses
the annotated side), and the article fields outlet, date, url, title and event, which stance-bulk
carries into its output. A quick archive to try `stance-bulk` and `stance-summary` on.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.core.config import label_sets
from pipeline.core.errors import UserError, cli
from pipeline.core.textio import atomic_writer, read_text
from pipeline.data.articles import load_meta

FIELDS = ("target", "target_by", "outlet", "date", "url", "title", "event")


def archive_rows(seeds: Path) -> list[dict]:
    """A stance-bulk input row for each article of `seeds`, in name order."""
    texts = sorted(seeds.glob("*.txt"))
    if not texts:
        raise UserError(f"{seeds}: no <id>.txt articles")
    labels = label_sets()
    return [{"article_id": txt.stem, "text": read_text(txt)} | {k: load_meta(txt, labels).get(k) for k in FIELDS}
            for txt in texts]


@cli
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.commands.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=Path, help="a folder of <id>.txt articles with <id>.meta.json beside them")
    parser.add_argument("out", type=Path, help="the JSONL file to write")
    args = parser.parse_args(argv)
    rows = archive_rows(args.seeds)
    with atomic_writer(args.out) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} articles in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
