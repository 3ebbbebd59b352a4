"""`stance-bulk` on a real local Ray (started once for the module, 2 CPUs): labels equal
stance-predict's, a SIGKILLed run resumes with every article once, bad rows are listed.
The reliability probe's cases are in tests/test_bulk_probe.py."""
import json
import logging
import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray")

from pipeline.api import predict  # noqa: E402
from pipeline.commands.bulk.cli import main as bulk_main  # noqa: E402
from pipeline.commands.bulk.folder import REJECTED  # noqa: E402
from pipeline.core.config import TASKS  # noqa: E402
from pipeline.data.segment import split_sentences  # noqa: E402
from pipeline.models.side_decoding import infer_claimant  # noqa: E402
from tests.conftest import TINY_TEXT, run_cli  # noqa: E402

TARGET = "Ukraine attacked the dam."
OTHER = "Russia staged the attack on the dam."
LINES = ["Moscow accused Kyiv of attacking a dam on Monday.", "Ukrainian officials rejected the claim as a lie.",
         "“It is another fabrication,” the foreign minister said.", "The dam lies on the Dnipro river.",
         "The White House said it had no information.", "NATO's chief called for calm."]


@pytest.fixture(scope="module")
def ray_address():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def article(i: int) -> str:
    """A small article of 2-4 paragraphs whose sentences vary with i."""
    picked = [LINES[(i + k) % len(LINES)] for k in range(2 + i % 3)]
    return "\n".join(f"{line} ({i}.{k})" if k % 2 else line for k, line in enumerate(picked))


def write_jsonl(path, rows) -> None:
    with open(path, "wb") as handle:
        for row in rows:
            handle.write(row if isinstance(row, bytes) else json.dumps(row, ensure_ascii=False).encode() + b"\n")


