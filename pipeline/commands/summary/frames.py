"""`summarise`: a stance-bulk archive's figures per group, computed by DuckDB where the data is.

DuckDB reads only the columns a query needs from the Parquet parts, aggregates them in parallel
in bounded memory (spilling to disk past `summary.memory_limit`), and hands back small result
tables: no Python object is made per sentence. Three queries per grouping: one for the group,
article and claimant counts, one for the speaker x stance x role counts (speaker shares, stance
by side and roles come from it), and the top sentences (ranked on ids, then the winners' text
read). Polars or Arrow compute would do the sums too; DuckDB also gives the top-N per partition
(QUALIFY) and spilling without hand-written code.
"""
from __future__ import annotations

import logging
import os

import duckdb
import pandas as pd

from pipeline.commands.summary.archive import Archive, open_archive
from pipeline.commands.summary.groups import grouping, quote
from pipeline.core.config import params
from pipeline.core.errors import UserError
from pipeline.data.schema import side_labels

log = logging.getLogger(__name__)
FRAMES = ("groups", "speakers", "stances", "roles", "balance", "top")


def connect(cfg: dict, archive: Archive) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {int(cfg['threads'] or os.cpu_count() or 1)}")
    con.execute(f"SET memory_limit = '{cfg['memory_limit']}'")
    con.execute("SET preserve_insertion_order = false")  # no row order to keep: lets aggregation stream
    files = ", ".join("'" + p.replace("'", "''") + "'" for p in archive.parts)
    con.execute(f"CREATE VIEW parts AS SELECT * FROM read_parquet([{files}])")
    return con


