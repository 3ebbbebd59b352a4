"""Sentences/s of `stance-bulk` (Ray Data, local) against one `stance-predict` process on the same
articles, and whether their labels are the same, article by article and field by field.

Articles are the prepared corpus's (data/prepare/sentences.jsonl, one sentence a line), taken in
order until --sentences sentences (the last one cut), or cut into --articles articles of up to
--per-article sentences. Both commands get the default target. Writes bench/results/bulk.json
(--out); a GPU row is added where torch sees a GPU. Times include start-up (model load, Ray).

    python bench/bulk_bench.py                         # transformer, 2,000 sentences
    python bench/bulk_bench.py --model baseline --articles 200 --out /tmp/b.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.core.config import ROOT, TASKS
from pipeline.data.segment import split_sentences


def articles(args) -> list[dict]:
    by_id: dict[str, list[str]] = {}
    with open(ROOT / "data" / "prepare" / "sentences.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            by_id.setdefault(row["article_id"], []).append(row["text"])
    out, total = [], 0
    for article_id, sentences in by_id.items():
        step = args.per_article if args.articles else len(sentences)
        for start in range(0, len(sentences), step):
            lines = sentences[start:start + step]
            if not args.articles:
                lines = lines[:args.sentences - total]
            text = "\n".join(lines)
            out.append({"article_id": f"{article_id}_{start}", "text": text})
            total += len(split_sentences(text))
            if (args.articles and len(out) == args.articles) or (not args.articles and total >= args.sentences):
                return out
    return out


def timed(cmd: list[str], stdout=None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{cmd[0]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stderr


def compare(predict_out: Path, bulk_out: Path, files: dict[str, str]) -> int:
    """Articles whose records differ in any field (scores as <task>_<label> columns)."""
    theirs: dict[str, list[dict]] = {}
    for line in predict_out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        scores = record.pop("scores")
        record |= {f"{t}_{label}": p for t in TASKS for label, p in scores[t].items()}
        theirs.setdefault(files[record.pop("source")], []).append(record)
    ours: dict[str, list[dict]] = {}
    for path in bulk_out.glob("part-*.parquet"):
        for row in pq.read_table(path).to_pylist():
            ours.setdefault(row.pop("article_id"), []).append(row)
    ours = {k: sorted(v, key=lambda r: r["sentence_id"]) for k, v in ours.items()}
    return sum(ours.get(k) != v for k, v in theirs.items()) + len(set(ours) ^ set(theirs))


def run(args, items: list[dict], work: Path, gpus: float | None) -> dict:
    bulk_out = work / f"bulk-{gpus}"
    cmd = ["stance-bulk", str(work / "in.jsonl"), str(bulk_out), "--model", args.model]
    cmd += ["--gpus-per-worker", str(gpus)] if gpus is not None else []
    seconds, err = timed(cmd)
    summary = [line for line in err.splitlines() if line.startswith("stance-bulk:")][-1]
    sentences = int(re.search(r"([\d,]+) sentences,", summary).group(1).replace(",", ""))
    return {"command": "stance-bulk" + (" (GPU)" if gpus else ""), "seconds": round(seconds, 1),
            "sentences": sentences, "sentences_per_s": round(sentences / seconds, 1), "summary": summary,
            "output": bulk_out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="transformer")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--articles", type=int, help="this many articles of up to --per-article sentences instead")
    parser.add_argument("--per-article", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bulk.json")
    args = parser.parse_args()
    items = articles(args)
    with tempfile.TemporaryDirectory(prefix="bulk-bench-") as tmp:
        work = Path(tmp)
        with open(work / "in.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        files = {}
        for i, item in enumerate(items):
            path = work / "articles" / f"{i:05d}.txt"
            path.parent.mkdir(exist_ok=True)
            path.write_text(item["text"], encoding="utf-8")
            files[str(path)] = item["article_id"]
        with open(work / "predict.jsonl", "w", encoding="utf-8") as out:
            seconds, _ = timed(["stance-predict", *files, "--model", args.model, "--device", "cpu"], stdout=out)
        n = sum(1 for _ in open(work / "predict.jsonl", encoding="utf-8"))
        rows = [{"command": "stance-predict (one process)", "seconds": round(seconds, 1), "sentences": n,
                 "sentences_per_s": round(n / seconds, 1)}]
        has_gpu = os.path.exists("/proc/driver/nvidia/version")
        for gpus in ([None, 1.0] if has_gpu else [None]):
            row = run(args, items, work, gpus)
            row["articles_differing_from_stance_predict"] = compare(work / "predict.jsonl", row.pop("output"), files)
            rows.append(row)
    result = {"model": args.model, "articles": len(items), "sentences": n, "cpu_count": os.cpu_count(),
              "machine": f"{platform.machine()} {platform.processor() or platform.platform()}", "gpu": has_gpu,
              "note": "wall time of each command, start-up included (model load; Ray start and actors for stance-bulk)",
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
