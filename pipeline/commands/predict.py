"""`stance-predict`: label every sentence of new text from files, --text or standard input.

Every input is checked before the model loads (pipeline/sources.py); records are collected in a
temporary file and written to standard output only once all input is labelled, so an error
leaves stdout empty.
"""
from __future__ import annotations

# Run as `python -m ...`, this file hands over to its console entry point before the imports below
# (seconds), which imports it again as a module with Ctrl-C guarded: an interrupt during those
# imports is then `error: interrupted`, exit 130, not a traceback.
from pipeline.commands.entry import stance_predict  # standard library only

if __name__ == "__main__":
    raise SystemExit(stance_predict())

import argparse
import csv
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm  # not tqdm.auto: it costs the one-sentence start-up ~0.1 s

from pipeline.commands.html_view import render
from pipeline.commands.text_inputs import gather, read_lines, sentences
from pipeline.core.config import TASKS, params
from pipeline.core.errors import UserError, cli, drop_stdout
from pipeline.core.scores import score_columns
from pipeline.data.schema import check_target
from pipeline.api import MODELS, batch_size_for, model_folder
from pipeline.inference import label_stream
from pipeline.models import DEVICES, load_model
from pipeline.models.side_decoding import SIDES

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters (terminal escape codes) and bidirectional overrides, dropped from table output.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SPOOL_BYTES = 16 * 2**20  # output held in memory up to this size, then in a temporary file


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cfg = params("predict")
    parser = argparse.ArgumentParser(prog="stance-predict", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", metavar="FILE", help="text files; '-' or none reads standard input")
    parser.add_argument("--text", help="label this text instead of files")
    parser.add_argument("--lines", action="store_true", help="input is one sentence per line, in order")
    parser.add_argument("--target", default=cfg["target"], help="the claim stance is measured against")
    parser.add_argument("--target-by", choices=SIDES, help="the side that makes the target claim: stance "
                        "directions then follow each speaker's side (decode in configs/params.yaml)")
    parser.add_argument("--model", default=cfg["model"], help=f"one of {', '.join(MODELS)} (default: {cfg['model']})")
    parser.add_argument("--format", default="jsonl", choices=("jsonl", "csv", "table", "html"))
    parser.add_argument("--batch-size", type=int, help=f"sentences a forward pass (default: {cfg['batch_size']} on "
                        f"the CPU, {cfg['gpu_batch_size']} on a GPU)")
    parser.add_argument("--device", default=cfg["device"], choices=DEVICES,
                        help=f"where the transformer runs: cpu (ONNX Runtime), cuda (PyTorch) or auto (default: {cfg['device']})")
    return check_options(parser.parse_args(argv))


def check_options(args: argparse.Namespace) -> argparse.Namespace:
    """--batch-size, --model and --target, checked before any input is read (also for
    `stance-labelstudio export`)."""
    if args.batch_size is not None and args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    model_folder(args.model)
    check_target(args.target, "--target")
    return args


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: a leading formula character is quoted with '."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


class Writer:
    def __init__(self, fmt: str, out, labels: dict[str, list[str]]):
        self.fmt, self.out, self.started = fmt, out, False
        self.labels = labels  # the model's label lists: the CSV score columns
        self.records: list[dict] = []  # html: one page of all records, rendered by finish()

    def header(self) -> None:
        if self.fmt == "csv":
            csv.writer(self.out).writerow(["source", "sentence_id", "text", *TASKS, *score_columns(self.labels), "model",
                                           "target", "truncated"])
        elif self.fmt == "table":
            self.out.write(f"{'id':>5}  {'speaker':<15} {'stance':<13} {'role':<14} text\n")

    def write(self, record: dict) -> None:
        if self.fmt == "html":
            self.records.append(record)
            return
        if not self.started:
            self.header()
            self.started = True
        if self.fmt == "jsonl":
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            scores = [record["scores"][t][label] for t in TASKS for label in self.labels[t]]
            row = [record["source"], record["sentence_id"], record["text"], *(record[t] for t in TASKS), *scores,
                   record["model"], record["target"], record["truncated"]]
            csv.writer(self.out).writerow([safe_cell(cell) for cell in row])
        else:
            cells = [f"{record[t]} {record['scores'][t][record[t]]:.2f}" for t in TASKS]
            text = ("[cut] " if record["truncated"] else "") + CONTROL.sub(" ", record["text"])
            text = text if len(text) <= 70 else text[:67] + "..."
            self.out.write(f"{record['sentence_id']:>5}  {cells[0]:<15} {cells[1]:<13} {cells[2]:<14} {text}\n")

    def finish(self, target: str) -> None:
        """html: one page of every record (pipeline/commands/html_view.py); the others are already written."""
        if self.fmt == "html":
            self.out.write(render(self.records, target, self.labels, params("view")["low_confidence"]))


def label(args, model, inputs: list[tuple[str, Path | None]], writer: Writer) -> None:
    """Every input through the one streaming prediction path (pipeline.inference.label_stream)."""
    chunk_size = params("predict")["chunk_size"]
    with tqdm(desc="labelling", unit=" sentences", file=sys.stderr, disable=None, leave=False) as bar:
        for name, path in inputs:
            stream = sentences(read_lines(args, name, path), args.lines)
            for record in label_stream(model, stream, args.target, args.target_by, batch_size_for(model, args.batch_size),
                                       chunk_size):
                writer.write(record | {"source": name})
                bar.update(1)


def emit(spool) -> None:
    """Copy the finished output to standard output; a full disk is one line, not a traceback."""
    spool.seek(0)
    try:
        shutil.copyfileobj(spool, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        drop_stdout()
        raise UserError(f"cannot write the output ({err.strerror or err})") from None


@cli
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stance-predict-") as workdir:
        inputs = gather(args, Path(workdir))
        model = load_model(model_folder(args.model), args.device)
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", encoding="utf-8", newline="", dir=workdir) as spool:
            writer = Writer(args.format, spool, model.labels)
            label(args, model, inputs, writer)
            writer.finish(args.target)
            emit(spool)


if __name__ == "__main__":
    main()