def _sql_list(values: list[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _query(con, sql: str, keys: list[str]) -> pd.DataFrame:
    frame = con.execute(sql).df()
    return frame.rename(columns={f"g{i}": key for i, key in enumerate(keys)})


def scans(con, archive: Archive, keys: list[str], key_sql: list[str], cfg: dict, top: int) -> tuple:
    """(groups with claimant counts, label counts, top sentences) of one grouping, from DuckDB."""
    g = ", ".join(f"g{i}" for i in range(len(keys)))
    aliased = ", ".join(f"{sql} AS g{i}" for i, sql in enumerate(key_sql))
    sides = _sql_list(side_labels(archive.labels))
    url = quote(cfg["url_column"]) if cfg["url_column"] in archive.columns else "NULL"
    base = (f"(SELECT {aliased}, article_id, sentence_id, speaker, stance, role, target_by, target_by_source, "
            f"role_claim, role_rebuttal FROM parts) b")
    groups = _query(con, f"""
        SELECT {g}, count(DISTINCT article_id) AS articles, count(*) AS sentences,
          count(DISTINCT article_id) FILTER (WHERE target_by IS NOT NULL) AS articles_with_claimant,
          count(DISTINCT article_id) FILTER (WHERE target_by_source = 'inferred') AS inferred_claimants,
          count(*) FILTER (WHERE speaker = target_by) AS claimant_sentences,
          count(*) FILTER (WHERE speaker <> target_by AND speaker IN {sides} AND stance = 'deny') AS opponent_sentences,
          count(*) FILTER (WHERE speaker <> target_by AND speaker IN {sides} AND stance <> 'deny') AS other_side_sentences
        FROM {base} GROUP BY ALL ORDER BY {g} NULLS LAST""", keys)
    counts = _query(con, f"SELECT {g}, speaker, stance, role, count(*) AS n FROM {base} GROUP BY ALL", keys)
    # Rank on ids alone, then fetch the text and link of the winners only: sorting every candidate
    # with its text took two thirds of the time and most of the memory at 10 million rows.
    ranked = f"""
        SELECT {g}, speaker AS side, role, row_number() OVER (PARTITION BY {g}, speaker, role
                 ORDER BY score DESC, article_id, sentence_id) AS rank, article_id, sentence_id, score
        FROM (SELECT {aliased}, speaker, role, article_id, sentence_id,
                     CASE role WHEN 'claim' THEN role_claim ELSE role_rebuttal END AS score
              FROM parts WHERE role IN ('claim', 'rebuttal') AND speaker IN {sides})
        QUALIFY rank <= {int(top)}"""
    best = _query(con, f"""
        SELECT {", ".join(f"r.g{i}" for i in range(len(keys)))}, r.side, r.role, r.rank, r.article_id, r.sentence_id,
               p.text, p.url, r.score AS confidence
        FROM ({ranked}) r JOIN (SELECT article_id, sentence_id, text, {url} AS url FROM parts) p
          ON p.article_id = r.article_id AND p.sentence_id = r.sentence_id
        ORDER BY {", ".join(f"r.g{i}" for i in range(len(keys)))} NULLS LAST, r.side, r.role, r.rank""", keys)
    return groups, counts, best


def _grid(groups: pd.DataFrame, keys: list[str], **labels: list[str]) -> pd.DataFrame:
    """Every group crossed with every label combination (zero counts are shown, not left out)."""
    grid = groups[keys + ["sentences"]].rename(columns={"sentences": "group_sentences"})
    for name, values in labels.items():
        grid = grid.merge(pd.DataFrame({name: values}), how="cross")
    return grid


def _count(grid: pd.DataFrame, counts: pd.DataFrame, keys: list[str], by: list[str]) -> pd.DataFrame:
    summed = counts.groupby(keys + by, dropna=False, as_index=False)["n"].sum()
    out = grid.merge(summed, on=keys + by, how="left")
    out["sentences"] = out.pop("n").fillna(0).astype("int64")
    return out


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part / whole, empty (not 0) where whole is 0."""
    return (part / whole.where(whole > 0)).astype("float64")


def tables(groups, counts, best, keys: list[str], labels: dict, min_articles: int) -> dict[str, pd.DataFrame]:
    """The six frames of one grouping, each with its group columns first and the `small` flag."""
    groups = groups.copy()
    groups["small"] = groups["articles"] < min_articles
    flag = groups[keys + ["small"]]
    speakers = _count(_grid(groups, keys, speaker=labels["speaker"]), counts, keys, ["speaker"])
    speakers["share"] = _share(speakers["sentences"], speakers.pop("group_sentences"))
    stances = _count(_grid(groups, keys, speaker=labels["speaker"], stance=labels["stance"]), counts, keys,
                     ["speaker", "stance"]).drop(columns="group_sentences")
    stances = stances.merge(speakers[keys + ["speaker", "sentences"]].rename(columns={"sentences": "speaker_sentences"}),
                            on=keys + ["speaker"], how="left")
    stances["share"] = _share(stances["sentences"], stances["speaker_sentences"])
    role = _count(_grid(groups, keys, role=labels["role"]), counts, keys, ["role"])
    roles = groups[keys + ["sentences"]].copy()
    for label, column in (("claim", "claims"), ("rebuttal", "rebuttals")):
        roles = roles.merge(role.loc[role["role"] == label, keys + ["sentences"]].rename(columns={"sentences": column}),
                            on=keys, how="left")
    roles["ratio"] = _share(roles["claims"], roles["rebuttals"])
    balance = groups[keys + ["articles", "articles_with_claimant", "inferred_claimants", "claimant_sentences",
                             "opponent_sentences", "other_side_sentences"]].copy()
    balance["claimant_share"] = _share(balance["claimant_sentences"],
                                       balance["claimant_sentences"] + balance["opponent_sentences"])
    groups = groups[keys + ["articles", "sentences", "small"]]
    frames = {"groups": groups, "speakers": speakers, "stances": stances, "roles": roles, "balance": balance,
              "top": best}
    return {name: frame if name == "groups" else frame.merge(flag, on=keys, how="left") for name, frame in frames.items()}


def summarise(folder, by: list[str] | None = None, top: int | None = None,
              min_articles: int | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """The figures of a stance-bulk OUTPUT folder: {--by value: {frame name: DataFrame}}.

    Frames: groups (articles, sentences), speakers (sentences and share per speaker), stances (per
    speaker, sentences and share per stance), roles (claims, rebuttals, their ratio), balance (the
    claimant side's sentences against its opponents': other sides' sentences that deny the target),
    top (the `top` highest-confidence claim and rebuttal sentences per side). Every frame has the
    group columns first and `small`: fewer than `min_articles` articles. Defaults: configs/params.yaml
    `summary`."""
    cfg = params("summary")
    by, top = by or cfg["by"], cfg["top"] if top is None else top
    min_articles = cfg["min_articles"] if min_articles is None else min_articles
    if top < 1 or min_articles < 0:
        raise UserError(f"top must be at least 1 (got {top}) and min_articles 0 or more (got {min_articles})")
    archive = open_archive(folder)
    specs = {spec: grouping(spec, archive.schema, params("bulk")["date_column"]) for spec in by}
    con = connect(cfg, archive)
    out = {}
    try:
        for spec, (keys, key_sql) in specs.items():
            log.info("summarising %s by %s", archive.folder, spec)
            groups, counts, best = scans(con, archive, keys, key_sql, cfg, top)
            if groups.empty:
                raise UserError(f"{archive.folder}: the parts hold no sentences")
            if groups[keys].isna().all(axis=1).all():
                raise UserError(f"--by {spec}: every article's {' and '.join(keys)} is empty; nothing to group by")
            out[spec] = tables(groups, counts, best, keys, archive.labels, min_articles)
    except duckdb.Error as err:
        raise UserError(f"{archive.folder}: cannot be summarised ({str(err).splitlines()[0]})") from None
    finally:
        con.close()
    return out
