"""`stance-predict --format html`: one self-contained page of labelled sentences.

`render` is a pure function from records (as `label_stream` yields them, with `source`) to an
HTML string: the target at the top, a legend, then one section per source with a speaker x
stance chart (inline SVG) and every sentence in order, marked by speaker, with stance and role
badges and their confidence. Labels below the low-confidence threshold are drawn dashed with a
"?". The page loads nothing: no script, no external style sheet, font or image, and a
Content-Security-Policy that forbids any load, so it works offline and prints as it shows.
Every piece of input text (sentences, target, source names, even label names) is escaped.
"""
from __future__ import annotations

from collections import Counter
from html import escape

from pipeline.core.config import TASKS

# Colour per label position (labels come from configs/labels.yaml); white text reads on all of them.
PALETTE = {
    "speaker": ["#b03a2e", "#1565c0", "#6a1b9a", "#b35900", "#546e7a", "#00695c", "#4e342e", "#283593"],
    "stance": ["#2e7d32", "#ad1457", "#757575", "#0277bd", "#6d4c41"],
    "role": ["#37474f", "#8e24aa", "#9e9e9e", "#00838f", "#5d4037"],
}
# Forbid every load (scripts, styles from elsewhere, fonts, images, frames, connections).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:system-ui,"DejaVu Sans",Arial,sans-serif;margin:1.5rem auto;max-width:60rem;color:#212121;
 line-height:1.45;-webkit-print-color-adjust:exact;print-color-adjust:exact}
