"""Reliability probe 2 (docs: /work/shared/reviews/2026-12-reliability-probe-2.md): output paths that
are not regular files, file modes, Ctrl-C during start-up imports, and hostile Label Studio exports."""
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys

import pytest

from pipeline.commands.evaluate import main as evaluate_main
from pipeline.commands.labelstudio.cli import main as labelstudio_main
from pipeline.core.config import ROOT, TASKS
from pipeline.core.errors import UserError, one_line
from pipeline.data.schema import check_target
from pipeline.core.textio import atomic_writer, check_output_path, write_atomic
from pipeline.data.segment import split_sentences
from pipeline.stages.prepare import prepare
from tests.conftest import TINY_LABELS, TINY_TEXT, run_command

TARGET = "Ukraine attacked the dam."


def special(tmp_path, kind: str):
    """A path in tmp_path holding something that is not a regular file (never a real /dev entry)."""
    path, regular = tmp_path / f"{kind}.out", tmp_path / "regular.json"
    regular.write_text("keep me\n")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-file":
        path.symlink_to(regular)
    elif kind == "link-to-fifo":
        os.mkfifo(tmp_path / "pipe")
        path.symlink_to(tmp_path / "pipe")
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "nothing")
    elif kind == "socket":
        path = tmp_path / "s"  # AF_UNIX paths are short
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "device":  # a node like /dev/null (char 1:3), made in tmp_path
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except (PermissionError, OSError) as err:
            pytest.skip(f"cannot make a device node here ({err})")
    return path


KINDS = ["fifo", "link-to-file", "link-to-fifo", "dangling-link", "socket", "device"]


