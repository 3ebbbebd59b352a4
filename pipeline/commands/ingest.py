"""`stance-ingest`: collected, doubly annotated articles into the corpus.

    stance-ingest FOLDER [--ids ID ...] [--replace] [--overlap-check SCRIPT]

FOLDER is a collection folder (pipeline/data/ingest.py: `<id>.txt`, `<id>.meta.json` and
`labels/{first,second,third,revised}/<id>.jsonl`); every article in it is ingested, or those named
by --ids. Each is checked as `prepare` checks the corpus (meta, provenance, `event`, labels aligned
with the segmented text), its labels are decided, the texts are checked for overlap with the
evaluation articles (`ingest.overlap_check`: a script given the files, exiting non-zero on overlap), and at
most `ingest.max_articles_per_event` articles may share an event. Only then are `seeds/<id>.txt`,
`seeds/<id>.meta.json`, `data/annotations/<id>.jsonl` and the rows of `data/review/real_labels.jsonl`
written (paths: the `ingest` section of configs/params.yaml). Run `dvc repro` afterwards.
"""
from __future__ import annotations

from pipeline.commands.entry import stance_ingest  # standard library only

if __name__ == "__main__":
    raise SystemExit(stance_ingest())

import argparse  # noqa: E402
import logging  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from pipeline.core.config import ROOT, label_sets, params  # noqa: E402
from pipeline.core.errors import UserError, cli, one_line  # noqa: E402
from pipeline.data.articles import meta_path  # noqa: E402
from pipeline.data.ingest import check_events, collect, write  # noqa: E402

log = logging.getLogger(__name__)


def article_ids(folder: Path, ids: list[str] | None) -> list[str]:
    if not folder.is_dir():
        raise UserError(f"{folder}: collection folder not found")
    found = sorted(path.stem for path in folder.glob("*.txt"))
    if ids:
        missing = [i for i in ids if i not in found]
        if missing:
            raise UserError(f"--ids: no article {missing[0]!r} in {folder} (it has {len(found)}: <id>.txt files)")
        return list(dict.fromkeys(ids))
    if not found:
        raise UserError(f"{folder}: no <id>.txt articles in this collection folder")
    return found


def overlap_check(script: Path | None, files: list[Path], explicit: bool) -> None:
    """Refuse text the overlap check flags; warn (or, when asked for by --overlap-check, refuse) when it is absent."""
    if script is None or not script.is_file():
        if explicit:
            raise UserError(f"--overlap-check {script}: no such file")
        log.warning("overlap check %s not found: the texts were not checked against the evaluation articles", script)
        return
    result = subprocess.run([sys.executable, str(script), *map(str, files)], capture_output=True, text=True)
    if result.returncode != 0:
        flagged = [line for line in result.stdout.splitlines() if line.strip()]
        raise UserError(f"the overlap check flagged the text as overlapping an evaluation article (exit "
                        f"{result.returncode}): "
                        f"{'; '.join(flagged[:5]) or result.stderr.strip()[:300]}; drop the article, do not edit it")
    log.info("overlap check: %s", one_line(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "clean"))


@cli
def main(argv: list[str] | None = None) -> None:
    cfg = params("ingest")
    parser = argparse.ArgumentParser(prog="stance-ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="collection folder")
    parser.add_argument("--ids", nargs="+", help="only these articles (default: every <id>.txt in FOLDER)")
    parser.add_argument("--replace", action="store_true", help="replace articles already in the corpus")
    parser.add_argument("--overlap-check", type=Path, help="script checking the texts against the evaluation "
                        f"articles (default: {cfg['overlap_check']})")
    args = parser.parse_args(argv)
    labels = label_sets()
    seeds, annotations, review = (ROOT / cfg[k] for k in ("seeds", "annotations", "review"))
    new = [collect(args.folder, article_id, labels) for article_id in article_ids(args.folder, args.ids)]
    check_events(new, seeds, cfg["max_articles_per_event"])
    files = [path for item in new for path in (item.txt, meta_path(item.txt))]
    overlap_check(args.overlap_check or ROOT / cfg["overlap_check"], files, args.overlap_check is not None)
    written = write(new, seeds, annotations, review, args.replace)
    sentences = sum(len(item.annotations) for item in new)
    disputed = sum(row["third"] is not None for item in new for row in item.review)
    print(f"ingested {len(new)} articles ({sentences} sentences, {disputed} decided by the third annotator): "
          f"{len(written)} files written; run `dvc repro` to retrain")


if __name__ == "__main__":
    main()
