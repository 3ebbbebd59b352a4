"""`stance-summary` against plain Python counts over the same rows: every figure of every table,
for each kind of --by and each format; and its bad inputs (one line, exit 2, nothing written)."""
import datetime as dt
import json
import math
from collections import Counter, defaultdict

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.commands.summary.cli import main as summary_main
from pipeline.commands.summary.frames import summarise
from pipeline.core.config import label_sets
from tests.summary_fixture import random_rows, write_archive

BY = ["outlet", "day", "week", "month", "target", "words", "outlet+month"]
KEYS = {"day": lambda d: d, "week": lambda d: d - dt.timedelta(days=d.weekday()), "month": lambda d: d.replace(day=1)}


def key_of(row: dict, spec: str) -> tuple:
    return tuple(row[t] if t not in KEYS else (KEYS[t](row["date"]) if row["date"] else None) for t in spec.split("+"))


def plain(rows: list[dict], spec: str, top: int, min_articles: int) -> dict[str, list[dict]]:
    """Every table of one --by value, counted in plain Python."""
    sets, keys = label_sets(), spec.split("+")
    by = defaultdict(list)
    for row in rows:
        by[key_of(row, spec)].append(row)
    out = defaultdict(list)
    for key, members in by.items():
        head = dict(zip(keys, key)) | {"small": len({r["article_id"] for r in members}) < min_articles}
        speakers = Counter(r["speaker"] for r in members)
        for s in sets["speaker"]:
            out["speakers"].append(head | {"speaker": s, "sentences": speakers[s], "share": speakers[s] / len(members)})
            for st in sets["stance"]:
                n = sum(r["speaker"] == s and r["stance"] == st for r in members)
                out["stances"].append(head | {"speaker": s, "stance": st, "sentences": n, "speaker_sentences": speakers[s],
                                              "share": n / speakers[s] if speakers[s] else None})
        claims, rebuttals = (sum(r["role"] == x for r in members) for x in ("claim", "rebuttal"))
        out["roles"].append(head | {"sentences": len(members), "claims": claims, "rebuttals": rebuttals,
                                    "ratio": claims / rebuttals if rebuttals else None})
        known = [r for r in members if r["target_by"]]
        mine = sum(r["speaker"] == r["target_by"] for r in known)
        against = sum(r["speaker"] not in (r["target_by"], "narrator") and r["stance"] == "deny" for r in known)
        out["balance"].append(head | {
            "articles": len({r["article_id"] for r in members}), "articles_with_claimant": len({r["article_id"] for r in known}),
            "inferred_claimants": len({r["article_id"] for r in known if r["target_by_source"] == "inferred"}),
            "claimant_sentences": mine, "opponent_sentences": against,
            "other_side_sentences": sum(r["speaker"] not in (r["target_by"], "narrator") and r["stance"] != "deny"
                                        for r in known),
            "claimant_share": mine / (mine + against) if mine + against else None})
        out["groups"].append(head | {"articles": len({r["article_id"] for r in members}), "sentences": len(members)})
        for side in sets["speaker"][:-1]:
            for role in ("claim", "rebuttal"):
                best = sorted((r for r in members if r["speaker"] == side and r["role"] == role),
                              key=lambda r: (-r[f"role_{role}"], r["article_id"], r["sentence_id"]))[:top]
                out["top"] += [head | {"side": side, "role": role, "rank": i + 1, "article_id": r["article_id"],
                                       "sentence_id": r["sentence_id"], "text": r["text"], "url": r["url"],
                                       "confidence": r[f"role_{role}"]} for i, r in enumerate(best)]
    return out


def norm(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):
        value = value.item()
    return round(value, 9) if isinstance(value, float) and not isinstance(value, bool) else value


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    return sorted((tuple(sorted((k, repr(norm(v))) for k, v in row.items())) for row in frame.to_dict("records")))


def as_text_keys(rows: list[dict], keys: list[str]) -> list[dict]:
    """Plain rows with key values as a CSV file gives them back (text, numbers, empty)."""
    return [r | {k: norm(r[k]) for k in keys} for r in rows]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    rows = random_rows(seed=11, articles=60)
    return write_archive(tmp_path_factory.mktemp("archive") / "labels", rows, per_part=70), rows


