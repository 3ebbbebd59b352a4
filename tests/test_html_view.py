"""`stance-predict --format html`: a self-contained page, escaped, and rendered by a real browser
(headless Chromium from the Debian package; `.ci/run` installs it; skipped only where it is absent)."""
import json
import shutil
import struct
import subprocess
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.commands.html_view import render
from pipeline.core.config import TASKS, label_sets
from tests.conftest import run_cli
from tests.test_package import network_off

HOSTILE = 'Kyiv said <script>alert("x")</script> & <b>denied</b> it.'
ARTICLE = f"Moscow accused Kyiv of attacking a dam. {HOSTILE}\nThe dam lies on the Dnipro river.\n"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


@pytest.fixture(autouse=True)
def _tiny_models(use_root):
    """Every test here labels with the tiny models (tests/conftest.py)."""


def record(sid: int, text: str, source: str, stance_p: float) -> dict:
    scores = {t: {label: 0.0 for label in label_sets()[t]} for t in TASKS}
    scores["speaker"]["ukraine"], scores["stance"]["deny"], scores["role"]["rebuttal"] = 0.9, stance_p, 0.8
    return {"sentence_id": sid, "text": text, "speaker": "ukraine", "stance": "deny", "role": "rebuttal",
            "scores": scores, "truncated": False, "model": "baseline", "target": "T.", "source": source}


def test_the_page_escapes_input_loads_nothing_and_marks_low_confidence():
    records = [record(0, HOSTILE, "a <i>.txt", 0.3), record(1, "Fine.", "a <i>.txt", 0.95), record(0, "B.", "b", 0.9)]
    page = render(records, 'Target "<claim>"', label_sets(), 0.6)
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "a &lt;i&gt;.txt" in page and "Target &quot;&lt;claim&gt;&quot;" in page
    for outside in ("http:", "https:", "//", "src=", "href=", "url(", "@import", "<link", "<img", "<iframe"):
        assert outside not in page.replace("<!DOCTYPE html>", ""), outside
    assert page.count('<section class="source">') == 2 and page.count('class="sentence"') == 3
    # the legend's example and the one sentence below the threshold
    assert page.count('class="badge stance low"') == 2 and "0.30?" in page and "0.95?" not in page
    assert "<svg" in page and "<title>ukraine, deny: 2</title>" in page  # the chart counts the first source


class Dom(HTMLParser):
    """Each sentence element of a dumped DOM: its data-* labels, badge texts and sentence text."""

    def __init__(self):
        super().__init__()
        self.sentences, self.where = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and attrs.get("class") == "sentence":
            self.sentences.append({"labels": {t: attrs[f"data-{t}"] for t in TASKS}, "badges": "", "text": ""})
        elif self.sentences and tag in ("span", "p"):
            self.where = "text" if tag == "p" else "badges" if "badge" in attrs.get("class", "") else self.where
        if tag == "script":
            self.sentences.append({"script": True})

    def handle_endtag(self, tag):
        self.where = None if tag in ("p", "li") else self.where

    def handle_data(self, data):
        if self.where and self.sentences:
            self.sentences[-1][self.where] += data + " "


def chromium(page: Path, *extra: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a local file, with no network where a new network namespace can be made."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([*network_off(), binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                              capture_output=True, text=True, timeout=120)


def console_lines(stderr: str) -> list[str]:
    """Chromium logs every console message (errors, CSP violations, uncaught exceptions) as CONSOLE."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def png_size_and_colours(path: Path) -> tuple[tuple[int, int], int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels, at = b"", 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        pixels += data[at + 8:at + 8 + length] if kind == b"IDAT" else b""
        at += 12 + length
    return struct.unpack(">II", data[16:24]), len(set(zlib.decompress(pixels)))


def test_a_browser_renders_every_sentence_and_label_with_no_console_error(capsys, tmp_path):
    files = [tmp_path / "one.txt", tmp_path / "two.txt"]
    files[0].write_text(ARTICLE, encoding="utf-8")
    files[1].write_text("Kyiv rejected the claim.\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "--model", "baseline", *map(str, files))
    records = [json.loads(line) for line in out.splitlines()]
    code, page, err = run_cli(capsys, "--model", "baseline", "--format", "html", *map(str, files))
    assert code == 0, err
    (tmp_path / "view.html").write_text(page, encoding="utf-8")

    done = chromium(tmp_path / "view.html", "--dump-dom")
    assert done.returncode == 0 and not console_lines(done.stderr), done.stderr[-3000:]
    dom = Dom()
    dom.feed(done.stdout)
    assert len(dom.sentences) == len(records) and HOSTILE in [r["text"] for r in records]
    for shown, rec in zip(dom.sentences, records):
        assert shown["text"].strip() == rec["text"] and shown["labels"] == {t: rec[t] for t in TASKS}
        assert shown["badges"].split()[::2] == [rec[t] for t in TASKS]
        assert [float(p.rstrip("?")) for p in shown["badges"].split()[1::2]] == \
               [round(rec["scores"][t][rec[t]], 2) for t in TASKS]

    done = chromium(tmp_path / "view.html", f"--screenshot={tmp_path / 'shot.png'}", "--window-size=1200,1600")
    assert done.returncode == 0 and not console_lines(done.stderr), done.stderr[-3000:]
    size, colours = png_size_and_colours(tmp_path / "shot.png")
    assert size == (1200, 1600) and colours > 32  # a blank page would have a handful


def test_the_console_check_sees_a_page_that_tries_to_load_something(tmp_path):
    """The check above can fail: a page with an outside image logs the blocked load to the console."""
    page = render([record(0, "A.", "a", 0.9)], "T.", label_sets(), 0.6)
    (tmp_path / "bad.html").write_text(page.replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>'))
    assert console_lines(chromium(tmp_path / "bad.html", "--dump-dom").stderr)
