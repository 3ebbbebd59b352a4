"""Where `stance-predict` reads its text: files, standard input or --text, checked whole first.

Every input is read through once before any model loads (readable, text, valid UTF-8, not
empty, lines within the limits); standard input and other streams are copied to a temporary
folder as they are checked, so the labelling pass reads each input again from a file.
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Iterator

from pipeline.core.config import params
from pipeline.core.errors import DataError, UserError
from pipeline.core.textio import decoded_lines, open_input
from pipeline.data.segment import max_sentence_chars, split_sentences


def check_lines(name: str, lines: Iterator[str], one_per_line: bool, spool=None) -> None:
    """Read an input through once: text, within limits, not blank; copy it to `spool` if given."""
    limit, has_text = max_sentence_chars(), False
    for number, line in enumerate(lines, start=1):
        has_text = has_text or bool(line.strip())
        if one_per_line and (longest := max((len(part.strip()) for part in line.splitlines()), default=0)) > limit:
            raise DataError(name, number, f"sentence of {longest:,} characters is longer than the limit of "
                                          f"{limit:,} (prepare.max_sentence_chars); split it, or drop --lines")
        if spool is not None:
            spool.write(line)
    if not has_text:
        raise UserError(f"{name}: no text to label (empty or whitespace only)")


def gather(args, workdir: Path) -> list[tuple[str, Path | None]]:
    """(name, file to read) per input, each checked whole before any model loads. Standard input
    and other streams (pipes, devices) are copied to `workdir` as they are checked; --text has no file."""
    if args.text is not None:
        check_lines("text", iter(args.text.splitlines()), args.lines)
        return [("text", None)]
    names = args.files or ["-"]
    if names == ["-"] and sys.stdin.isatty():
        raise UserError("no input: give FILE, --text TEXT, or pipe text on standard input")
    max_bytes, out = params("predict")["max_line_bytes"], []
    for index, name in enumerate(names):
        label = "stdin" if name == "-" else name
        handle = sys.stdin.buffer if name == "-" else open_input(name)
        try:
            lines = decoded_lines(label, handle, max_bytes)
            if name != "-" and stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                check_lines(label, lines, args.lines)
                out.append((label, Path(name)))
                continue
            out.append((label, workdir / f"input-{index}.txt"))
            with open(out[-1][1], "w", encoding="utf-8", newline="") as spool:
                check_lines(label, lines, args.lines, spool)
        finally:
            if name != "-":
                handle.close()
    return out


def read_lines(args, name: str, path: Path | None) -> Iterator[str]:
    if path is None:
        yield from args.text.splitlines()
        return
    with open_input(path) as handle:
        yield from decoded_lines(name, handle, params("predict")["max_line_bytes"])


def sentences(lines: Iterator[str], one_per_line: bool) -> Iterator[str]:
    """Sentences as `prepare`, `split_sentences` and `stance-bulk` make them: each non-blank line a
    paragraph, or a sentence with --lines. A line is what `str.splitlines` makes of the text, as in
    `split_sentences`: U+2028, U+0085, a form feed or a lone CR also end one."""
    for line in lines:
        yield from ([part.strip() for part in line.splitlines() if part.strip()] if one_per_line
                    else split_sentences(line))