def test_every_table_equals_plain_counts_for_every_by(archive):
    folder, rows = archive
    summary = summarise(folder, by=BY, top=3, min_articles=4)
    for spec in BY:
        expected = plain(rows, spec, 3, 4)
        for name, frame in summary[spec].items():
            assert list(frame.columns[:len(spec.split("+"))]) == spec.split("+")
            assert rows_of(frame) == rows_of(pd.DataFrame(expected[name])), (spec, name)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_hold_the_plain_counts(archive, tmp_path, fmt, capsys):
    folder, rows = archive
    with pytest.raises(SystemExit) as done:
        summary_main([str(folder), "--out", str(tmp_path / "s"), "--by", *BY, "--format", fmt, "--top", "2",
                      "--min-articles", "4"])
        raise SystemExit(0)
    assert done.value.code == 0
    manifest = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert manifest["sentences"] == len(rows) and manifest["articles"] == 60 and len(manifest["files"]) == 6 * len(BY)
    for spec in BY:
        keys, expected = spec.split("+"), plain(rows, spec, 2, 4)
        for name in expected:
            path = tmp_path / "s" / spec / f"{name}.{fmt}"
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""]) if fmt == "csv" else pd.read_parquet(path)
            want = pd.DataFrame(as_text_keys(expected[name], keys) if fmt == "csv" else expected[name])
            if fmt == "csv":  # CSV gives text back as text, numbers as numbers
                frame[keys] = frame[keys].map(lambda v: None if pd.isna(v) else v)
            assert rows_of(frame) == rows_of(want), (spec, name)


def test_html_shows_every_share_with_its_count(archive, tmp_path):
    folder, rows = archive
    with pytest.raises(SystemExit) as done:
        summary_main([str(folder), "--out", str(tmp_path / "s"), "--by", "outlet", "month"])
        raise SystemExit(0)
    assert done.value.code == 0
    page = (tmp_path / "s" / "report.html").read_text()
    for spec in ("outlet", "month"):
        for row in plain(rows, spec, 5, 5)["speakers"]:
            total = round(row["sentences"] / row["share"]) if row["share"] else None
            if total:
                assert f"({row['sentences']} of {total})" in page


def bad(args, capsys) -> str:
    with pytest.raises(SystemExit) as done:
        summary_main([str(a) for a in args])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_inputs_are_one_line_exit_2_and_nothing_is_written(archive, tmp_path, capsys):
    folder, rows = archive
    out = tmp_path / "out"
    (tmp_path / "empty").mkdir()
    assert "no part-*.parquet files" in bad([tmp_path / "empty", "--out", out], capsys)
    assert "no such column" in bad([folder, "--out", out, "--by", "publisher"], capsys)
    assert "per-sentence column" in bad([folder, "--out", out, "--by", "stance"], capsys)
    other = write_archive(tmp_path / "mixed", rows[:40], per_part=20)
    write_archive(other, rows[40:80], per_part=20, model="transformer", run="later")
    assert "parts of different models" in bad([other, "--out", out], capsys)
    old = tmp_path / "old"
    old.mkdir()
    pq.write_table(pq.read_table(folder / "part-test-000000.parquet").replace_schema_metadata(None), old / "part-0.parquet")
    assert "no version" in bad([old, "--out", out], capsys)
    undated = write_archive(tmp_path / "undated", [r | {"date": None} for r in rows[:30]])
    assert "is empty; nothing to group by" in bad([undated, "--out", out, "--by", "month"], capsys)
    assert not out.exists()
    (out / "keep").mkdir(parents=True)
    assert "other files in it" in bad([folder, "--out", out], capsys)
    assert [p.name for p in out.iterdir()] == ["keep"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_failing_rerun_leaves_the_earlier_summary_whole(archive, tmp_path, capsys):
    folder, _ = archive
    out = tmp_path / "s"
    summary_main([str(folder), "--out", str(out), "--format", "csv"])
    capsys.readouterr()
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    bad([folder, "--out", out, "--by", "nope"], capsys)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_parts_with_other_columns_are_refused(archive, tmp_path, capsys):
    folder, rows = archive
    mixed = write_archive(tmp_path / "cols", rows[:20])
    extra = pa.schema(list(pq.read_schema(folder / "part-test-000000.parquet"))[-5:-1])
    write_archive(mixed, rows[20:40], article_columns=extra, per_part=1000, run="later")
    assert "different columns" in bad([mixed, "--out", tmp_path / "o"], capsys)
