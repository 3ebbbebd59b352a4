"""`stance-summary --format html`: the page shows every group of every --by value, flags small ones,
escapes all data text, links only web URLs, loads nothing, and a real browser renders it cleanly
(headless Chromium, as in test_html_view.py; those tests skip where Chromium is absent)."""
from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

import pandas as pd
import pytest

from pipeline.commands.html_view import CSP
from pipeline.commands.summary.frames import summarise
from pipeline.commands.summary.report import link, render, value_text
from pipeline.core.config import label_sets
from tests.summary_fixture import random_rows, write_archive
from tests.test_html_view import chromium, console_lines, png_size_and_colours

SPECS = ["outlet", "month", "target", "outlet+month", "week"]
HOSTILE_OUTLET = '<i>Daily "News"</i> & Co'
FOLDER = "/data/<run> & co"


def rows() -> list[dict]:
    """The fixture's rows, with a hostile outlet name and, besides web URLs, script and missing ones."""
    out = random_rows(seed=11, articles=40)
    for row in out:
        number = int(row["article_id"][1:])
        if number % 7 == 0:
            row["outlet"] = HOSTILE_OUTLET
        if number % 3 == 0:
            row["url"] = f'javascript:alert("<b>{number}</b>")'
        elif number % 3 == 1:
            row["url"] = None
    return out


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> dict:
    folder = write_archive(tmp_path_factory.mktemp("archive"), rows())
    return summarise(folder, by=SPECS, top=2, min_articles=3)


@pytest.fixture(scope="module")
def page(summary) -> str:
    info = {"folder": FOLDER, "model": "baseline", "parts": 6, "sentences": 263, "articles": 40, "top": 2,
            "min_articles": 3, "labels": label_sets()}
    return render(summary, info)


def expected_labels(summary: dict) -> dict[str, list[str]]:
    """Each spec's group labels, computed here: dates as YYYY-MM-DD, missing values as (none)."""
    def text(value) -> str:
        if pd.isna(value):
            return "(none)"
        return value.strftime("%Y-%m-%d") if isinstance(value, pd.Timestamp) else str(value)
    out = {}
    for spec, frames in summary.items():
        keys = spec.split("+")
        out[spec] = [" · ".join(text(v) for v in row) for row in frames["groups"][keys].itertuples(index=False)]
    return out


def section(page: str, spec: str) -> str:
    start = page.index(f"<h2>By {escape(spec)}</h2>")
    end = page.find("<section", start)
    return page[start:end if end > 0 else len(page)]


def test_every_group_value_of_every_spec_appears_escaped(summary, page):
    labels = expected_labels(summary)
    assert set(labels) == set(SPECS) and all(labels.values())
    assert any("(none)" in label for label in labels["outlet"]) and any("(none)" in x for x in labels["month"])
    assert HOSTILE_OUTLET in labels["outlet"]
    for spec, names in labels.items():
        part = section(page, spec)
        for name in names:
            assert escape(name) in part, (spec, name)
    assert HOSTILE_OUTLET not in page and escape(HOSTILE_OUTLET) in page


def test_date_groups_are_in_date_order_and_read_as_over_time(summary, page):
    part = section(page, "month")
    months = expected_labels(summary)["month"]
    ordered = sorted(m for m in months if m != "(none)") + ["(none)"]
    positions = [part.index(f">{m}") for m in ordered]  # the first chart's group labels
    assert positions == sorted(positions)
    assert "<h3>Stance by side over time</h3>" in part
    assert "<h3>Stance by side</h3>" in section(page, "outlet")


def test_small_groups_are_shown_and_flagged(summary, page):
    groups = summary["outlet+month"]["groups"]
    small, big = groups[groups["small"]], groups[~groups["small"]]
    assert len(small) and len(big)
    labels = dict(zip(groups.index, expected_labels(summary)["outlet+month"]))
    for i, row in small.iterrows():
        plural = "s" if row["articles"] != 1 else ""
        assert f'{escape(labels[i])} <span class="badge">small: {row["articles"]} article{plural}</span>' in page
    for i in big.index:
        assert f'{escape(labels[i])} <span class="badge">' not in page
        assert f"<td>{escape(labels[i])}</td>" in page
    assert 'stroke-dasharray="4 3"' in page and 'fill-opacity=".35"' in page  # dashed outline, lighter bars


