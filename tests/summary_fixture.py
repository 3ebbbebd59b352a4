"""A stance-bulk archive with known labels, written as stance-bulk writes its parts, for the tests of
stance-summary (and the benchmark's small runs)."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.commands.bulk.schema import part_schema
from pipeline.core.scores import score_columns
from pipeline.core.config import label_sets

ARTICLE_COLUMNS = pa.schema([pa.field("outlet", pa.string()), pa.field("date", pa.date32()),
                             pa.field("url", pa.string()), pa.field("title", pa.string()),
                             pa.field("words", pa.int64())])
OUTLETS = ["Reuters", "AP", "BBC", "Kyiv Independent", "TASS", None]
TARGETS = ["Russia shelled the plant.", "Ukraine attacked the residence.", "Talks will resume in May."]


def labels() -> dict[str, list[str]]:
    return label_sets()


def random_rows(seed: int = 7, articles: int = 40) -> list[dict]:
    """Sentence rows of `articles` articles with random labels, scores, outlets, dates (some missing)."""
    rng, sets, rows = random.Random(seed), labels(), []
    for a in range(articles):
        given = rng.random() < 0.5
        article = {"article_id": f"a{a:03d}", "model": "baseline", "target": rng.choice(TARGETS),
                   "target_by": rng.choice(sets["speaker"][:-1]) if rng.random() < 0.9 else None,
                   "outlet": rng.choice(OUTLETS), "date": None if rng.random() < 0.1 else
                   dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(120)),
                   "url": f"https://news.example/{a}?q=<b>&x='1'", "title": f"Title {a} <i>", "words": rng.randrange(900)}
        article["target_by_source"] = None if article["target_by"] is None else ("given" if given else "inferred")
        for s in range(rng.randrange(1, 12)):
            row = dict(article, sentence_id=s, text=f"Sentence {s} of {a}: \"quoted\" <script>x</script>",
                       truncated=False)
            for task in ("speaker", "stance", "role"):
                row[task] = rng.choice(sets[task])
            for name in score_columns(sets):
                row[name] = round(rng.random(), 4)
            row["role_claim"] = round(rng.choice([0.5, 0.75, rng.random()]), 4)  # ties, broken by id
            rows.append(row)
    return rows


def write_archive(folder: Path, rows: list[dict], per_part: int = 50, model: str = "baseline",
                  article_columns: pa.Schema = ARTICLE_COLUMNS, run: str = "test") -> Path:
    """rows as part-*.parquet files of `per_part` rows (an article may span parts here; stance-bulk
    keeps articles whole, which the summary does not rely on)."""
    folder.mkdir(parents=True, exist_ok=True)
    schema = part_schema(labels(), model, article_columns)
    for i in range(0, max(len(rows), 1), per_part):
        table = pa.Table.from_pylist(rows[i:i + per_part], schema=schema)
        pq.write_table(table, folder / f"part-{run}-{i // per_part:06d}.parquet")
    return folder
