"""`stance-bulk` against the reliability probe's cases (docs: /work/shared/reviews/2026-12-reliability-
probe-2.md, rows B2-B20 and O2), on the baseline and a real local Ray started once for the module."""
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

ray = pytest.importorskip("ray")

from pipeline.commands.bulk import cli, cluster, plan  # noqa: E402
from pipeline.commands.bulk.folder import REJECTED  # noqa: E402
from pipeline.commands.text_inputs import sentences  # noqa: E402
from pipeline.core.config import ROOT  # noqa: E402
from pipeline.core.errors import UserError  # noqa: E402
from pipeline.data.segment import split_sentences  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.test_bulk import TARGET, article, output, run_bulk, write_jsonl  # noqa: E402

OTHER = "Russia staged the attack on the dam."
# Every line break str.splitlines knows besides \n and \r\n, inside paragraphs (probe B16).
BREAKS = "Kyiv rejected\u2028the claim made by Moscow. Officials\x0csaid so.\nA third\x85line.\x0bAnd\x1cmore\u2029here.\rEnd."
# Runs stance-bulk in a process of its own after `python -c DRIVER MODE ARGS...`, where MODE breaks
# the run inside Ray, after the plan: `input` rewrites INPUT (a read task raises UserError), `output`
# puts a file where OUTPUT was (a write task gets an OSError).
DRIVER = """
import shutil, sys
from pathlib import Path
from pipeline.commands.bulk import cli
mode, argv = sys.argv[1], sys.argv[2:]
real_plan, real_write = cli.plan, cli.write_rejected
def plan(*args):
    got = real_plan(*args)
    if mode == "input":
        Path(argv[0]).write_text("changed\\n")
    return got
def write_rejected(folder, rejected):
    real_write(folder, rejected)
    if mode == "output":
        shutil.rmtree(folder)
        folder.write_text("")
cli.plan, cli.write_rejected = plan, write_rejected
cli.main(argv)
"""


@pytest.fixture(scope="module")
def ray_address():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def baseline(models_root) -> list[str]:
    return ["--model-dir", str(models_root / "models" / "baseline")]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_output_reads_as_a_parquet_dataset_with_rejected_rows(ray_address, models_root, tmp_path, capsys, caplog):
    """B2: rejected rows and bookkeeping sit under names Parquet readers skip."""
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": article(1)}, {"article_id": "b"},
                                        {"article_id": "c", "text": article(2)}])
    out = tmp_path / "out"
    assert run_bulk(tmp_path / "in.jsonl", out, *baseline(models_root)) == 0
    assert f"1 rejected rows ({out / REJECTED})" in capsys.readouterr().err
    assert [json.loads(line)["article_id"] for line in (out / REJECTED).read_text().splitlines()] == ["b"]
    expected = len(split_sentences(article(1))) + len(split_sentences(article(2)))
    table = pd.read_parquet(out)
    assert len(table) == expected and set(table["article_id"]) == {"a", "c"}
    assert pads.dataset(out).to_table().num_rows == expected
    (out / "rejected.jsonl").write_text("{}\n")  # an older stance-bulk's name: a rerun says it is in the way
    assert run_bulk(tmp_path / "in.jsonl", out, *baseline(models_root)) == 0
    assert any("rejected.jsonl, not stance-bulk's" in r.getMessage() for r in caplog.records)


def test_output_files_get_the_umask_modes(ray_address, models_root, tmp_path):
    """O2: part files, rejected rows and the bookkeeping are 0666 less the umask, not mkstemp's 0600."""
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": article(1)}, {"article_id": "b"}])
    assert run_bulk(tmp_path / "in.jsonl", tmp_path / "out", *baseline(models_root)) == 0
    umask = os.umask(0)
    os.umask(umask)
    files = [p for p in (tmp_path / "out").iterdir()]
    assert {p.name for p in files} >= {REJECTED, ".run", ".lock"} and any(p.name.startswith("part-") for p in files)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o666 & ~umask for p in files}


