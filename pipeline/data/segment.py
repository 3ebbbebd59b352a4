"""Sentence segmentation: the one splitter used for seeds, synthetic articles and prediction.

pysbd's time grows with the square of a paragraph's length (80 KB took 9 s, 1 MB over 8 minutes).
Paragraphs up to `prepare.max_sentence_chars` (far longer than any real paragraph) go to pysbd
whole, exactly as the annotated articles were segmented; a longer one is first cut into pieces of
at most that length, after a sentence end where there is one, so time stays linear in the input
and no sentence is longer than the cap.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from functools import lru_cache

import pysbd

from pipeline.core.config import params
from pipeline.core.errors import UserError, cli
from pipeline.core.textio import read_text

log = logging.getLogger(__name__)
# A sentence end (., ! or ?, closing quotes or brackets) followed by white space.
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+")
WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text byte-for-byte, so sentences can be matched to annotations.
    return pysbd.Segmenter(language="en", clean=False)


def max_sentence_chars() -> int:
    return params("prepare")["max_sentence_chars"]


def _last_end(pattern: re.Pattern, window: str) -> int:
    """Index just after the last match of `pattern` in `window`, or 0."""
    end = 0
    for match in pattern.finditer(window):
        end = match.end()
    return end


def pieces(paragraph: str, limit: int) -> list[str]:
    """Cut a paragraph into pieces of at most `limit` characters: after the last sentence end in
    each window, else at its last white space, else at the limit itself."""
    out, start, forced = [], 0, 0
    while len(paragraph) - start > limit:
        window = paragraph[start:start + limit]
        cut = _last_end(SENTENCE_END, window)
        if not cut:
            cut, forced = _last_end(WHITESPACE, window) or limit, forced + 1
        out.append(window[:cut])
        start += cut
    if forced:  # one line a paragraph, however long (a 1 MB line without sentence ends is 200 cuts)
        log.warning("%d piece(s) of a paragraph without a sentence end within %d characters were cut at that "
                    "length (prepare.max_sentence_chars in configs/params.yaml)", forced, limit)
    out.append(paragraph[start:])
    return out


def split_paragraph(paragraph: str) -> list[str]:
    """Split one paragraph into stripped, non-empty sentences."""
    sentences = []
    for piece in pieces(paragraph, max_sentence_chars()):
        sentences.extend(s.strip() for s in _segmenter().segment(piece) if s.strip())
    return sentences


def split_sentences(text: str) -> list[str]:
    """Split article text into sentences; every non-blank line is a paragraph.

    Sentence order is article order, so a sentence's index is its stable id.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        if line.strip():
            sentences.extend(split_paragraph(line.strip()))
    return sentences


@cli
def main(argv: list[str] | None = None) -> None:
    """Print an article's sentences as JSON lines: a skeleton for annotating it."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise UserError("usage: python -m pipeline.data.segment ARTICLE.txt")
    for i, sentence in enumerate(split_sentences(read_text(argv[0]))):
        print(json.dumps({"sentence_id": i, "text": sentence}, ensure_ascii=False))


if __name__ == "__main__":
    main()