def run_bulk(*args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        bulk_main([str(a) for a in args])
        raise SystemExit(0)
    return done.value.code


def output(folder) -> dict[str, list[dict]]:
    """OUTPUT's rows by article, in sentence order; fails if an article is in two files."""
    by_article, seen = {}, {}
    for path in sorted(folder.glob("part-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            assert seen.setdefault(row["article_id"], path) == path, f"{row['article_id']} in two files"
            by_article.setdefault(row["article_id"], []).append(row)
    return {k: sorted(v, key=lambda r: r["sentence_id"]) for k, v in by_article.items()}


@pytest.mark.parametrize("model", ["transformer", "baseline"])
def test_labels_equal_stance_predict(ray_address, use_root, tmp_path, capsys, model):
    rows = [{"article_id": f"a{i}", "text": article(i)} | ({"target": OTHER} if i % 2 else {}) for i in range(6)]
    rows.append({"article_id": "tiny", "text": TINY_TEXT, "target": None})
    write_jsonl(tmp_path / "in.jsonl", rows)
    assert run_bulk(tmp_path / "in.jsonl", tmp_path / "out", "--model", model, "--target", TARGET) == 0
    assert "7 articles" in capsys.readouterr().err
    got = output(tmp_path / "out")
    assert sorted(got) == sorted(r["article_id"] for r in rows)
    for row in rows:
        (tmp_path / "article.txt").write_text(row["text"], encoding="utf-8")
        code, out, err = run_cli(capsys, str(tmp_path / "article.txt"), "--model", model, "--device", "cpu",
                                 "--target", row.get("target") or TARGET)
        assert code == 0, err
        expected = [json.loads(line) for line in out.splitlines()]
        assert len(got[row["article_id"]]) == len(expected) > 0
        claimant = infer_claimant(expected)
        for ours, theirs in zip(got[row["article_id"]], expected):
            assert theirs["source"].endswith("article.txt")
            assert ours == flat(row["article_id"], theirs, claimant)


def flat(article_id: str, record: dict, claimant: str | None = None) -> dict:
    """A stance-predict record as an OUTPUT row (scores as columns, article_id for source), with
    the claimant side bulk infers from the article's records (passed as `claimant` in the tests,
    which compute it from stance-predict's records with infer_claimant)."""
    scores = {f"{t}_{label}": p for t in TASKS for label, p in record["scores"][t].items()}
    return {"article_id": article_id, **{k: v for k, v in record.items() if k not in ("scores", "source")}, **scores,
            "target_by": claimant, "target_by_source": "inferred" if claimant else None}


def test_killed_run_resumes_with_every_article_once(ray_address, models_root, tmp_path, capsys):
    """The baseline (fast), 600 articles of 100 a file: SIGKILL once the first file is there, rerun;
    every article is in OUTPUT once, labelled exactly as stance-predict's API labels it."""
    rows = [{"article_id": f"k{i}", "text": article(i)} | ({"target": OTHER} if i % 5 == 0 else {}) for i in range(600)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    out, folder = tmp_path / "out", models_root / "models" / "baseline"
    args = [str(tmp_path / "in.jsonl"), str(out), "--model-dir", str(folder), "--target", TARGET]
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.commands.bulk.cli", *args, "--address", ray_address],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not list(out.glob("part-*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    first = output(out)  # every file readable, no article in two files
    assert 0 < len(first) < len(rows), "the run was not killed part-way"
    assert run_bulk(*args) == 0
    assert f"{len(first)} already done" in capsys.readouterr().err
    assert not list(out.glob(".part-*"))  # the killed run's temporary files are gone
    final = output(out)
    assert sorted(final) == sorted(r["article_id"] for r in rows)
    for row in rows:
        expected = predict(row["text"], row.get("target") or TARGET, model_dir=folder)
        assert [r["text"] for r in final[row["article_id"]]] == split_sentences(row["text"])
        claimant = infer_claimant(expected)
        assert final[row["article_id"]] == [flat(row["article_id"], record, claimant) for record in expected]
    assert run_bulk(*args) == 0  # nothing left to do
    assert "0 articles, 0 sentences, 0 rejected rows" in capsys.readouterr().err


def test_article_columns_travel_with_their_types_from_jsonl_csv_and_parquet(ray_address, use_root, tmp_path, capsys):
    """Fields stance-bulk does not use reach every sentence row unchanged (JSON and Parquet types,
    CSV text); the date becomes a date; a bad date or target_by rejects its row; a given target_by
    is the claimant, else it is inferred."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [
        {"article_id": "j1", "text": article(1), "outlet": "AP", "date": "2024-03-05T23:10:00-05:00", "words": 120,
         "score": 1, "tags": ["x", "y"], "target_by": "russia"},
        {"article_id": "j2", "text": article(2), "outlet": "BBC", "date": None, "words": 80, "score": 2.5},
        {"article_id": "j3", "text": article(3), "outlet": "AP", "date": "5 March 2024"},
        {"article_id": "j4", "text": article(4), "target_by": "kremlin"}])
    (folder / "b.csv").write_text('article_id,text,outlet,date,target_by\nc1,"' + article(5).replace('"', '""')
                                  + '",TASS,2024-04-01,\nc2,"two\nlines",Reuters,,ukraine\n', encoding="utf-8")
    pq.write_table(pa.table({"article_id": ["p1"], "text": [article(6)], "outlet": ["CNN"], "words": pa.array([7], pa.int32()),
                             "date": pa.array([pa.scalar(1, pa.date32()).as_py()], pa.date32())}), folder / "c.parquet")
    assert run_bulk(folder, tmp_path / "out", "--model", "baseline", "--target", TARGET) == 0
    rows = {r["article_id"]: r for rs in output(tmp_path / "out").values() for r in rs}
    schema = pq.read_schema(next((tmp_path / "out").glob("part-*.parquet")))
    assert sorted(rows) == ["c1", "c2", "j1", "j2", "p1"]
    assert schema.field("words").type == pa.int64() and schema.field("score").type == pa.float64()
    assert schema.field("tags").type == pa.list_(pa.string()) and schema.field("date").type == pa.date32()
    assert rows["j1"]["date"].isoformat() == "2024-03-05" and rows["j1"]["tags"] == ["x", "y"]
    assert (rows["j1"]["target_by"], rows["j1"]["target_by_source"]) == ("russia", "given")
    assert rows["j2"]["target_by_source"] == "inferred" and rows["j2"]["date"] is None and rows["j2"]["score"] == 2.5
    assert rows["c1"]["outlet"] == "TASS" and rows["c1"]["words"] is None and rows["c2"]["target_by"] == "ukraine"
    assert rows["p1"]["words"] == 7 and rows["p1"]["date"].isoformat() == "1970-01-02"
    rejected = {r["article_id"]: r["reason"] for r in map(json.loads, open(tmp_path / "out" / REJECTED))}
    assert "'5 March 2024' is not a date" in rejected["j3"] and "'kremlin' is not a side" in rejected["j4"]


def test_bad_rows_are_listed_with_reasons_and_the_job_succeeds(ray_address, use_root, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [
        {"article_id": "good1", "text": article(1)},
        {"article_id": "notext"},
        {"article_id": "blank", "text": "  \n "},
        {"article_id": "emptytarget", "text": article(2), "target": " "},
        b'{"article_id": "latin1", "text": "caf\xe9"}\n',
        b'{"article_id": "surrogate", "text": "bad \\udc80 text"}\n',
        b"not json\n",
        {"text": "no id"},
        {"article_id": "good1", "text": "A repeat."},
    ])
    table = pa.table({"article_id": ["good2", "rawbytes", "good1"],
                      "text": pa.array([article(3).encode(), b"caf\xe9", b"Again."], pa.binary())})
    pq.write_table(table, folder / "b.parquet")
    assert run_bulk(folder, tmp_path / "out", "--model", "baseline", "--target", TARGET) == 0
    assert "2 articles" in capsys.readouterr().err
    assert sorted(output(tmp_path / "out")) == ["good1", "good2"]
    rejected = [json.loads(line) for line in (tmp_path / "out" / REJECTED).read_text().splitlines()]
    got = {(os.path.basename(r["file"]), r["row"]): r["reason"] for r in rejected}
    a, b = "a.jsonl", "b.parquet"
    assert got == {
        (a, 2): "no text", (a, 3): "no text (empty or whitespace only)",
        (a, 4): "field 'target' is empty; give the claim stance is measured against",
        (a, 5): "line is not valid UTF-8 (byte offset 37)",
        (a, 6): "field 'text' is not valid UTF-8 (at character or byte 4)",
        (a, 7): "not valid JSON (Expecting value: line 1 column 1 (char 0))", (a, 8): "no article_id",
        (a, 9): f"duplicate article_id (first at {folder / a}:1)",
        (b, 2): "field 'text' is not valid UTF-8 (at character or byte 3)",
        (b, 3): f"duplicate article_id (first at {folder / a}:1)"}


def test_unreadable_input_or_missing_model_is_one_line_and_exit_2(tmp_path, capsys, models_root):
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": "Kyiv denied it."}])
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    out = tmp_path / "out"
    for args, message in [
        ([tmp_path / "missing.jsonl", out], "missing.jsonl: no such file or folder"),
        ([tmp_path / "bad.parquet", out], "bad.parquet: not a readable Parquet file"),
        ([tmp_path / "in.jsonl", out, "--model-dir", tmp_path / "nomodel"], "nomodel"),
        ([tmp_path / "in.jsonl", out, "--model-dir", models_root / "models" / "baseline", "--workers", "0"],
         "--workers must be at least 1"),
    ]:
        assert run_bulk(*args) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and message in err, err
        assert not out.exists()  # nothing started
