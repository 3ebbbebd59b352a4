"""A collected, doubly annotated article into the corpus: `seeds/`, `data/annotations/`, `data/review/`.

A collection folder holds, per article `<id>`:

    <id>.txt, <id>.meta.json          the text as published (a paragraph a line) and its provenance
    labels/first/<id>.jsonl           one blind annotator's labels, a row a sentence
    labels/second/<id>.jsonl          the other blind annotator's labels
    labels/third/<id>.jsonl           the deciding annotator's labels, for the sentences where the
                                      two differ (optional where they never do): sentence_id,
                                      speaker, stance, role and optionally `why` or `note`
    labels/revised/<id>.jsonl         later corrections of decided labels, each with a `note` saying
                                      why (optional; e.g. after a change to the guide)

Each labels file is checked exactly as `prepare` checks an annotation file (every sentence, in
order, with the segmenter's text); the decided labels are the two annotators' where they agree, else
the third's (pipeline/data/review.py), and a revision overrides both. Nothing is written unless
every article passes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.config import TASKS
from pipeline.core.errors import DataError, UserError
from pipeline.core.jsonl import load_rows, read_jsonl, write_jsonl
from pipeline.core.textio import atomic_writer, check_output_path, read_text
from pipeline.data.articles import article_rows, load_meta, meta_path
from pipeline.data.review import decision
from pipeline.data.schema import check_labels

ANNOTATORS = ("first", "second")
# Provenance a real article's meta must give; title and url must be present but may be null (a stored
# copy without its headline or address).
PROVENANCE = ("outlet", "date", "source_corpus", "removed", "target", "target_by", "event")
NULLABLE = ("title", "url")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Collected:
    """One article ready to join the corpus."""
    txt: Path
    meta: dict
    annotations: list[dict]  # the decided labels, a row a sentence
    review: list[dict]  # per sentence: first, second, third (or null) and revised (where given)

    @property
    def article_id(self) -> str:
        return self.txt.stem


def check_provenance(meta: dict, path: Path) -> None:
    for field in PROVENANCE:
        if not isinstance(meta.get(field), str) or not meta[field].strip():
            raise DataError(path, None, f"field '{field}' has value {meta.get(field)!r}; a real article's meta must "
                                        f"give its provenance: {', '.join(PROVENANCE)} (text), title and url (or null)")
    for field in NULLABLE:
        if field not in meta or not (meta[field] is None or isinstance(meta[field], str)):
            raise DataError(path, None, f"field '{field}' is missing or not text; give the article's {field}, or null "
                                        "where the stored copy lacks it")
    if not DATE.match(meta["date"]):
        raise DataError(path, None, f"field 'date' has value {meta['date']!r}; expected the publication date as YYYY-MM-DD")
    if meta.get("synthetic", False):
        raise DataError(path, None, "field 'synthetic' is true; only real, published articles are ingested")


def labels_of(folder: Path, who: str, txt: Path, labels: dict, required: bool) -> dict[int, dict] | None:
    """One annotator's labels by sentence id; the first two are checked as `prepare` checks annotations."""
    path = folder / "labels" / who / f"{txt.stem}.jsonl"
    if not path.is_file():
        if required:
            raise DataError(path, None, f"the {who} annotator's labels are missing; every article needs two blind "
                                        "labellings (labels/first and labels/second)")
        return None
    if who in ANNOTATORS:
        return {row["sentence_id"]: row for row in article_rows(txt, path, labels, 0)}
    out = {}
    for line, row in read_jsonl(path):
        check_decision(row, path, line, labels, who)
        out[row["sentence_id"]] = dict({t: row[t] for t in TASKS}, **({"note": row["note"]} if "note" in row else {}))
    return out


def check_decision(row: dict, path: Path, line: int, labels: dict, who: str) -> None:
    """A third annotator's or a revision's row: sentence_id, the three labels, and why (a decision
    may say which rule decided it, in `why` or `note`; a revision must say why in `note`)."""
    allowed = {"sentence_id", "text", "why", "note", *TASKS}
    unknown = sorted(set(row) - allowed)
    if unknown:
        raise DataError(path, line, f"unknown field '{unknown[0]}'; allowed fields: {', '.join(sorted(allowed))}")
    sid = row.get("sentence_id")
    if not isinstance(sid, int) or isinstance(sid, bool) or sid < 0:
        raise DataError(path, line, f"field 'sentence_id' has value {sid!r}; expected an integer from 0")
    check_labels(row, path, line, labels)
    if who == "revised" and not (isinstance(row.get("note"), str) and row["note"].strip()):
        raise DataError(path, line, "field 'note' is missing; a revision must say why the decided label changed")


