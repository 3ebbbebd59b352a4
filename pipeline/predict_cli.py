"""`stance-predict`: label every sentence of new text from files, --text or standard input."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Iterator

from tqdm.auto import tqdm

from pipeline.config import TASKS, label_sets, params
from pipeline.errors import UserError, cli
from pipeline.predict import MODELS, check_target, load_model, make_rows, predict_rows
from pipeline.segment import split_paragraph


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cfg = params("predict")
    parser = argparse.ArgumentParser(prog="stance-predict", description=__doc__)
    parser.add_argument("files", nargs="*", metavar="FILE", help="text files; '-' or none reads standard input")
    parser.add_argument("--text", help="label this text instead of files")
    parser.add_argument("--lines", action="store_true", help="input is one sentence per line, in order")
    parser.add_argument("--target", default=cfg["target"], help="the claim stance is measured against")
    parser.add_argument("--model", default=cfg["model"], help=f"one of {', '.join(MODELS)} (default: {cfg['model']})")
    parser.add_argument("--format", default="jsonl", choices=("jsonl", "csv", "table"))
    parser.add_argument("--batch-size", type=int, default=cfg["batch_size"])
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    check_target(args.target, "--target")
    return args


def byte_lines(name: str, stream) -> Iterator[str]:
    """Decoded lines of a byte stream; invalid UTF-8 and binary data are located by byte offset."""
    offset = 0
    for raw in stream:
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise UserError(f"{name}: binary data (NUL byte at byte offset {offset + nul}); expected text")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise UserError(f"{name}: invalid UTF-8 at byte offset {offset + err.start}") from None
        offset += len(raw)


def sources(args) -> Iterator[tuple[str, Iterator[str]]]:
    """(name, lines) per input: --text, each file, or standard input."""
    if args.text is not None:
        yield "text", iter(args.text.splitlines())
        return
    names = args.files or ["-"]
    if names == ["-"] and sys.stdin.isatty():
        raise UserError("no input: give FILE, --text TEXT, or pipe text on standard input")
    for name in names:
        if name == "-":
            yield "stdin", byte_lines("stdin", sys.stdin.buffer)
            continue
        try:
            handle = open(name, "rb")
        except OSError as err:
            raise UserError(f"{name}: cannot read file ({err.strerror})") from None
        with handle:
            yield name, byte_lines(name, handle)


def sentences(lines: Iterator[str], one_per_line: bool) -> Iterator[str]:
    """Sentences as `prepare` makes them: each non-blank line a paragraph, or a sentence with --lines."""
    for line in lines:
        if line.strip():
            yield from ([line.strip()] if one_per_line else split_paragraph(line.strip()))


def chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Writer:
    def __init__(self, fmt: str, out=None):
        self.fmt, self.out, self.started = fmt, out or sys.stdout, False
        self.labels = label_sets()

    def header(self) -> None:
        if self.fmt == "csv":
            cols = [f"{t}_{label}" for t in TASKS for label in self.labels[t]]
            csv.writer(self.out).writerow(["source", "sentence_id", "text", *TASKS, *cols, "model", "target"])
        elif self.fmt == "table":
            self.out.write(f"{'id':>5}  {'speaker':<15} {'stance':<13} {'role':<14} text\n")

    def write(self, record: dict) -> None:
        if not self.started:
            self.header()
            self.started = True
        if self.fmt == "jsonl":
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            scores = [record["scores"][t][label] for t in TASKS for label in self.labels[t]]
            csv.writer(self.out).writerow([record["source"], record["sentence_id"], record["text"],
                                           *(record[t] for t in TASKS), *scores, record["model"], record["target"]])
        else:
            cells = [f"{record[t]} {record['scores'][t][record[t]]:.2f}" for t in TASKS]
            text = record["text"] if len(record["text"]) <= 70 else record["text"][:67] + "..."
            self.out.write(f"{record['sentence_id']:>5}  {cells[0]:<15} {cells[1]:<13} {cells[2]:<14} {text}\n")


@cli
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    model = load_model(args.model)
    writer, chunk_size = Writer(args.format), params("predict")["chunk_size"]
    with tqdm(desc="labelling", unit=" sentences", file=sys.stderr, disable=None, leave=False) as bar:
        for name, lines in sources(args):
            count, previous = 0, None
            for chunk in chunks(sentences(lines, args.lines), chunk_size):
                rows = make_rows(chunk, args.target, previous)
                for row, pred in zip(rows, predict_rows(model, rows, args.batch_size)):
                    writer.write({"sentence_id": count + row["sentence_id"], "text": row["text"], **pred,
                                  "model": args.model, "target": args.target, "source": name})
                count, previous = count + len(chunk), chunk[-1]
                bar.update(len(chunk))
                sys.stdout.flush()
            if count == 0:
                raise UserError(f"{name}: no text to label (empty or whitespace only)")


if __name__ == "__main__":
    main()
