"""`stance-labelstudio`: the labelling configuration, tasks with predictions, and an export read
back into an article that `prepare` takes (hand-made exports in Label Studio's JSON format)."""
import json
import xml.etree.ElementTree as ET

import pytest

from pipeline.commands.labelstudio.cli import main as labelstudio_main
from pipeline.core.config import TASKS, label_sets, params
from pipeline.data.context import contexts
from pipeline.data.segment import split_sentences
from pipeline.stages.prepare import prepare
from tests.conftest import TINY_TEXT, run_cli, run_command

TARGET = "Ukraine attacked the dam."


@pytest.fixture(autouse=True)
def _tiny_models(use_root):
    """Every test here labels with the tiny models (tests/conftest.py)."""


def ls_cli(capsys, *args):
    """Run stance-labelstudio in-process: (exit code, stdout, stderr)."""
    return run_command(labelstudio_main, capsys, *args)


@pytest.fixture
def tasks(capsys, tmp_path) -> list[dict]:
    (tmp_path / "article.txt").write_text(TINY_TEXT, encoding="utf-8")
    code, out, err = ls_cli(capsys, "export", str(tmp_path / "article.txt"), "--model", "baseline",
                            "--target", TARGET, "--target-by", "russia")
    assert code == 0, err
    return json.loads(out)


def annotation(labels: dict, when: str, number: int, cancelled: bool = False) -> dict:
    result = [{"from_name": t, "to_name": "text", "type": "choices", "value": {"choices": [labels[t]]}}
              for t in TASKS if t in labels]
    return {"id": number, "result": result, "was_cancelled": cancelled, "created_at": when, "updated_at": when}


def exported(tasks: list[dict], changes: dict[int, dict] | None = None, skip: tuple = ()) -> list[dict]:
    """Tasks as Label Studio's JSON export gives them back: every task annotated with the model's
    labels plus `changes`; predictions as ids only."""
    out = []
    for i, task in enumerate(tasks):
        labels = {**task["data"]["predicted"], **(changes or {}).get(i, {})}
        done = [] if i in skip else [annotation(labels, "2026-01-02T10:00:00.000000Z", 10 + i)]
        out.append({"id": 100 + i, "data": task["data"], "predictions": [100 + i], "annotations": done})
    return out


def write(tmp_path, export: list[dict]):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    return path, ["--seeds", str(tmp_path / "seeds"), "--annotations", str(tmp_path / "annotations"),
                  "--event", "2025-06_dam_attack"]


def other(task: str, label: str) -> str:
    return next(x for x in label_sets()[task] if x != label)


def test_config_has_the_three_tasks_with_the_project_labels(capsys):
    code, out, _ = ls_cli(capsys, "config")
    view = ET.fromstring(out)
    assert {t.get("value") for t in view.iter("Text")} == {"$target", "$context", "$text"}
    choices = {c.get("name"): [x.get("value") for x in c.iter("Choice")] for c in view.iter("Choices")}
    assert code == 0 and choices == label_sets()
    assert all(c.get("toName") == "text" and c.get("choice") == "single-radio" for c in view.iter("Choices"))


def test_export_is_a_task_a_sentence_with_context_and_the_predictions_of_stance_predict(capsys, tmp_path, tasks):
    sentences = split_sentences(TINY_TEXT)
    code, out, _ = run_cli(capsys, "--model", "baseline", "--target", TARGET, "--target-by", "russia",
                           str(tmp_path / "article.txt"))
    records = [json.loads(line) for line in out.splitlines()]
    assert [t["data"]["text"] for t in tasks] == sentences and [t["data"]["paragraph"] for t in tasks] == [0, 0, 1, 2]
    assert [t["data"]["context"] for t in tasks] == contexts(sentences, params("view")["context_sentences"])
    for task, rec in zip(tasks, records):
        result = {r["from_name"]: (r["value"]["choices"], r["score"]) for r in task["predictions"][0]["result"]}
        assert result == {t: ([rec[t]], rec["scores"][t][rec[t]]) for t in TASKS}
        assert task["data"]["predicted"] == {t: rec[t] for t in TASKS} and task["data"]["target_by"] == "russia"


