"""Sentence segmentation: the one splitter used for seeds, synthetic articles and prediction."""
from __future__ import annotations

import json
import sys
from functools import lru_cache

import pysbd


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text byte-for-byte, so sentences can be matched to annotations.
    return pysbd.Segmenter(language="en", clean=False)


def split_paragraph(paragraph: str) -> list[str]:
    """Split one paragraph into stripped, non-empty sentences."""
    return [s.strip() for s in _segmenter().segment(paragraph) if s.strip()]


def split_sentences(text: str) -> list[str]:
    """Split article text into sentences; every non-blank line is a paragraph.

    Sentence order is article order, so a sentence's index is its stable id.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        if line.strip():
            sentences.extend(split_paragraph(line.strip()))
    return sentences


def main(argv: list[str] | None = None) -> None:
    """Print an article's sentences as JSON lines: a skeleton for annotating it."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python -m pipeline.segment ARTICLE.txt")
    with open(argv[0], encoding="utf-8") as handle:
        for i, sentence in enumerate(split_sentences(handle.read())):
            print(json.dumps({"sentence_id": i, "text": sentence}, ensure_ascii=False))


if __name__ == "__main__":
    main()
