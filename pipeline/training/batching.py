"""Training inputs for the transformer: tokenised pairs, cached frozen states, length-grouped batches."""
from __future__ import annotations

import random

import torch
from tqdm.auto import tqdm

from pipeline.models.packing import unpadded
from pipeline.models.transformer import TransformerModel
from pipeline.training import distributed as dist


def inputs(rows: list[dict], model: TransformerModel) -> tuple[list[str], list[dict], list[list[int]]]:
    """Model inputs of the rows: cache keys, unpadded inputs (token ids, token types and, for packs,
    `pool`) and the rows each input labels (one row a pair; a pack's sentences)."""
    if model.packed:
        packs, _ = model.pack(rows)
        items = [{k: torch.from_numpy(v) for k, v in unpadded(pack, model.input_format).items()} for pack in packs]
        return (["+".join(rows[i]["uid"] for i in pack["rows"]) for pack in packs],
                [{k: v for k, v in item.items() if k in model.input_names} for item in items], [p["rows"] for p in packs])
    encoded = model.encode(rows)[0]
    items = [{k: torch.tensor(encoded[k][i]) for k in encoded} for i in range(len(rows))]
    for item in items:
        item["attention_mask"] = torch.ones(len(item["input_ids"]), dtype=torch.long)
    return [r["uid"] for r in rows], items, [[i] for i in range(len(rows))]


def features(rows: list[dict], model: TransformerModel, freeze_layers: int, cache: dict) -> tuple[list[dict], list[list[int]]]:
    """Per-input features: the states after the frozen layers (computed once per input and shared
    by every fold, since frozen layers never change), or token ids for other encoders; and the
    rows each input labels. Folds hold whole articles, so every fold's packs are the same."""
    frozen = freeze_layers if model.net.layers() is not None else 0
    keys, items, members = inputs(rows, model)
    todo = [i for i, key in enumerate(keys) if key not in cache]
    if todo:
        cache_states([keys[i] for i in todo], [items[i] for i in todo], model, frozen, cache)
    return [cache[key] for key in keys], members


def cache_states(keys: list[str], items: list[dict], model: TransformerModel, frozen: int, cache: dict) -> None:
    """Fill the cache, in batches of inputs of similar length (little padding to run through the
    frozen layers)."""
    lengths = [len(item["input_ids"]) for item in items]
    order = sorted(range(len(items)), key=lengths.__getitem__)
    for start in tqdm(range(0, len(items), 64), desc="encode", unit="batch", leave=False, disable=not dist.is_main()):
        idx = order[start:start + 64]
        batch = {k: v.to(model.device) for k, v in collate([items[i] for i in idx]).items() if k != "pool"}
        states = model.net.frozen_states(batch, frozen).cpu() if frozen else None
        for j, i in enumerate(idx):
            kept = {k: v for k, v in items[i].items() if k in ("attention_mask", "pool")}
            cache[keys[i]] = dict(kept, hidden_states=states[j, :lengths[i]].clone()) if frozen else items[i]


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest input (dynamic padding); `pool` to its most sentences and
    tokens, a pack's attention mask (query x key) to batch x 1 x query x key with each padding
    token seeing itself (no empty softmax row), labels (`y_<task>`) with -100, which the loss ignores."""
    pad = torch.nn.utils.rnn.pad_sequence
    out = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if key == "attention_mask" and values[0].dim() == 2:
            length = max(v.shape[0] for v in values)
            block = torch.eye(length, dtype=torch.bool).repeat(len(values), 1, 1, 1)
            for b, v in enumerate(values):
                block[b, 0, :v.shape[0], :v.shape[0]] = v
            out[key] = block
        elif key == "pool":
            block = torch.zeros(len(values), max(v.shape[0] for v in values), values[0].shape[1],
                                max(v.shape[2] for v in values))
            for b, v in enumerate(values):
                block[b, :v.shape[0], :, :v.shape[2]] = v
            out[key] = block
        else:
            out[key] = pad(values, batch_first=True, padding_value=-100 if key.startswith("y_") else 0)
    return out


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
