"""The Label Studio round trip against a real server: a project made with `stance-labelstudio
config`, the tasks of `stance-labelstudio export`, two labels changed through the API, the export
imported back, and the article passing `prepare` with the two changes.

Label Studio's dependencies clash with the project's pins, so it lives in its own virtual
environment, `.venv-labelstudio` (made by `.ci/run`); the test skips only where that is absent.
Only the standard library speaks HTTP here."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from pipeline.core.config import ROOT, TASKS, label_sets
from pipeline.data.segment import split_sentences
from pipeline.stages.prepare import prepare
from tests.conftest import TINY_TEXT
from tests.test_labelstudio import TARGET, ls_cli

LABEL_STUDIO = ROOT / ".venv-labelstudio" / "bin" / "label-studio"
TOKEN = "stance-pipeline-test-token"
START_TIMEOUT = 600  # the first start creates and migrates the database: ~40 s on 2 cores


@pytest.fixture(autouse=True)
def _tiny_models(use_root):
    """Every test here labels with the tiny models (tests/conftest.py)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    def __init__(self, base: str):
        self.base = base

    def __call__(self, method: str, path: str, body=None):
        headers = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, method=method, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    """A Label Studio server on a free local port with a fresh data folder and a user whose API
    token is known (legacy token auth); stopped (its process group) after the tests."""
    if not LABEL_STUDIO.exists():
        pytest.skip(f"{LABEL_STUDIO} not found (.ci/run makes it: pip install label-studio==1.23.2)")
    data, port = tmp_path_factory.mktemp("labelstudio"), free_port()
    env = {k: v for k, v in os.environ.items() if k != "HOST" and not k.startswith("LABEL_STUDIO_")}
    env.update(LABEL_STUDIO_BASE_DATA_DIR=str(data), LABEL_STUDIO_USERNAME="annotator@example.com",
               LABEL_STUDIO_PASSWORD="a-test-password", LABEL_STUDIO_USER_TOKEN=TOKEN,
               LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", LATEST_VERSION_CHECK="false",
               COLLECT_ANALYTICS="false", SENTRY_DSN="", FRONTEND_SENTRY_DSN="")
    with open(data / "server.log", "w") as log:
        server = subprocess.Popen([str(LABEL_STUDIO), "start", "--no-browser", "--internal-host", "127.0.0.1",
                                   "--port", str(port)], cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    api, deadline = Api(f"http://127.0.0.1:{port}"), time.monotonic() + START_TIMEOUT
    try:
        while True:
            assert server.poll() is None, (data / "server.log").read_text()[-3000:]
            try:
                api("GET", "/api/projects")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, (data / "server.log").read_text()[-3000:]
                time.sleep(1)
        yield api
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_labels_changed_in_label_studio_come_back_as_an_article_prepare_takes(capsys, tmp_path, label_studio):
    api = label_studio
    (tmp_path / "article.txt").write_text(TINY_TEXT, encoding="utf-8")
    code, config, _ = ls_cli(capsys, "config")
    code, out, err = ls_cli(capsys, "export", str(tmp_path / "article.txt"), "--model", "baseline",
                            "--target", TARGET, "--target-by", "russia")
    assert code == 0, err
    project = api("POST", "/api/projects", {"title": "stance round trip", "label_config": config})
    imported = api("POST", f"/api/projects/{project['id']}/import", json.loads(out))
    assert imported["task_count"] == imported["prediction_count"] == len(split_sentences(TINY_TEXT))

    # A reviewer submits every task: the model's labels, two of them changed.
    served = sorted(api("GET", f"/api/tasks?project={project['id']}&page_size=100")["tasks"],
                    key=lambda t: t["data"]["sentence_id"])
    expected = [dict(task["data"]["predicted"]) for task in served]
    for sid, task_name in ((1, "stance"), (3, "role")):
        expected[sid][task_name] = next(x for x in label_sets()[task_name] if x != expected[sid][task_name])
    for task, labels in zip(served, expected):
        result = [{"from_name": t, "to_name": "text", "type": "choices", "value": {"choices": [labels[t]]}}
                  for t in TASKS]
        api("POST", f"/api/tasks/{task['id']}/annotations", {"result": result})

    export = api("GET", f"/api/projects/{project['id']}/export?exportType=JSON&download_all_tasks=true")
    (tmp_path / "export.json").write_text(json.dumps(export), encoding="utf-8")
    code, _, err = ls_cli(capsys, "import", str(tmp_path / "export.json"), "--article-id", "dam",
                          "--seeds", str(tmp_path / "seeds"), "--annotations", str(tmp_path / "annotations"),
                          "--event", "2025-06_dam_attack")
    assert code == 0, err
    rows = prepare([tmp_path / "seeds"], [tmp_path / "annotations"], use_synthetic=False, window=1)
    assert [r["text"] for r in rows] == split_sentences(TINY_TEXT)
    assert [{t: r[t] for t in TASKS} for r in rows] == expected
    assert expected[1]["stance"] != served[1]["data"]["predicted"]["stance"]
    assert json.loads((tmp_path / "seeds" / "dam.meta.json").read_text())["target"] == TARGET
