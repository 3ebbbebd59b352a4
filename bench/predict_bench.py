"""Prediction speed of each model: sentences/s at batch 1 and 64 over >= 2,000 sentences, and cold start.

    python bench/predict_bench.py [--sentences 2000] [--out bench/results/predict.json]

Sentences are drawn (with a fixed seed) from the prepared training sentences, read one per line
as `stance-predict --lines` reads them, with the default target. Writes its figures to JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import params  # noqa: E402
from pipeline.inference import make_rows, model_folder, predict_rows  # noqa: E402
from pipeline.models import load_model  # noqa: E402

COLD = "import time; t=time.time(); from pipeline.inference import predict; predict(['Kyiv rejected the claim.'], model={!r}); print(time.time()-t)"


def sample(n: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in open(ROOT / "data/prepare/sentences.jsonl", encoding="utf-8")]
    rng = random.Random(0)
    return [rng.choice(texts) for _ in range(n)]


def throughput(model, rows: list[dict], batch_size: int) -> float:
    started = time.perf_counter()
    predict_rows(model, rows, batch_size)
    return len(rows) / (time.perf_counter() - started)


def cold_start(name: str) -> float:
    """Seconds from a new interpreter to the first labelled sentence (imports and model load)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", COLD.format(name)], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--models", nargs="+", default=["baseline", "transformer"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/predict.json")
    args = parser.parse_args()
    texts = sample(args.sentences)
    results = {"sentences": len(texts), "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
               "python": platform.python_version(), "models": {}}
    for name in args.models:
        model = load_model(model_folder(name))
        rows = make_rows(texts, params("predict")["target"], model.context_sentences)
        figures = {"cold_start_s": round(cold_start(name), 2)}
        for batch in (1, 64):
            figures[f"sentences_per_s_batch_{batch}"] = round(throughput(model, rows, batch), 1)
        results["models"][name] = figures
        print(name, figures, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
