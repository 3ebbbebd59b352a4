"""`stance-summary --format html`: one self-contained page of a stance-bulk archive's summary.

`render(summary, info)` is a pure function from what `frames.summarise` returns to an HTML string:
a header with the run's facts and a legend, then per `--by` value a section of four parts, each
an inline-SVG chart (charts.py) with its table of counts beside it:
1. voices by side: each group's sentences by speaker side, a 100%-stacked bar per group;
2. stance by side: per speaker side, its support / deny / neutral shares in each group (small
   multiples; groups in date order, so for day, week and month it reads as stance over time);
3. claim versus rebuttal: claims left and rebuttals right of a centre line per group, then the
   claimant side's sentences against its opponents' (other sides' sentences denying the target);
4. top sentences: per group, side and role, the most confident sentences with their article and
   a link to it (http and https URLs only; any other URL is shown as text).
Groups with fewer than `min_articles` articles are shown, never hidden: marked "small: N articles"
and drawn lighter. As in html_view, the page loads nothing (no script, a CSP that forbids every
load), prints as it shows, and every piece of data text is escaped.
"""
from __future__ import annotations

import datetime as dt
import re
from html import escape
from typing import NamedTuple

import pandas as pd

from pipeline.commands.html_view import CSP
from pipeline.commands.summary import charts
from pipeline.commands.summary.groups import PERIODS

NONE = "(none)"
WEB = re.compile(r"https?://", re.IGNORECASE)
STYLE = """
body{font-family:system-ui,"DejaVu Sans",Arial,sans-serif;margin:1.5rem auto;max-width:64rem;padding:0 1rem;
 color:#212121;line-height:1.4;-webkit-print-color-adjust:exact;print-color-adjust:exact}
h1{font-size:1.3rem}h2{font-size:1.15rem;border-bottom:2px solid #444;margin-top:2rem}h3{font-size:1rem}
h4{font-size:.9rem;margin:.8rem 0 .2rem}.meta{color:#444;font-size:.9rem}
.badge{border:1px dashed #000;border-radius:.6rem;padding:0 .4rem;font-size:.75rem;white-space:nowrap;
 background:#fff3c4}
table{border-collapse:collapse;font-size:.8rem;margin:.4rem 0 1rem;max-width:100%}
th,td{border:1px solid #ccc;padding:.15rem .4rem;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}tr.small td{background:#f6f6f6;font-style:italic}
td.text{max-width:30rem}td.url{overflow-wrap:anywhere;max-width:16rem}
@media print{body{margin:0;max-width:none;padding:0}h2,h3,h4{break-after:avoid}
 svg.chart,tr{break-inside:avoid;page-break-inside:avoid}table,td.text,td.url{max-width:100%}}
""" + charts.CSS


class Group(NamedTuple):
    key: tuple  # the group values, None where missing (so that they match across frames)
    label: str  # the values as text, joined by " · "
    note: str  # "small: N articles", or ""


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def value_text(value) -> str:
    """A group value as shown: dates as YYYY-MM-DD, a missing value as (none)."""
    return NONE if _missing(value) else value.strftime("%Y-%m-%d") if isinstance(value, dt.date) else str(value)


def _key(values) -> tuple:
    return tuple(None if _missing(v) else v for v in values)


def split(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, pd.DataFrame]:
    """A frame's rows per group key."""
    rows: dict[tuple, list[int]] = {}
    for i, values in enumerate(frame[keys].itertuples(index=False, name=None)):
        rows.setdefault(_key(values), []).append(i)
    return {key: frame.iloc[index] for key, index in rows.items()}


def groups_of(frame: pd.DataFrame, keys: list[str]) -> list[Group]:
    """The groups in order (dates in date order, missing values last), each with its small note."""
    frame = frame.sort_values(keys, na_position="last", kind="stable")
    return [Group(_key(row[:-2]), " · ".join(value_text(v) for v in row[:-2]),
                  f"small: {row[-2]} article{'s' * (row[-2] != 1)}" if row[-1] else "")
            for row in frame[keys + ["articles", "small"]].itertuples(index=False, name=None)]