def test_import_writes_an_article_prepare_takes_with_the_latest_annotations(capsys, tmp_path, tasks):
    changes = {1: {"stance": other("stance", tasks[1]["data"]["predicted"]["stance"])},
               3: {"role": other("role", tasks[3]["data"]["predicted"]["role"])}}
    export = exported(tasks, changes)
    older = {**tasks[0]["data"]["predicted"], "speaker": other("speaker", tasks[0]["data"]["predicted"]["speaker"])}
    export[0]["annotations"] = [annotation(older, "2026-01-01T09:00:00.000000Z", 1), export[0]["annotations"][0],
                                annotation({"stance": "nonsense"}, "2026-01-03T09:00:00.000000Z", 2, cancelled=True)]
    path, folders = write(tmp_path, export)
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders)
    assert code == 0, err
    rows = prepare([tmp_path / "seeds"], [tmp_path / "annotations"], use_synthetic=False, window=1)
    assert [r["text"] for r in rows] == split_sentences(TINY_TEXT)
    for i, row in enumerate(rows):
        assert {t: row[t] for t in TASKS} == {**tasks[i]["data"]["predicted"], **changes.get(i, {})}
    meta = json.loads((tmp_path / "seeds" / "dam.meta.json").read_text())
    assert meta["target"] == TARGET and meta["target_by"] == "russia" and meta["synthetic"] is False

    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders)
    assert code == 2 and "already exists" in err and "--force" in err
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders, "--force")
    assert code == 0, err


def test_unannotated_tasks_are_refused_unless_predictions_are_asked_for(capsys, tmp_path, tasks):
    path, folders = write(tmp_path, exported(tasks, skip=(2,)))
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders)
    assert code == 2 and "task 102 (sentence 2): no annotation" in err and "--use-predictions" in err
    assert not (tmp_path / "seeds").exists()
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders, "--use-predictions")
    lines = (tmp_path / "annotations" / "dam.jsonl").read_text().splitlines()
    assert code == 0 and {t: json.loads(lines[2])[t] for t in TASKS} == tasks[2]["data"]["predicted"]


@pytest.mark.parametrize("edit, expected", [
    (lambda e: e[1]["annotations"][0]["result"][1]["value"].update(choices=["maybe"]),
     "task 101 (sentence 1): field 'stance' has value 'maybe'; expected one of: support, deny, neutral"),
    (lambda e: e[3]["annotations"][0]["result"].pop(),
     "task 103 (sentence 3): field 'role' is missing"),
    (lambda e: e[0]["annotations"][0]["result"][0]["value"].update(choices=["us", "other"]),
     "task 100 (sentence 0): field 'speaker' has choices ['us', 'other']; expected exactly one"),
    (lambda e: e.pop(2), "no task for sentence(s) 2 of 4"),
    (lambda e: e[1]["data"].update(text="One. Two."), "field 'text' does not match sentence 1 of the article"),
    (lambda e: e[1]["data"].update(target="Another claim."), "2 different targets"),
])
def test_a_bad_export_is_one_line_naming_the_task_and_field_and_writes_nothing(capsys, tmp_path, tasks, edit,
                                                                               expected):
    export = exported(tasks)
    edit(export)
    path, folders = write(tmp_path, export)
    code, out, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders)
    assert code == 2 and out == "" and expected in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "seeds").exists() and not (tmp_path / "annotations").exists()


def test_article_id_must_be_a_plain_file_name(capsys, tmp_path, tasks):
    path, folders = write(tmp_path, exported(tasks))
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "../evil", *folders)
    assert code == 2 and "--article-id '../evil'" in err


def test_import_needs_a_well_formed_event_for_a_new_article(tmp_path, capsys, tasks):
    path, folders = write(tmp_path, exported(tasks))
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders[:4])
    assert code == 2 and "--event is required for a new article" in err
    code, _, err = ls_cli(capsys, "import", str(path), "--article-id", "dam", *folders[:4], "--event", "dam attack")
    assert code == 2 and "--event 'dam attack': expected the real-world event" in err
    assert not (tmp_path / "seeds").exists() or not any((tmp_path / "seeds").iterdir())
