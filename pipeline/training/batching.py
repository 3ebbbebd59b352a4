"""Training inputs for the transformer: tokenised pairs, cached frozen states, length-grouped batches."""
from __future__ import annotations

import random

import torch
from tqdm.auto import tqdm
from transformers import DataCollatorWithPadding

from pipeline.models.transformer import TransformerModel
from pipeline.training import distributed as dist


def features(rows: list[dict], model: TransformerModel, freeze_layers: int, cache: dict) -> list[dict]:
    """Per-row inputs: the states after the frozen layers (computed once per sentence and
    shared by every fold, since frozen layers never change), or token ids for other encoders."""
    frozen = freeze_layers if model.net.layers() is not None else 0
    todo = [r for r in rows if r["uid"] not in cache]
    if todo:
        cache_states(todo, model, frozen, cache)
    return [cache[r["uid"]] for r in rows]


def cache_states(todo: list[dict], model: TransformerModel, frozen: int, cache: dict) -> None:
    """Fill the cache for `todo`, in batches of rows of similar length (little padding to run
    through the frozen layers)."""
    encoded = model.encode(todo)[0]
    items = [{k: encoded[k][i] for k in encoded} for i in range(len(todo))]
    pad = DataCollatorWithPadding(model.tokenizer)
    lengths = [len(item["input_ids"]) for item in items]
    order = sorted(range(len(todo)), key=lengths.__getitem__)
    for start in tqdm(range(0, len(todo), 64), desc="encode", unit="batch", leave=False, disable=not dist.is_main()):
        idx = order[start:start + 64]
        chunk = [items[i] for i in idx]
        batch = {k: v.to(model.device) for k, v in pad(chunk).items()}
        states = model.net.frozen_states(batch, frozen).cpu() if frozen else None
        for j, (i, item) in enumerate(zip(idx, chunk)):
            feats = {"hidden_states": states[j, :lengths[i]].clone()} if frozen else {
                k: torch.tensor(v) for k, v in item.items()}
            cache[todo[i]["uid"]] = dict(feats, attention_mask=torch.ones(lengths[i], dtype=torch.long))


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest row (dynamic padding)."""
    pad = torch.nn.utils.rnn.pad_sequence
    return {k: pad([item[k] for item in items], batch_first=True) for k in items[0]}


def batches(lengths: list[int], size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), the same on every process."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = size * 20
    sorted_chunks = [sorted(order[i:i + chunk], key=lengths.__getitem__) for i in range(0, len(order), chunk)]
    out = [c[i:i + size] for c in sorted_chunks for i in range(0, len(c), size)]
    rng.shuffle(out)
    rank, world = dist.world()
    out = out[: len(out) - len(out) % world] if world > 1 else out
    return out[rank::world]
