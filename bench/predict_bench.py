"""Prediction speed, side by side in one run on the same sentences: the plain transformers way, the
project's default path and the baseline.

    python bench/predict_bench.py [--sentences 2000] [--out bench/results/predict.json]

(a) plain: the same weights loaded as `AutoModel` plus the three heads, one pair a sentence
    (sentence; target [SEP] context; actor tags; max_length 128, only_second truncation), batches
    of 64 in input order, fp32 PyTorch: what the same encoder costs the usual transformers way.
    Its labels are not used (the default model reads packs, pipeline/models/packing.py).
(b) default: what `stance-predict` runs (`pipeline.load_model` with device auto: on a CPU the
    ONNX Runtime graph; packs in length-sorted batches; `label_stream`).
(c) baseline: the same path with the scikit-learn model.
Each throughput is measured in a fresh process (which also reports its peak memory); the three are
run in turn, twice, and the faster of each pair is kept, so both sides see the same machine load.
One-sentence wall time is the median of 5 fresh `stance-predict --text` processes (for (a), a
fresh process doing the plain imports, load and one sentence). Sentences are drawn with a fixed
seed from data/prepare/sentences.jsonl, one article, default target.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Kyiv rejected the claim as a fabrication, the foreign ministry said."
PAIR_MAX_LENGTH = 128  # the pair length (a) uses


def sample(n: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in open(ROOT / "data/prepare/sentences.jsonl", encoding="utf-8")]
    rng = random.Random(0)
    return [rng.choice(texts) for _ in range(n)]


def plain(texts: list[str], folder: Path) -> float:
    """(a): AutoModel + heads, batches of 64 in input order, fp32. Returns sentences/s."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from pipeline.core.config import TASKS, params
    from pipeline.inference import make_rows
    from pipeline.models.checks import read_transformer_meta
    from pipeline.models.pair_inputs import pair_inputs

    meta = read_transformer_meta(folder)
    tokenizer, encoder = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    heads = {t: torch.nn.Linear(encoder.config.hidden_size, len(meta["labels"][t])) for t in TASKS}
    state = load_file(folder / "heads.safetensors")
    for task, head in heads.items():
        head.load_state_dict({"weight": state[f"{task}.weight"], "bias": state[f"{task}.bias"]})
    started = time.perf_counter()
    rows = make_rows(texts, params("predict")["target"], meta["context_sentences"])
    first, second = pair_inputs(rows, tokenizer.sep_token, meta["actors"])
    with torch.inference_mode():
        for i in range(0, len(rows), 64):
            batch = tokenizer(first[i:i + 64], second[i:i + 64], truncation="only_second", max_length=PAIR_MAX_LENGTH,
                              padding=True, return_tensors="pt")
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            [torch.softmax(head(pooled), -1) for head in heads.values()]
    return len(rows) / (time.perf_counter() - started)


def default(texts: list[str], folder: Path, device: str) -> float:
    """(b) and (c): the command's path (load_model, label_stream). Returns sentences/s."""
    from pipeline.core.config import params
    from pipeline.api import batch_size_for
    from pipeline.inference import label_stream
    from pipeline.models import load_model

    model = load_model(folder, device)
    cfg = params("predict")
    started = time.perf_counter()
    count = sum(1 for _ in label_stream(model, texts, cfg["target"], None, batch_size_for(model), cfg["chunk_size"]))
    return count / (time.perf_counter() - started)


def child(kind: str, n: int, device: str) -> None:
    """One measurement in this (fresh) process: prints sentences/s and peak memory as JSON."""
    sys.path.insert(0, str(ROOT))
    texts = sample(n)
    folder = ROOT / "models" / ("baseline" if kind == "baseline" else "transformer")
    speed = plain(texts, folder) if kind == "plain" else default(texts, folder, device)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"sentences_per_s": round(speed, 1), "peak_memory_mb": round(peak)}))


def measure(kind: str, n: int, device: str = "auto") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--sentences", str(n), "--device", device],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def one_sentence(command: list[str]) -> float:
    """Median wall seconds of 5 fresh processes labelling one sentence."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/predict.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.sentences, args.device)
    predict = [str(Path(sys.executable).parent / "stance-predict"), "--text", TEXT]
    runs = {kind: max((measure(kind, args.sentences) for _ in range(2)), key=lambda r: r["sentences_per_s"])
            for kind in ("plain", "default", "baseline")}
    runs["plain"]["one_sentence_s"] = one_sentence([sys.executable, __file__, "--child", "plain", "--sentences", "1"])
    runs["default"]["one_sentence_s"] = one_sentence(predict)
    runs["baseline"]["one_sentence_s"] = one_sentence(predict + ["--model", "baseline"])
    if os.path.exists("/proc/driver/nvidia/version"):
        runs["default_gpu"] = measure("default", args.sentences, "cuda")
    results = {"sentences": args.sentences, "cpu_count": os.cpu_count(), "machine": platform.machine(),
               "cpu": cpu_name(), "python": platform.python_version(), "runs": runs,
               "default_over_plain": round(runs["default"]["sentences_per_s"] / runs["plain"]["sentences_per_s"], 2)}
    print(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def cpu_name() -> str:
    """The CPU model and its vector extensions (int8 and bf16 speed depend on them)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return f"{name} ({', '.join(f for f in ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16') if f in flags)})"


if __name__ == "__main__":
    main()