@pytest.mark.parametrize("kind", KINDS)
def test_evaluate_out_never_replaces_anything_but_a_regular_file(capsys, tmp_path, no_model_load, kind):
    path = special(tmp_path, kind)
    before = os.lstat(path)
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"article_id": "a", "sentence_id": 0, "text": "Kyiv denied it.", "target": TARGET,
                                "speaker": "ukraine", "stance": "deny", "role": "rebuttal"}) + "\n")
    code, out, err = run_command(evaluate_main, capsys, "--data", str(data), "--out", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and "refusing to replace it" in err, err
    after = os.lstat(path)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert (tmp_path / "regular.json").read_text() == "keep me\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("kind", KINDS)
def test_atomic_writer_refuses_special_files_before_the_block_runs(tmp_path, kind):
    path = special(tmp_path, kind)
    ran = []
    with pytest.raises(UserError, match="refusing to replace it"):
        with atomic_writer(path):
            ran.append(1)
    assert not ran and stat.S_IFMT(os.lstat(path).st_mode) != stat.S_IFREG


def test_something_put_there_during_the_write_is_not_replaced(tmp_path):
    path = tmp_path / "out.json"
    with pytest.raises(UserError, match="named pipe"):
        with atomic_writer(path) as handle:
            handle.write("x")
            os.mkfifo(path)
    assert stat.S_ISFIFO(os.lstat(path).st_mode) and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_folder_and_a_regular_file(tmp_path):
    with pytest.raises(UserError, match="is a folder"):
        check_output_path(tmp_path)
    write_atomic(tmp_path / "f.txt", "one")
    write_atomic(tmp_path / "f.txt", "two")
    assert (tmp_path / "f.txt").read_text() == "two"


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_files_get_the_umask_mode(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "new.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == expected


@pytest.mark.parametrize("mode", [0o600, 0o664, 0o755])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "old.json"
    path.write_text("old")
    path.chmod(mode)
    write_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(os.stat(path).st_mode) == mode


# --- Ctrl-C while a command's modules are imported ------------------------------------------------

INTERRUPTING = "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\n"


@pytest.mark.parametrize("library, command", [
    ("numpy", ["-m", "pipeline.commands.evaluate", "--data", "x.jsonl"]),
    ("yaml", ["-m", "pipeline.commands.labelstudio.cli", "config"]),
    ("numpy", ["-c", "from pipeline.commands.entry import stance_evaluate; stance_evaluate()", "--data", "x.jsonl"]),
])
def test_ctrl_c_during_start_up_imports_is_one_line_and_exit_130(tmp_path, library, command):
    """A stand-in for a library the command imports at start-up, which sends the process SIGINT when
    imported: the interrupt lands while the command's modules are being imported, every time."""
    (tmp_path / library).mkdir()
    (tmp_path / library / "__init__.py").write_text(INTERRUPTING)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "error: interrupted\n")


# --- stance-labelstudio import ---------------------------------------------------------------------

def export_of(**data_changes) -> list[dict]:
    """A hand-made Label Studio export of TINY_TEXT as `stance-labelstudio export` makes it, every
    task annotated with TINY_LABELS (no model needed)."""
    sentences, tasks = split_sentences(TINY_TEXT), []
    for i, (text, labels) in enumerate(zip(sentences, TINY_LABELS)):
        data = {"text": text, "context": "", "target": TARGET, "sentence_id": i, "paragraph": [0, 0, 1, 2][i],
                "article_sentences": len(sentences), "source": "article.txt", **data_changes}
        result = [{"from_name": t, "to_name": "text", "type": "choices", "value": {"choices": [label]}}
                  for t, label in zip(TASKS, labels)]
        tasks.append({"id": 100 + i, "data": data, "predictions": [100 + i], "annotations": [
            {"id": 10 + i, "result": result, "was_cancelled": False, "updated_at": "2026-01-02T10:00:00Z"}]})
    return tasks


def import_(capsys, tmp_path, export, *extra, raw: bytes | None = None):
    path = tmp_path / "export.json"
    path.write_bytes(raw if raw is not None else json.dumps(export).encode())
    return run_command(labelstudio_main, capsys, "import", str(path), "--article-id", "dam", "--seeds",
                       str(tmp_path / "seeds"), "--annotations", str(tmp_path / "annotations"), "--event", "2025-06_dam_attack",
                       *extra)


def one_error_line(code, out, err) -> bool:
    return code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ")


def test_the_hand_made_export_imports(capsys, tmp_path):
    code, _, err = import_(capsys, tmp_path, export_of())
    assert code == 0, err


@pytest.mark.parametrize("value", [["russia"], "russia", 5, None])
def test_a_result_value_that_is_not_an_object_is_one_line(capsys, tmp_path, value):
    export = export_of()
    export[1]["annotations"][0]["result"][0]["value"] = value
    code, out, err = import_(capsys, tmp_path, export)
    assert one_error_line(code, out, err) and "export.json:task 101 (sentence 1): field 'speaker'" in err, err
    assert not (tmp_path / "seeds").exists()


@pytest.mark.parametrize("field", ["annotations", "predictions"])
def test_annotations_that_are_not_a_list_are_one_line(capsys, tmp_path, field):
    export = export_of()
    export[2]["annotations"] = [] if field == "predictions" else 7
    export[2]["predictions"] = 7
    code, out, err = import_(capsys, tmp_path, export, "--use-predictions")
    assert one_error_line(code, out, err) and f"task 102 (sentence 2): field '{field}'" in err, err


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_mixed_type_annotation_ids_with_one_time_pick_one_deterministically(capsys, tmp_path, order):
    """Same updated_at, ids 7 and "abc": integer ids sort before other ids, so "abc" is the latest,
    whichever is listed first."""
    export = export_of()
    first = export[0]["annotations"][0]
    other = json.loads(json.dumps(first))
    other["result"][0]["value"]["choices"] = ["us"]
    pair = [dict(first, id=7), dict(other, id="abc")]
    export[0]["annotations"] = [pair[order[0]], pair[order[1]]]
    code, _, err = import_(capsys, tmp_path, export)
    assert code == 0, err
    first_row = json.loads((tmp_path / "annotations" / "dam.jsonl").read_text().splitlines()[0])
    assert first_row["speaker"] == "us"


def test_deeply_nested_json_is_one_line(capsys, tmp_path):
    code, out, err = import_(capsys, tmp_path, None, raw=b"[" * 100_000 + b"]" * 100_000)
    assert one_error_line(code, out, err) and "nested too deeply" in err, err


def test_a_deeply_nested_jsonl_line_is_one_line(tmp_path):
    from pipeline.core.errors import DataError
    from pipeline.core.jsonl import load_rows

    (tmp_path / "d.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DataError, match=r"d.jsonl:1: JSON nested too deeply"):
        load_rows(tmp_path / "d.jsonl")


HUGE = 10**10


@pytest.mark.parametrize("change, expected", [
    ({"article_sentences": HUGE}, "no task for sentence(s) 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, ... of 10,000,000,000 "
                                  "(the export holds 4 tasks)"),
    ({"last_id": HUGE}, "a task has sentence_id 10,000,000,000, but field 'article_sentences' says the article "
                        "has 4 sentences"),
    ({"last_id": HUGE, "article_sentences": None}, "no task for sentence(s) 3, 4, 5"),
    ({"article_sentences": 3}, "a task has sentence_id 3, but field 'article_sentences' says the article has 3"),
    ({"article_sentences": 0}, "field 'article_sentences' has value 0"),
])
def test_huge_sentence_counts_are_one_line_without_the_memory(tmp_path, change, expected):
    """Run in a process limited to 1 GB of address space: a set of 10^10 numbers cannot be built."""
    export = export_of(**{k: v for k, v in change.items() if k != "last_id"})
    if "last_id" in change:
        export[3]["data"]["sentence_id"] = change["last_id"]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    code = ("import sys; from pipeline.commands.labelstudio.cli import main; "
            f"main(['import', {str(path)!r}, '--article-id', 'dam', '--seeds', {str(tmp_path / 's')!r}, "
            f"'--annotations', {str(tmp_path / 'a')!r}])")
    limit = 1 << 30
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert expected in done.stderr


def test_force_over_an_article_writes_the_imports_own_meta(capsys, tmp_path):
    """The old meta's article_id, synthetic and target_by never survive a --force import; its
    provenance (title, source, date ...) does."""
    (tmp_path / "seeds").mkdir()
    old = {"article_id": "something_else", "synthetic": True, "target": "Old claim.", "target_by": "russia",
           "title": "Dam story", "source": "AFP", "date": "2026-01-02", "labelled_in": "by hand"}
    (tmp_path / "seeds" / "dam.meta.json").write_text(json.dumps(old))
    code, _, err = import_(capsys, tmp_path, export_of(), "--force")
    assert code == 0, err
    meta = json.loads((tmp_path / "seeds" / "dam.meta.json").read_text())
    assert {k: meta[k] for k in ("article_id", "synthetic", "target", "title", "source", "date")} == \
        {"article_id": "dam", "synthetic": False, "target": TARGET, "title": "Dam story", "source": "AFP",
         "date": "2026-01-02"}
    assert "target_by" not in meta and meta["labelled_in"].startswith("Label Studio")
    rows = prepare([tmp_path / "seeds"], [tmp_path / "annotations"], use_synthetic=False, window=1)
    assert len(rows) == 4 and not any(r["synthetic"] for r in rows)


def test_force_with_an_export_target_by_takes_the_exports(capsys, tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "dam.meta.json").write_text(json.dumps({"target_by": "russia"}))
    code, _, err = import_(capsys, tmp_path, export_of(target_by="ukraine"), "--force")
    assert code == 0 and json.loads((tmp_path / "seeds" / "dam.meta.json").read_text())["target_by"] == "ukraine"


@pytest.mark.parametrize("where", ["meta", "annotations"])
def test_import_refuses_a_special_output_path_before_writing_anything(capsys, tmp_path, where):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "annotations").mkdir()
    os.mkfifo(tmp_path / "seeds" / "dam.meta.json" if where == "meta" else tmp_path / "annotations" / "dam.jsonl")
    code, out, err = import_(capsys, tmp_path, export_of(), "--force")
    assert one_error_line(code, out, err) and "named pipe" in err, err
    assert not (tmp_path / "seeds" / "dam.txt").exists()


HOSTILE = "7\n\x1b[31mfake: all good\x1b[0m\u202e"


def test_hostile_task_ids_are_printed_on_one_line_without_escapes(capsys, tmp_path):
    export = export_of()
    export[1]["id"] = HOSTILE
    export[1]["annotations"][0]["result"][1]["value"]["choices"] = ["maybe"]
    code, out, err = import_(capsys, tmp_path, export)
    assert one_error_line(code, out, err) and "\x1b" not in err and "\u202e" not in err, err
    assert r"task '7\n\x1b[31mfake: all good\x1b[0m\u202e' (sentence 1): field 'stance'" in err


def test_every_error_message_is_one_safe_line(capsys, tmp_path):
    """The `cli` wrapper escapes control characters in any message, such as a file name."""
    name = tmp_path / "bad\n\x1b[2Jname\x85.jsonl"
    code, out, err = run_command(evaluate_main, capsys, "--data", str(name))
    assert one_error_line(code, out, err) and "\x1b" not in err and "\x85" not in err and r"bad\n\x1b[2Jname" in err
    assert one_line("tab\there \u2028 caf\u00e9 \U0001F600 \u0644") == "tab\\there \\u2028 caf\u00e9 \U0001F600 \u0644"


@pytest.mark.parametrize("target", [{"text": "Ukraine attacked the dam."}, ["a"], 5, True])
def test_a_target_that_is_not_text_is_reported_as_the_wrong_type(capsys, tmp_path, target):
    code, out, err = import_(capsys, tmp_path, export_of(target=target))
    assert one_error_line(code, out, err) and f"field 'target' has a value of type {type(target).__name__}" in err
    assert "empty" not in err


@pytest.mark.parametrize("target", [{"a": 1}, ["x"], 5])
def test_a_target_that_is_not_text_is_named_by_its_type_everywhere(target):
    with pytest.raises(UserError, match=f"type {type(target).__name__}; expected text"):
        check_target(target)
