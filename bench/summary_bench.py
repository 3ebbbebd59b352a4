"""`stance-summary --by outlet month` wall time and peak memory on generated archives of growing size.

    python bench/summary_bench.py [--rows 1000000 3000000 10000000] [--repeats 3] [--work /tmp/summary-bench]

Archives are written vectorised (numpy + pyarrow) in parts of --part-rows rows with stance-bulk's exact
part schema and footer (`part_schema`): articles of 8-32 sentences, unique ~150-character texts, labels
at plausible frequencies with matching scores, ~200 outlets, 300 targets, dates over 2021-2024; cached
under --work and reused at the same row count. Each run is a fresh `stance-summary ARCHIVE --out DIR
--by outlet month --format parquet` (a fresh python calling `summarise` while that command does not run)
under a wrapper process that reports the child's wall time and peak RSS (its RUSAGE_CHILDREN).
Writes bench/results/summary_bench.json (--out) after each size. Target at 10M rows: < 60 s, < 2 GiB.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.commands.bulk.schema import part_schema  # noqa: E402
from pipeline.core.config import TASKS, label_sets, params  # noqa: E402

log = logging.getLogger("summary_bench")
ARTICLE_COLUMNS = pa.schema([("outlet", pa.string()), ("date", pa.date32()), ("url", pa.string()),
                             ("title", pa.string())])
FREQ = {"speaker": [0.22, 0.2, 0.1, 0.13, 0.35], "stance": [0.3, 0.2, 0.5], "role": [0.15, 0.1, 0.75]}
LIMITS = {"seconds": 60, "peak_mb": 2048}
SUMMARISE = ("import sys; from pipeline.commands.summary.frames import summarise; "
             "summarise(sys.argv[1], ['outlet', 'month'])")


def pools(rng) -> dict[str, pa.Array]:
    letters = rng.integers(97, 123, (3000, 10), dtype=np.uint8)
    words = np.array([bytes(w[:n]).decode() for w, n in zip(letters, rng.integers(2, 11, 3000))])
    return {"phrase": pa.array([" ".join(rng.choice(words, k)) for k in rng.integers(6, 17, 4000)]),
            "outlet": pa.array([f"Outlet {i:03d} News" for i in range(200)]),
            "target": pa.array([" ".join(rng.choice(words, 6)).capitalize() + "." for _ in range(300)])}


def zipf(rng, size: int, n: int) -> np.ndarray:
    p = 1 / np.arange(1, n + 1) ** 0.9
    return rng.choice(n, size, p=p / p.sum())


def articles(rng, pool, n: int, first: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Article-level columns of enough articles for n rows, each row's article index, sentence ids."""
    lengths = rng.integers(8, 33, n // 8 + 1)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n) + 1]
    art = np.repeat(np.arange(len(lengths)), lengths)[:n]
    a, sides, missing = len(lengths), pa.array(label_sets()["speaker"][:-1]), rng.random((3, len(lengths)))
    ids, outlet, unset = [f"art-{first + i:09d}" for i in range(a)], zipf(rng, a, 200), missing[2] < 0.1
    days = rng.integers(0, 1461, a).astype(np.int32) + (dt.date(2021, 1, 1) - dt.date(1970, 1, 1)).days
    cols = {"article_id": pa.array(ids), "outlet": pool["outlet"].take(pa.array(outlet, mask=missing[0] < 0.01)),
            "date": pa.array(days, pa.date32(), mask=missing[1] < 0.01),
            "target_by": sides.take(pa.array(rng.integers(0, len(sides), a), mask=unset)),
            "target_by_source": pa.array(np.where(rng.random(a) < 0.6, "given", "inferred"), mask=unset),
            "url": pa.array([f"https://outlet{o}.example/news/{i}" for o, i in zip(outlet, ids)]),
            "title": pool["phrase"].take(rng.integers(0, 4000, a)), "target": pool["target"].take(zipf(rng, a, 300))}
    return cols, art, np.arange(n) - (np.cumsum(lengths) - lengths)[art]


def part(rng, pool, n: int, first: int, schema: pa.Schema) -> tuple[pa.Table, int]:
    """One part of n rows from article number `first` on, and the number of articles in it."""
    cols, art, sentence_id = articles(rng, pool, n, first)
    cols = {name: col.take(pa.array(art)) for name, col in cols.items()}
    phrases = [pool["phrase"].take(rng.integers(0, 4000, n)) for _ in range(2)]
    cols.update(sentence_id=pa.array(sentence_id), truncated=pa.array(rng.random(n) < 0.005),
                text=pc.binary_join_element_wise(*phrases, " "), model=pa.array(["transformer"] * n))
    for task in TASKS:
        names = label_sets()[task]
        pick = rng.choice(len(names), n, p=FREQ[task])
        scores = rng.random((n, len(names)))
        scores[np.arange(n), pick] += 1.5  # the label's score is most often the highest
        scores /= scores.sum(1, keepdims=True)
        cols[task] = pa.array(names).take(pick)
        cols.update({f"{task}_{name}": pa.array(np.ascontiguousarray(scores[:, j])) for j, name in enumerate(names)})
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema), int(art[-1]) + 1