def collect(folder: Path, article_id: str, labels: dict) -> Collected:
    """Read and check one article of a collection folder and decide its labels."""
    txt = folder / f"{article_id}.txt"
    if not txt.is_file():
        raise DataError(txt, None, "article text not found in the collection folder")
    meta = load_meta(txt, labels)
    check_provenance(meta, meta_path(txt))
    first, second = (labels_of(folder, who, txt, labels, True) for who in ANNOTATORS)
    third = labels_of(folder, "third", txt, labels, False) or {}
    revised = labels_of(folder, "revised", txt, labels, False) or {}
    extra = sorted((set(third) | set(revised)) - set(first))
    if extra:
        raise DataError(folder / "labels", None, f"{article_id}: labels for sentence {extra[0]}, which the article "
                                                 f"does not have ({len(first)} sentences)")
    review, annotations = [], []
    for sid, row in first.items():
        item = {"article_id": article_id, "sentence_id": sid, **{who: {t: rows[sid][t] for t in TASKS}
                                                                 for who, rows in (("first", first), ("second", second))},
                "third": {t: third[sid][t] for t in TASKS} if sid in third else None}
        if sid in revised:
            item["revised"] = revised[sid]
        try:
            final = decision(item)
        except ValueError:
            raise DataError(folder / "labels" / "third" / f"{article_id}.jsonl", None,
                            f"sentence {sid}: the two annotators differ ({item['first']} / {item['second']}) and no "
                            "third annotator's decision is given") from None
        review.append(item)
        annotations.append({"article_id": article_id, "sentence_id": sid, "text": row["text"], **final})
    return Collected(txt, meta, annotations, review)


def check_events(new: list[Collected], seeds: Path, limit: int) -> None:
    """At most `limit` real articles per event, counting those already in `seeds`."""
    count: dict[str, list[str]] = {}
    replaced = {c.article_id for c in new}
    for path in sorted(seeds.glob("*.meta.json")):
        meta = json.loads(read_text(path))
        if not meta.get("synthetic") and meta.get("event") and path.name[:-10] not in replaced:
            count.setdefault(meta["event"], []).append(path.name[:-10])
    for item in new:
        count.setdefault(item.meta["event"], []).append(item.article_id)
    for event, ids in sorted(count.items()):
        if len(ids) > limit:
            raise UserError(f"event {event!r} would have {len(ids)} articles ({', '.join(ids)}); at most {limit} per "
                            "event (ingest.max_articles_per_event), so no one incident outweighs the rest")


def write(new: list[Collected], seeds: Path, annotations: Path, review: Path, replace: bool) -> list[Path]:
    """Text and meta (byte for byte), decided annotations and review rows of every article, or nothing."""
    outputs = []
    for item in new:
        paths = [seeds / item.txt.name, seeds / meta_path(item.txt).name, annotations / f"{item.article_id}.jsonl"]
        existing = [str(p) for p in paths if p.exists() or p.is_symlink()]
        if existing and not replace:
            raise UserError(f"article {item.article_id!r} is already in the corpus ({', '.join(existing)}); pass "
                            "--replace to replace it")
        outputs.append(paths)
    for path in [*(p for paths in outputs for p in paths), review]:
        check_output_path(path)
    ids = {item.article_id for item in new}
    kept = [row for row in load_rows(review) if row["article_id"] not in ids] if review.is_file() else []
    for item, (txt, meta, labelled) in zip(new, outputs):
        for source, target in ((item.txt, txt), (meta_path(item.txt), meta)):
            with atomic_writer(target) as handle:
                handle.write(read_text(source))
        write_jsonl(labelled, item.annotations)
    write_jsonl(review, kept + [row for item in new for row in item.review])
    return [p for paths in outputs for p in paths] + [review]
