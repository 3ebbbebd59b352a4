"""Training inputs for the transformer: packs or pairs, cached frozen states, length-grouped batches."""
from __future__ import annotations

import random

import numpy as np
import torch
from tqdm.auto import tqdm

from pipeline.models.packing import pad, unpadded
from pipeline.models.transformer import TransformerModel


def inputs(rows: list[dict], model: TransformerModel) -> tuple[list[str], list[dict], list[list[int]]]:
    """Model inputs of the rows: cache keys, unpadded inputs (numpy arrays exactly as prediction
    builds them: pipeline/models/packing.py) and the rows each input labels (one row a pair; a
    pack's sentences)."""
    if model.packed:
        packs, _ = model.pack(rows)
        items = [{k: v for k, v in unpadded(pack).items() if k in model.input_names}
                 for pack in packs]
        return ["+".join(rows[i]["uid"] for i in pack["rows"]) for pack in packs], items, [p["rows"] for p in packs]
    encoded = model.encode(rows)[0]
    items = [{k: np.asarray(encoded[k][i], dtype=np.int64) for k in encoded} for i in range(len(rows))]
    for item in items:
        item["attention_mask"] = np.ones(len(item["input_ids"]), dtype=np.int64)
    return [r["uid"] for r in rows], items, [[i] for i in range(len(rows))]


def features(rows: list[dict], model: TransformerModel, freeze_layers: int, cache: dict) -> tuple[list[dict], list[list[int]]]:
    """Per-input features: the states after the frozen layers (computed once per input and shared
    by every fold, since frozen layers never change), or the inputs themselves for other
    encoders; and the rows each input labels."""
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
    for start in tqdm(range(0, len(items), 64), desc="encode", unit="batch", leave=False):
        idx = order[start:start + 64]
        batch = {k: v.to(model.device) for k, v in collate([items[i] for i in idx], model).items() if k != "pool"}
        states = model.net.frozen_states(batch, frozen).cpu().numpy() if frozen else None
        for j, i in enumerate(idx):
            kept = {k: v for k, v in items[i].items() if k in ("attention_mask", "pool")}
            cache[keys[i]] = dict(kept, hidden_states=states[j, :lengths[i]].copy()) if frozen else items[i]


def collate(items: list[dict], model: TransformerModel) -> dict[str, torch.Tensor]:
    """A batch as tensors, padded to its own longest input: packs by `packing.pad` (as prediction
    pads them), pairs to their longest with mask 0; labels (`y_<task>`, `q_<task>`) with -100 and 0,
    which the loss ignores."""
    inputs_ = [{k: v for k, v in item.items() if not k.startswith(("y_", "q_"))} for item in items]
    if model.packed:
        out = pad(inputs_, model.tokenizer.pad_token_id)
    else:
        out = {k: np.stack([np.pad(i[k], [(0, max(len(j[k]) for j in inputs_) - len(i[k]))] + [(0, 0)] * (i[k].ndim - 1),
                                   constant_values=model.tokenizer.pad_token_id if k == "input_ids" else 0)
                            for i in inputs_]) for k in inputs_[0]}
    tensors = {k: torch.from_numpy(v) for k, v in out.items()}
    for key in (k for k in items[0] if k.startswith(("y_", "q_"))):
        tensors[key] = torch.nn.utils.rnn.pad_sequence([torch.as_tensor(item[key]) for item in items], batch_first=True,
                                                       padding_value=-100 if key.startswith("y_") else 0)
    return tensors


def batches(lengths: list[int], size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding): every input in exactly one batch."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = size * 20
    sorted_chunks = [sorted(order[i:i + chunk], key=lengths.__getitem__) for i in range(0, len(order), chunk)]
    out = [c[i:i + size] for c in sorted_chunks for i in range(0, len(c), size)]
    rng.shuffle(out)
    return out