def archive(work: Path, rows: int, part_rows: int) -> Path:
    """The cached archive of `rows` rows, written if missing or of another size."""
    folder = work / f"archive-{rows}"
    parts = sorted(folder.glob("part-*.parquet"))
    if parts and sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == rows:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng, first, started = np.random.default_rng(rows), 0, time.time()
    schema, pool = part_schema(label_sets(), "transformer", ARTICLE_COLUMNS), pools(rng)
    for i, start in enumerate(range(0, rows, part_rows)):
        table, count = part(rng, pool, min(part_rows, rows - start), first, schema)
        pq.write_table(table, folder / f"part-bench-{i:06d}.parquet")
        first += count
        log.info("archive of %d rows: part %d written (%.0f s)", rows, i, time.time() - started)
    return folder


def command(folder: Path, out: Path) -> tuple[str, list[str]]:
    """stance-summary where it is installed and starts (--help), else summarise() in a fresh python."""
    exe = shutil.which("stance-summary") or shutil.which("stance-summary", path=str(Path(sys.executable).parent))
    if exe and subprocess.run([exe, "--help"], cwd=ROOT, capture_output=True).returncode == 0:
        return "stance-summary", [exe, str(folder), "--out", str(out), "--by", "outlet", "month", "--format", "parquet"]
    return "summarise() in python -c (no working stance-summary)", [sys.executable, "-c", SUMMARISE, str(folder)]


def wrap(cmd: list[str]) -> None:
    """In the wrapper process: run cmd, print its wall seconds and peak RSS (MiB) as JSON."""
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds, peak = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"rc": done.returncode, "seconds": seconds, "peak_mb": peak, "stderr": done.stderr[-2000:]}))


def measure(folder: Path, work: Path, repeats: int) -> tuple[str, list[dict]]:
    out, runs = work / "summary-out", []
    name, cmd = command(folder, out)
    for i in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        res = subprocess.run([sys.executable, __file__, "--wrap", *cmd], capture_output=True, text=True, check=True)
        run = json.loads(res.stdout.strip().splitlines()[-1])
        if run["rc"]:
            raise SystemExit(f"{name} failed (exit {run['rc']}):\n{run['stderr']}")
        runs.append({"seconds": round(run["seconds"], 2), "peak_mb": round(run["peak_mb"])})
        log.info("%s, run %d: %.1f s, %d MiB (%s)", folder.name, i + 1, run["seconds"], run["peak_mb"], name)
    shutil.rmtree(out, ignore_errors=True)
    return name, runs


def machine() -> dict:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "memory_gib": round(memory, 1),
            "platform": platform.platform(), "python": platform.python_version(), "duckdb": duckdb.__version__}


def growth(sizes: list[dict]) -> str:
    per = ", ".join(f"{s['rows'] / 1e6:g}M: {s['seconds_median'] / (s['rows'] / 1e6):.2f}" for s in sizes)
    a, b = sizes[0], sizes[-1]
    return (f"seconds per million rows ({per}); rows x{b['rows'] / a['rows']:.3g} -> time "
            f"x{b['seconds_median'] / a['seconds_median']:.3g}, peak RSS x{b['peak_mb_max'] / a['peak_mb_max']:.3g}")


def main() -> None:
    if sys.argv[1:2] == ["--wrap"]:
        return wrap(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--part-rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/summary-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/summary_bench.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    results = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
               "engine": params("summary"), "limits": LIMITS, "by": ["outlet", "month"], "sizes": []}
    for rows in args.rows:
        folder = archive(args.work, rows, args.part_rows)
        load, (name, runs) = os.getloadavg()[0], measure(folder, args.work, args.repeats)
        seconds, peak = round(statistics.median(r["seconds"] for r in runs), 2), max(r["peak_mb"] for r in runs)
        parts = sorted(folder.glob("part-*.parquet"))
        results["sizes"].append({
            "rows": rows, "parts": len(parts), "archive_mb": round(sum(p.stat().st_size for p in parts) / 2**20),
            "command": name, "load_average_before": round(load, 2), "seconds_median": seconds, "runs": runs,
            "peak_mb_max": peak, "rows_per_s": round(rows / seconds),
            "meets_limits": seconds < LIMITS["seconds"] and peak < LIMITS["peak_mb"]})
        results["growth"] = growth(results["sizes"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log.info("%d rows: median %.1f s, peak %d MiB -> %s", rows, seconds, peak, args.out)


if __name__ == "__main__":
    main()