def cell(group: Group) -> str:
    badge = f' <span class="badge">{escape(group.note)}</span>' if group.note else ""
    return f"{escape(group.label)}{badge}"


def table(head: list[str], rows: list[tuple[Group, list[str]]]) -> str:
    """Rows of (group, cells already HTML); numbers right-aligned; small groups' rows marked."""
    tr = "".join(f'<tr{" class=small" if g.note else ""}><td>{cell(g)}</td>'
                 + "".join(f'<td class="{"num" if c[:1].isdigit() or c[:1] == "–" else "text"}">{c}</td>'
                           for c in cells) + "</tr>" for g, cells in rows)
    return f'<table><tr>{"".join(f"<th>{escape(h)}</th>" for h in head)}</tr>{tr}</table>'


def tally(frame: pd.DataFrame | None, column: str) -> dict[str, int]:
    """Sentences per label of `column` in a group's rows."""
    return {} if frame is None else {str(k): int(n) for k, n in zip(frame[column], frame["sentences"])}


def voices(groups: list[Group], part: dict, labels: dict) -> str:
    speakers, rows, cells = labels["speaker"], [], []
    for g in groups:
        n = tally(part.get(g.key), "speaker")
        rows.append((g.label, g.note, [(s, charts.colour("speaker", labels, s), n.get(s, 0)) for s in speakers]))
        cells.append((g, [escape(charts.pct(n.get(s, 0), sum(n.values()))) for s in speakers]))
    return ("<h3>Voices by side</h3><p class=meta>Each group's sentences by who speaks: share (count of all).</p>"
            + charts.stacked(rows, "share of each group's sentences by speaker side")
            + table(["group", *speakers], cells))


def stances(groups: list[Group], part: dict, labels: dict, over_time: bool) -> str:
    names, charts_html, cells = labels["stance"], [], []
    for speaker in labels["speaker"]:
        rows = []
        for g in groups:
            frame = part.get(g.key)
            mine = tally(None if frame is None else frame[frame["speaker"] == speaker], "stance")
            rows.append((g.label, g.note, [(s, charts.colour("stance", labels, s), mine.get(s, 0)) for s in names]))
            total = sum(mine.values())
            cells.append((g, [escape(speaker)] + [escape(charts.pct(mine.get(s, 0), total)) for s in names]))
        charts_html.append(f"<h4>{escape(speaker)}</h4>"
                           + charts.stacked(rows, f"stance of {speaker}'s sentences per group"))
    order = {g.key: i for i, g in enumerate(groups)}
    cells.sort(key=lambda row: order[row[0].key])  # the table by group, then speaker
    return (f"<h3>Stance by side{' over time' if over_time else ''}</h3><p class=meta>Per speaker side, the "
            "share of its sentences by stance in each group.</p>" + "".join(charts_html)
            + table(["group", "speaker", *names], cells))


def balance(groups: list[Group], frames: dict) -> str:
    roles, sides, fills = frames["roles"], frames["balance"], tuple(charts.PALETTE["role"][:2])
    bars, role_cells, claimant, side_cells = [], [], [], []
    for g in groups:
        r, b = roles[g.key].iloc[0], sides[g.key].iloc[0]
        bars.append((g.label, g.note, int(r["claims"]), int(r["rebuttals"])))
        ratio = f"{r['ratio']:.2f}" if r["rebuttals"] else "– (no rebuttals)"
        role_cells.append((g, [str(int(r[c])) for c in ("sentences", "claims", "rebuttals")] + [ratio]))
        c, o = int(b["claimant_sentences"]), int(b["opponent_sentences"])
        claimant.append((g.label, g.note, [("claimant", charts.PALETTE["balance"][0], c),
                                           ("opponents", charts.PALETTE["balance"][1], o)]))
        side_cells.append((g, [str(int(b[k])) for k in ("articles", "articles_with_claimant", "inferred_claimants",
                                                        "claimant_sentences", "opponent_sentences",
                                                        "other_side_sentences")] + [escape(charts.pct(c, c + o))]))
    return ("<h3>Claim versus rebuttal</h3><p class=meta>Claim sentences (left) and rebuttal sentences (right) "
            "per group.</p>" + charts.diverging(bars, ("claims", "rebuttals"), fills, "claims and rebuttals per group")
            + table(["group", "sentences", "claims", "rebuttals", "claims per rebuttal"], role_cells)
            + "<h4>Claimant versus opponents</h4><p class=meta>The claimant side's sentences against its opponents' "
            "(other sides' sentences that deny the target).</p>"
            + charts.stacked(claimant, "claimant's sentences against its opponents' per group")
            + table(["group", "articles", "with claimant", "claimant inferred", "claimant sentences",
                     "opponent sentences", "other side sentences", "claimant share"], side_cells))