def test_shares_show_their_counts(summary, page):
    speakers = summary["outlet"]["speakers"].dropna(subset=["outlet"])
    row = speakers[speakers["sentences"] > 0].iloc[0]
    whole = speakers.loc[speakers["outlet"] == row["outlet"], "sentences"].sum()
    assert f"{row['share']:.0%} ({row['sentences']} of {whole})" in section(page, "outlet")
    roles = summary["target"]["roles"].iloc[0]
    assert f"<title>{escape(value_text(roles['target']))}: {roles['claims']} claims</title>" in page


def test_all_data_text_is_escaped_and_nothing_is_loaded(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "&quot;quoted&quot;" in page
    assert "?q=<b>" not in page and "?q=&lt;b&gt;&amp;x=&#x27;1&#x27;" in page
    assert escape(FOLDER) in page and FOLDER not in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    for outside in ("src=", "url(", "@import", "<link", "<img", "<iframe", "<object", "<embed"):
        assert outside not in page, outside


def test_only_web_urls_are_links(page):
    anchors = re.findall(r"<a [^>]*>", page)
    assert anchors and all(re.fullmatch(r'<a href="https://[^"]*" rel="noopener noreferrer">', a) for a in anchors)
    assert 'href="javascript' not in page and "javascript:alert(&quot;&lt;b&gt;" in page
    assert link("javascript:alert(1)") == "javascript:alert(1)" and link(" http://x.test") == " http://x.test"
    assert link("ftp://x.test/<a>") == "ftp://x.test/&lt;a&gt;" and link(float("nan")) == "–" and link(None) == "–"
    assert link("HTTP://x.test/?a=<b>") == ('<a href="HTTP://x.test/?a=&lt;b&gt;" rel="noopener noreferrer">'
                                            "HTTP://x.test/?a=&lt;b&gt;</a>")


def test_every_chart_segment_has_a_tooltip_and_the_legend_names_every_label(page):
    assert page.count("<rect") - page.count('fill="none"') == page.count("<g><title>")
    sets = label_sets()
    for label in [*sets["speaker"], *sets["stance"], "claims", "rebuttals", "claimant", "opponents"]:
        assert f"</i>{escape(label)}</span>" in page, label
    assert "@media print" in page and "print-color-adjust:exact" in page and "break-inside:avoid" in page


def page_console(stderr: str) -> list[str]:
    """The console lines of the page itself: not those of Chromium's own chrome:// pages (under load it
    logs a "Slow network is detected" note about their fonts, whatever page it shows)."""
    return [line for line in console_lines(stderr) if "source: chrome://" not in line]


class Text(HTMLParser):
    """The text of a dumped DOM (and whether it holds a script element)."""

    def __init__(self):
        super().__init__()
        self.parts, self.script = [], False

    def handle_starttag(self, tag, attrs):
        self.script |= tag == "script"

    def handle_data(self, data):
        self.parts.append(data)


@pytest.mark.slow
def test_a_browser_shows_every_group_with_no_console_error(summary, page, tmp_path):
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    done = chromium(tmp_path / "report.html", "--dump-dom")
    assert done.returncode == 0 and not page_console(done.stderr), done.stderr[-3000:]
    dom = Text()
    dom.feed(done.stdout)
    text = "".join(dom.parts)
    assert not dom.script and '<script>x</script>' in text and HOSTILE_OUTLET in text
    for spec, names in expected_labels(summary).items():
        assert f"By {spec}" in text and all(name in text for name in names), spec

    done = chromium(tmp_path / "report.html", f"--screenshot={tmp_path / 'shot.png'}", "--window-size=1000,1400")
    assert done.returncode == 0 and not page_console(done.stderr), done.stderr[-3000:]
    size, colours = png_size_and_colours(tmp_path / "shot.png")
    assert size == (1000, 1400) and colours > 32  # a blank page would have a handful


@pytest.mark.slow
def test_the_console_check_sees_the_page_try_to_load_something(page, tmp_path):
    (tmp_path / "bad.html").write_text(page.replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>'))
    assert page_console(chromium(tmp_path / "bad.html", "--dump-dom").stderr)