def test_a_bom_on_the_first_line_is_read_like_any_row(ray_address, models_root, tmp_path, capsys):
    """B4: the scan and the re-read of the chosen rows both drop the byte-order mark."""
    rows = [{"article_id": f"a{i}", "text": article(i)} for i in range(3)]
    write_jsonl(tmp_path / "in.jsonl", [b"\xef\xbb\xbf" + json.dumps(rows[0]).encode() + b"\n", *rows[1:]])
    assert run_bulk(tmp_path / "in.jsonl", tmp_path / "out", *baseline(models_root)) == 0
    assert "3 articles" in capsys.readouterr().err
    got = output(tmp_path / "out")
    assert {k: [r["text"] for r in v] for k, v in got.items()} == {r["article_id"]: split_sentences(r["text"]) for r in rows}


@pytest.mark.parametrize("mode, cause", [("input", "in.jsonl: row 1 changed during the run; run stance-bulk again"),
                                         ("output", "Not a directory")])
def test_a_failure_inside_ray_is_one_line_naming_its_cause(ray_address, models_root, tmp_path, mode, cause):
    """B5/B14: a UserError in a read task, an OSError in a write task: the last stderr line is the
    cause, the only `error:` line; no traceback, no Ray task header, no colour codes."""
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": article(1)}])
    done = subprocess.run([sys.executable, "-c", DRIVER, mode, str(tmp_path / "in.jsonl"), str(tmp_path / "out"),
                           *baseline(models_root), "--address", ray_address], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and done.stdout == "", done.stderr[-3000:]
    assert lines[-1].startswith("error: ") and cause in lines[-1], lines[-1]
    assert [line for line in lines if line.startswith("error")] == lines[-1:]
    assert not any(word in done.stderr for word in ("Traceback", "ray::", "\x1b[", " ERROR "))


def test_ray_failure_unwraps_the_cause():
    """B5: the innermost cause of Ray's wrappers, without the retry advice Ray Data appends; a
    Parquet file that fails a read task is named."""
    err = UserError("in.jsonl: row 1 changed\nFailed to apply UDF transform after 1/1 attempts")
    wrapped = ray.exceptions.RayTaskError("read", "Traceback ...", err).as_instanceof_cause()
    assert str(cli.ray_failure(wrapped)) == "in.jsonl: row 1 changed"
    disk = OSError(28, "No space left on device", "out/.part-1.tmp")
    assert str(cli.ray_failure(ray.exceptions.RayTaskError("write", "tb", disk))) == \
        "out/.part-1.tmp: No space left on device"
    assert str(cli.ray_failure(RuntimeError("boom\nmore"))) == "the Ray job failed: RuntimeError: boom"
    lost = "Traceback (most recent call last):\n  File x\npipeline.core.errors.UserError: x.jsonl: bad\nFailed to apply"
    assert str(cli.ray_failure(ray.exceptions.RayTaskError("read", lost, None))) == "x.jsonl: bad"  # cause not carried
    assert str(plan.read_error("x.parquet", pa.ArrowInvalid("bad footer\nmore"))) == "x.parquet: cannot be read (bad footer)"


def test_a_rerun_with_another_target_is_refused(ray_address, models_root, tmp_path, capsys):
    """B9: articles already labelled against another target (another --target, or a row's target
    changed) are not kept silently: one line naming the article and both targets."""
    rows = [{"article_id": "a", "text": article(1)}, {"article_id": "b", "text": article(2), "target": OTHER}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    args = [tmp_path / "in.jsonl", tmp_path / "out", *baseline(models_root)]
    assert run_bulk(*args, "--target", TARGET) == 0
    capsys.readouterr()
    assert run_bulk(*args, "--target", "Kyiv blew up the dam.") == 2
    line = one_line(capsys.readouterr().err)
    assert "1 articles there were labelled against another target" in line and "'a'" in line
    assert repr(TARGET) in line and "'Kyiv blew up the dam.'" in line
    write_jsonl(tmp_path / "in.jsonl", [rows[0], rows[1] | {"target": "Kyiv blew up the dam."}])
    assert run_bulk(*args, "--target", TARGET) == 2
    assert "'b'" in one_line(capsys.readouterr().err)
    write_jsonl(tmp_path / "in.jsonl", rows)
    assert run_bulk(*args, "--target", TARGET) == 0  # the same targets: nothing to do
    assert "0 articles, 0 sentences, 0 rejected rows" in capsys.readouterr().err


def test_stance_bulk_segments_as_stance_predict(ray_address, models_root, use_root, tmp_path, capsys):
    """B16: U+2028, form feed, U+0085 and the other str.splitlines breaks end a paragraph in
    stance-predict's files as in split_sentences (stance-bulk, prepare)."""
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": BREAKS}])
    assert run_bulk(tmp_path / "in.jsonl", tmp_path / "out", "--model", "baseline", "--target", TARGET) == 0
    bulk = [r["text"] for r in output(tmp_path / "out")["a"]]
    assert bulk == split_sentences(BREAKS) and len(bulk) == 10
    (tmp_path / "a.txt").write_text(BREAKS, encoding="utf-8", newline="")
    code, out, err = run_cli(capsys, str(tmp_path / "a.txt"), "--model", "baseline", "--target", TARGET)
    assert code == 0, err
    assert [json.loads(line)["text"] for line in out.strip("\n").split("\n")] == bulk  # JSON keeps U+2028 raw
    as_read = [line + "\n" for line in BREAKS.split("\n")]  # stance-predict reads a file's \n-ended lines
    assert list(sentences(iter(as_read), True)) == [line.strip() for line in BREAKS.splitlines()]  # --lines


def test_output_inside_input_is_not_read_back(ray_address, models_root, tmp_path, capsys):
    """B17: OUTPUT's own files are left out of INPUT; INPUT inside OUTPUT is refused."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"article_id": f"a{i}", "text": article(i)} for i in range(3)])
    for _ in range(2):
        assert run_bulk(folder, folder / "labels", *baseline(models_root)) == 0
    assert "0 articles, 0 sentences, 0 rejected rows" in capsys.readouterr().err
    assert sorted(output(folder / "labels")) == ["a0", "a1", "a2"]
    assert run_bulk(folder / "labels" / REJECTED, folder / "labels", *baseline(models_root)) == 2
    assert "INPUT is inside OUTPUT" in one_line(capsys.readouterr().err)


def test_options_and_output_are_checked_before_the_model_loads_and_ray_starts(tmp_path, capsys, monkeypatch,
                                                                              no_model_load):
    """B19: --gpus-per-worker without GPUs, OUTPUT a file: one line, no model, no Ray, no OUTPUT."""
    monkeypatch.setattr(cli, "start_ray", lambda *a: pytest.fail("Ray started"))
    monkeypatch.setattr(cli, "local_gpus", lambda: 0, raising=False)  # this machine, as if it had no GPU
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": "Kyiv denied it."}])
    (tmp_path / "file").write_text("")
    out = tmp_path / "out"
    for args, message in [([out, "--gpus-per-worker", "1"], "--gpus-per-worker 1: this machine has 0 GPUs"),
                          ([out, "--workers", "3", "--gpus-per-worker", "0.5"], "--workers 3 with --gpus-per-worker 0.5"),
                          ([tmp_path / "file"], "file: is a file; expected a folder for the output")]:
        assert run_bulk(tmp_path / "in.jsonl", *args, "--model", "baseline") == 2
        assert message in one_line(capsys.readouterr().err)
        assert not out.exists()


def test_an_unreachable_address_fails_fast_and_creates_nothing(tmp_path, capsys, no_model_load):
    """B20: nothing listening at --address: one line within seconds, before the model loads."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    write_jsonl(tmp_path / "in.jsonl", [{"article_id": "a", "text": "Kyiv denied it."}])
    started = time.monotonic()
    assert run_bulk(tmp_path / "in.jsonl", tmp_path / "out", "--address", f"127.0.0.1:{port}") == 2
    assert f"cannot join Ray at 127.0.0.1:{port}" in one_line(capsys.readouterr().err)
    assert time.monotonic() - started < 10 and not (tmp_path / "out").exists()


def test_joining_ray_is_bounded(monkeypatch):
    """B20: a cluster that accepts the connection but never answers: ray.init is cut off."""
    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(cluster.ray, "init", lambda **kwargs: time.sleep(60))
    monkeypatch.setattr(cluster, "JOIN_TIMEOUT_S", 1)
    started = time.monotonic()
    with pytest.raises(UserError, match="cannot join Ray at head:6379: no answer within 1 s"):
        cluster.start_ray("head:6379")
    assert time.monotonic() - started < 5