def link(url) -> str:
    if not isinstance(url, str) or not url:
        return "–"
    text = escape(url)
    return f'<a href="{text}" rel="noopener noreferrer">{text}</a>' if WEB.match(url) else text


def top(groups: list[Group], part: dict) -> str:
    html = ["<h3>Top sentences</h3><p class=meta>Per group, side and role, the most confident sentences.</p>"]
    for g in groups:
        frame = part.get(g.key)
        html.append(f"<h4>{cell(g)}</h4>")
        if frame is None or frame.empty:
            html.append("<p class=meta>no claim or rebuttal sentence by a side</p>")
            continue
        rows = [f"<tr><td>{escape(str(r.side))}</td><td>{escape(str(r.role))}</td><td class=num>{int(r.rank)}</td>"
                f"<td class=num>{r.confidence:.2f}</td><td class=text>{escape(str(r.text))}</td>"
                f"<td>{escape(str(r.article_id))} #{int(r.sentence_id)}</td><td class=url>{link(r.url)}</td></tr>"
                for r in frame.itertuples(index=False)]
        head = "".join(f"<th>{h}</th>" for h in ("side", "role", "rank", "confidence", "sentence", "article #",
                                                  "URL"))
        html.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    return "".join(html)


def section(spec: str, frames: dict[str, pd.DataFrame], labels: dict) -> str:
    keys = [k.strip() for k in spec.split("+")]
    groups, part = groups_of(frames["groups"], keys), {name: split(f, keys) for name, f in frames.items()}
    small = sum(bool(g.note) for g in groups)
    return (f'<section class="by"><h2>By {escape(spec)}</h2><p class=meta>{len(groups)} groups, {small} small.</p>'
            + voices(groups, part["speakers"], labels)
            + stances(groups, part["stances"], labels, any(k in PERIODS for k in keys))
            + balance(groups, part) + top(groups, part["top"]) + "</section>")


def render(summary: dict[str, dict[str, pd.DataFrame]], info: dict) -> str:
    """The whole page: the run's facts, a legend, then a section per --by value."""
    labels = info["labels"]
    facts = " · ".join(f"{name}: {escape(str(info[key]))}" for name, key in (
        ("folder", "folder"), ("model", "model"), ("parts", "parts"), ("articles", "articles"),
        ("sentences", "sentences"), ("min articles (else small)", "min_articles"), ("top per side and role", "top")))
    keys = {task: [(label, charts.colour(task, labels, label)) for label in labels[task]]
            for task in ("speaker", "stance")}
    keys["role"] = list(zip(("claims", "rebuttals"), charts.PALETTE["role"]))
    keys["balance"] = list(zip(("claimant", "opponents"), charts.PALETTE["balance"]))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Stance summary: {escape(str(info['folder']))}</title><style>{STYLE}</style></head><body>"
            f'<h1>Stance summary</h1><p class="meta">{facts}</p>{charts.legend(keys)}'
            + "".join(section(spec, frames, labels) for spec, frames in summary.items()) + "</body></html>\n")
