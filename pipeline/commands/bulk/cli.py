"""`stance-bulk INPUT OUTPUT`: label an archive of articles on Ray Data, resumably.

The options, INPUT, OUTPUT and the model are checked in this process first, before Ray starts
(pipeline/commands/bulk/cluster.py). Then Ray Data scans INPUT (pipeline/commands/bulk/inputs.py)
and this process picks the rows to label: not rejected, not a repeated article_id, not already in
OUTPUT (whose labels must be of this model and target). Ray Data then reads those rows, segments
them (`split_sentences`, as `stance-predict`), labels each article through `label_stream` in actors
that load the model once, and writes whole articles to OUTPUT (pipeline/commands/bulk/sink.py; the
folder's bookkeeping: pipeline/commands/bulk/folder.py). Local Ray on this machine's cores, or --address.
"""
from __future__ import annotations

# Run as `python -m ...`, this file hands over to its console entry point before the imports below
# (seconds), which imports it again as a module with Ctrl-C guarded: an interrupt during those
# imports is then `error: interrupted`, exit 130, not a traceback.
from pipeline.commands.entry import stance_bulk  # standard library only

if __name__ == "__main__":
    raise SystemExit(stance_bulk())

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import ray
import ray.data
from ray.exceptions import RayError

from pipeline.commands.bulk.cluster import (actors, check_gpus, local_gpus, quiet_task_errors, ray_failure, reachable,
                                            start_ray)
from pipeline.commands.bulk.inputs import input_files
from pipeline.commands.bulk.plan import Labeller, check_targets, plan, read_articles, scan, segment
from pipeline.commands.bulk.folder import REJECTED, check_output, check_parts, prepare, write_rejected
from pipeline.commands.bulk.columns import article_schema
from pipeline.commands.bulk.schema import part_schema
from pipeline.commands.bulk.sink import ArticleSink
from pipeline.core.config import params
from pipeline.core.errors import UserError, cli
from pipeline.data.schema import check_target
from pipeline.api import MODELS, model_folder
from pipeline.models import load_model

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cfg = params("predict")
    parser = argparse.ArgumentParser(prog="stance-bulk", description=__doc__.splitlines()[0])
    parser.add_argument("input", metavar="INPUT", help="a JSONL, CSV or Parquet file, or a folder of them: one "
                        "article a row with article_id, text, optionally target and target_by; other fields "
                        "(outlet, date, url, ...) are carried to OUTPUT")
    parser.add_argument("output", metavar="OUTPUT", help="folder of Parquet files, one row a sentence")
    parser.add_argument("--model", default=cfg["model"], choices=MODELS, help=f"(default: {cfg['model']})")
    parser.add_argument("--model-dir", type=Path, help="a saved model folder instead of models/<--model>")
    parser.add_argument("--target", default=cfg["target"], help="the claim for rows without a target")
    parser.add_argument("--address", help="join this Ray cluster (e.g. auto, or the head's host:6379)")
    parser.add_argument("--workers", type=int, help="labelling actors (default: one a GPU, else one a CPU)")
    parser.add_argument("--gpus-per-worker", type=float, help="GPUs an actor takes (default: 1 where the "
                        "cluster has GPUs, else 0)")
    parser.add_argument("--batch-size", type=int, help=f"sentences a forward pass (default: {cfg['batch_size']} "
                        f"on the CPU, {cfg['gpu_batch_size']} on a GPU)")
    args = parser.parse_args(argv)
    for name in ("workers", "batch_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.gpus_per_worker is not None and args.gpus_per_worker < 0:
        raise UserError(f"--gpus-per-worker must be 0 or more, got {args.gpus_per_worker}")
    check_target(args.target, "--target")
    if address := args.address or os.environ.get("RAY_ADDRESS"):  # as `ray.init()` itself would read it
        reachable(address)
    elif (gpus := local_gpus()) is not None:
        check_gpus(args.workers, args.gpus_per_worker, gpus, "this machine")  # a local Ray gets this machine's GPUs
    return args


def label(args, items: list[dict], folder: Path, sink: ArticleSink, columns: bytes) -> None:
    """Read, segment, label and write the chosen articles: one Ray Data pipeline, streamed."""
    cfg, (workers, per_cpu, per_gpu, cpus) = params("bulk"), actors(args.workers, args.gpus_per_worker)
    log.info("labelling in %d read tasks with %d actors (%.2g CPUs, %g GPUs each)", len(items), workers, per_cpu, per_gpu)
    # Reading and segmenting ask for no CPU, so they run beside the actors however many there are.
    light = {"num_cpus": 0, "compute": ray.data.TaskPoolStrategy(size=max(1, cpus))}
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.flat_map(read_articles, fn_kwargs={"default_target": args.target, "columns": columns}, **light)
    # Blocks of a few articles, so segmenting and labelling spread over every actor.
    ds = ds.repartition(target_num_rows_per_block=cfg["articles_per_batch"]).map(segment, **light)
    ds = ds.map_batches(Labeller, batch_size=cfg["articles_per_batch"], batch_format="pyarrow",
                        fn_constructor_kwargs={"folder": str(folder), "device": "cuda" if per_gpu else "cpu",
                                               "batch_size": args.batch_size},
                        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=per_cpu, num_gpus=per_gpu)
    ds.write_datasink(sink, ray_remote_args={"num_cpus": 0})


@cli
def main(argv: list[str] | None = None) -> None:
    args, started = parse_args(argv), time.perf_counter()
    # Ray Data warns when a step gets fewer blocks than its pool size (small inputs): nothing to act on.
    warnings.filterwarnings("ignore", message="The (maximum|minimum) number of concurrent", category=UserWarning)
    out, cfg = Path(args.output), params("bulk")
    files = [str(f) for f in input_files(args.input, out)]
    check_output(out)
    folder = args.model_dir or model_folder(args.model)
    model = load_model(folder, "cpu")  # a missing or damaged model is one line here, before any Ray work
    owns, lock = start_ray(args.address), None  # OUTPUT is created only once Ray is there
    try:
        quiet_task_errors()
        run, done, lock = prepare(out, model.name)
        rows = [dict(row) for row in ray.data.from_items([{"path": f} for f in files],
                                                          override_num_blocks=len(files)).flat_map(scan).iter_rows()]
        columns = article_schema([r["types"] for r in rows if r["row"] == 0], model.labels)
        schema = part_schema(model.labels, model.name, columns)
        check_parts(out, schema)
        sink = ArticleSink(out, run, schema, cfg["articles_per_file"])
        items, rejected, skipped = plan([r for r in rows if r["row"] != 0], files, done, cfg["articles_per_task"])
        check_targets(skipped, done, args.target, out)
        write_rejected(out, rejected)
        if items:
            label(args, items, folder, sink, columns.serialize().to_pybytes())
    except Exception as err:
        if isinstance(err, (UserError, OSError)) and not isinstance(err, RayError):
            raise
        raise ray_failure(err) from None  # Ray wraps what failed in a task or actor
    finally:
        if lock is not None:
            lock.close()
        if owns:
            ray.shutdown()
    seconds, sentences = time.perf_counter() - started, sink.totals["sentences"]
    print(f"stance-bulk: {sink.totals['articles']:,} articles, {sentences:,} sentences, {len(rejected):,} rejected "
          f"rows ({out / REJECTED}), {len(skipped):,} already done, {seconds:.1f} s, {sentences / seconds:.1f} sentences/s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