h1{font-size:1.2rem;margin:0 0 .3rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem;border-bottom:1px solid #bbb}
.target{font-size:1.15rem;font-weight:600;background:#f5f5f5;border-left:6px solid #424242;padding:.5rem .8rem}
.meta{color:#555;font-size:.85rem;margin:.3rem 0 .8rem}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;font-size:.8rem;border:1px solid #ddd;padding:.4rem .6rem}
.legend span.group{font-weight:600;margin-right:.2rem}
ol.sentences{list-style:none;padding:0;margin:0}
li.sentence{border-left:6px solid;padding:.25rem .6rem;margin:.35rem 0;break-inside:avoid;page-break-inside:avoid}
li.sentence p{margin:.1rem 0 0}.sid{color:#757575;font-size:.75rem;margin-right:.4rem}
.badge{display:inline-block;color:#fff;border:2px solid transparent;border-radius:.7rem;padding:0 .5rem;
 font-size:.75rem;margin-right:.25rem;white-space:nowrap}
.badge .conf{opacity:.85;margin-left:.3rem}
.badge.low{background:#fff;border-style:dashed;font-weight:700}
.badge.cut{background:#fff;color:#b71c1c;border-color:#b71c1c}
svg.chart{display:block;margin:.4rem 0 .8rem}svg.chart text{font-size:12px;font-family:inherit}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg.chart{break-inside:avoid}}
"""


def colour(task: str, labels: dict[str, list[str]], label: str, palettes: dict[str, list[str]] = PALETTE) -> str:
    """A label's colour: its position in configs/labels.yaml's list, in `palettes[task]` (the last
    colour for a label not in the list)."""
    palette = palettes[task]
    index = labels[task].index(label) if label in labels[task] else len(palette) - 1
    return palette[index % len(palette)]


def badge(task: str, label: str, score: float | None, labels: dict, low_confidence: float) -> str:
    """One label as a coloured badge with its confidence; dashed with a '?' when below the threshold."""
    low = score is not None and score < low_confidence
    conf = f'<span class="conf">{score:.2f}{"?" if low else ""}</span>' if score is not None else ""
    title = f"{task}: {label}" + (f", confidence {score:.2f}" if score is not None else "")
    title += f" (below {low_confidence:g}: low confidence)" if low else ""
    fill = colour(task, labels, label)  # a low-confidence badge is outlined (dashed) instead of filled
    style = f"color:{fill};border-color:{fill}" if low else f"background-color:{fill}"
    return (f'<span class="badge {task}{" low" if low else ""}" data-task="{task}" title="{escape(title)}" '
            f'style="{style}">{escape(label)}{conf}</span>')


def sentence_item(record: dict, labels: dict, low_confidence: float) -> str:
    scores = record.get("scores", {})
    badges = "".join(badge(t, record[t], scores.get(t, {}).get(record[t]), labels, low_confidence) for t in TASKS)
    if record.get("truncated"):
        badges += '<span class="badge cut" title="the model saw only the start of this sentence">cut</span>'
    data = " ".join(f'data-{t}="{escape(record[t])}"' for t in TASKS)
    return (f'<li class="sentence" {data} style="border-left-color:{colour("speaker", labels, record["speaker"])}">'
            f'<span class="sid">{int(record["sentence_id"])}</span>{badges}'
            f'<p class="text">{escape(record["text"])}</p></li>')


def chart(records: list[dict], labels: dict) -> str:
    """Speaker x stance counts as horizontal stacked bars (inline SVG), one bar a speaker."""
    counts = Counter((r["speaker"], r["stance"]) for r in records)
    speakers = [s for s in labels["speaker"] if any(counts[s, st] for st in labels["stance"])]
    widest = max((sum(counts[s, st] for st in labels["stance"]) for s in speakers), default=1)
    left, scale, height = 90, 420 / widest, 22
    parts = []
    for row, speaker in enumerate(speakers):
        x, y = left, 6 + row * height
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(speaker)}</text>')
        for stance in labels["stance"]:
            n = counts[speaker, stance]
            if n:
                w = n * scale
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{height - 4}" '
                             f'fill="{colour("stance", labels, stance)}"><title>{escape(speaker)}, '
                             f'{escape(stance)}: {n}</title></rect>')
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 14}" text-anchor="middle" fill="#fff">{n}</text>')
                x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}">{sum(counts[speaker, st] for st in labels["stance"])}</text>')
    size = f'width="{left + 470}" height="{12 + len(speakers) * height}"'
    return (f'<svg class="chart" {size} role="img">'
            f'<title>sentences by speaker (bars) and stance (colours)</title>{"".join(parts)}</svg>')


def legend(labels: dict, low_confidence: float) -> str:
    groups = []
    for task in TASKS:
        items = "".join(badge(task, label, None, labels, low_confidence) for label in labels[task])
        groups.append(f'<div><span class="group">{task}</span>{items}</div>')
    example = badge("stance", labels["stance"][0], low_confidence / 2, labels, low_confidence)
    groups.append(f'<div><span class="group">low confidence</span>{example} below {low_confidence:g} '
                  '(outlined, dashed, "?"); a sentence\'s left bar is its speaker\'s colour</div>')
    return f'<div class="legend">{"".join(groups)}</div>'


def render(records: list[dict], target: str, labels: dict[str, list[str]], low_confidence: float) -> str:
    """The whole page: target, legend, then per source (in order) its chart and its sentences."""
    sources: dict[str, list[dict]] = {}
    for record in records:
        sources.setdefault(str(record.get("source", "input")), []).append(record)
    models = sorted({str(r.get("model", "")) for r in records} - {""})
    sections = []
    for name, rows in sources.items():
        low = sum(r.get("scores", {}).get(t, {}).get(r[t], 1.0) < low_confidence for r in rows for t in TASKS)
        items = "".join(sentence_item(r, labels, low_confidence) for r in rows)
        sections.append(f'<section class="source"><h2>{escape(name)}</h2><div class="meta">{len(rows)} sentences; '
                        f'{low} labels below {low_confidence:g} confidence. Who says what: sentences by speaker, '
                        f'coloured by stance</div>{chart(rows, labels)}'
                        f'<ol class="sentences">{items}</ol></section>')
    meta = f"model: {escape(', '.join(models) or 'unknown')}; {len(records)} sentences from {len(sources)} source(s)"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Stance labels: {escape(target)}</title><style>{STYLE}</style></head><body>"
            f'<h1>Stance labels</h1><div class="target">Target: {escape(target)}</div>'
            f'<div class="meta">{meta}</div>{legend(labels, low_confidence)}{"".join(sections)}'
            "</body></html>\n")
