"""Inline-SVG bar charts of the stance-summary page: 100%-stacked bars and diverging bars, a row a group.

Colours come from the Okabe-Ito palette (told apart with the common colour-vision deficiencies) and
never carry meaning alone: a segment wide enough has its label and percentage (or count) written on
it, every segment has a <title> tooltip, the page has a legend, and every chart has a table beside it.
A small group's row says "small: N articles" and its bars are drawn lighter in a dashed outline.
"""
from __future__ import annotations

from html import escape

from pipeline.commands import html_view

# Okabe-Ito colours per label position (labels come from configs/labels.yaml) and for the balance.
PALETTE = {
    "speaker": ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#999999", "#F0E442", "#0072B2", "#D55E00"],
    "stance": ["#009E73", "#D55E00", "#999999", "#56B4E9", "#CC79A7", "#F0E442"],
    "role": ["#0072B2", "#E69F00", "#999999", "#CC79A7", "#56B4E9"],
    "balance": ["#0072B2", "#D55E00"],
}
DARK = {"#0072B2", "#D55E00", "#000000"}  # white text reads on these; black on the others
CSS = """
.legend{font-size:.8rem;border:1px solid #ccc;padding:.4rem .6rem}.legend div{margin:.15rem 0}
.key{margin-right:.9rem;white-space:nowrap}.key i{display:inline-block;width:.9rem;height:.9rem;
 border:1px solid #333;margin-right:.25rem;vertical-align:middle}
svg.chart{display:block;max-width:100%;height:auto;margin:.4rem 0}svg.chart text{font-size:12px}
svg.chart text.group{font-weight:600}svg.chart tspan.small{font-weight:400;font-style:italic}
"""
WIDTH, BAR, ROW, HEIGHT = 720, 620, 40, 20  # view box width, bar length, row height (label + bar), bar height


def colour(task: str, labels: dict[str, list[str]], label: str) -> str:
    return html_view.colour(task, labels, label, PALETTE)


def pct(part: int, whole: int) -> str:
    """'26% (11 of 43)'; '– (0 of 0)' where the share is undefined."""
    return f"{part / whole:.0%} ({int(part)} of {int(whole)})" if whole else f"– ({int(part)} of 0)"


def _segment(x: float, y: float, w: float, fill: str, texts: tuple[str, ...], title: str, small: bool) -> str:
    """One bar segment with its tooltip and the first of `texts` that fits inside it (if any)."""
    ink = "#fff" if fill in DARK and not small else "#000"
    words = next((t for t in texts if w >= 7 * len(t) + 6), "")
    label = (f'<text x="{x + w / 2:.1f}" y="{y + 14}" text-anchor="middle" fill="{ink}">{escape(words)}</text>'
             if words else "")
    lighter = ' fill-opacity=".35"' if small else ""
    return (f'<g><title>{escape(title)}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{HEIGHT}" '
            f'fill="{fill}"{lighter}/>{label}</g>')


def _row(y: int, label: str, note: str, x: float, w: float) -> list[str]:
    """A row's group label (with its small note) above the bar, and the bar's outline."""
    text = f'<text x="0" y="{y + 13}" class="group">{escape(label[:90])}'
    text += f' <tspan class="small">({escape(note)})</tspan></text>' if note else "</text>"
    dash = ' stroke-dasharray="4 3"' if note else ""
    return [text, f'<rect x="{x:.1f}" y="{y + 17}" width="{w:.1f}" height="{HEIGHT}" fill="none" '
                  f'stroke="#555"{dash}/>']


def _svg(title: str, rows: int, body: list[str]) -> str:
    height = max(rows, 1) * ROW + 4
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img">'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def stacked(rows: list[tuple[str, str, list[tuple[str, str, int]]]], title: str) -> str:
    """One 100% bar per row (group label, small note or "", [(name, colour, count)]), segments in order."""
    body = []
    for i, (label, note, parts) in enumerate(rows):
        y, x, whole = i * ROW, 0.0, sum(n for *_, n in parts)
        for name, fill, n in parts:
            if n:
                w = BAR * n / whole
                body.append(_segment(x, y + 17, w, fill, (f"{name} {n / whole:.0%}", f"{n / whole:.0%}"),
                                     f"{label}: {name} {pct(n, whole)}", bool(note)))
                x += w
        body += _row(y, label, note, 0, BAR)
        body.append(f'<text x="{BAR + 6}" y="{y + 31}">{f"n={whole}" if whole else "none"}</text>')
    return _svg(title, len(rows), body)


def diverging(rows: list[tuple[str, str, int, int]], names: tuple[str, str], fills: tuple[str, str],
              title: str) -> str:
    """Per row (group label, small note, left count, right count): the left count as a bar growing
    leftwards from the centre, the right one rightwards, both scaled to the largest count of the chart."""
    centre, half = WIDTH / 2, WIDTH / 2 - 50
    top = max((max(a, b) for *_, a, b in rows), default=0) or 1
    body = [f'<line x1="{centre}" y1="14" x2="{centre}" y2="{len(rows) * ROW}" stroke="#000"/>']
    for i, (label, note, *counts) in enumerate(rows):
        y = i * ROW
        for side, (n, name, fill) in enumerate(zip(counts, names, fills)):
            w = half * n / top
            x = centre - w if side == 0 else centre
            body.append(_segment(x, y + 17, w, fill, (name,), f"{label}: {n} {name}", bool(note)))
            at, anchor = (x - 4, "end") if side == 0 else (x + w + 4, "start")
            body.append(f'<text x="{at:.1f}" y="{y + 31}" text-anchor="{anchor}">{n}</text>')
        body += _row(y, label, note, centre - half, 2 * half)
    return _svg(title, len(rows), body)


def legend(entries: dict[str, list[tuple[str, str]]]) -> str:
    """{heading: [(name, colour)]} as named swatches, and how a small group looks."""
    groups = "".join(f'<div><b>{escape(heading)}</b> ' + "".join(
        f'<span class="key"><i style="background:{fill}"></i>{escape(name)}</span>' for name, fill in items)
        + "</div>" for heading, items in entries.items())
    return (f'<div class="legend">{groups}<div><span class="badge">small: N articles</span> a group with fewer '
            "articles than min_articles: shown, with lighter bars in a dashed outline</div></div>")
