"""Packs: the sentences of one target share one encoder input, each labelled as if it were alone.

    [CLS] target [SEP] | sentence [SEP] | sentence [SEP] | ...

The target prefix is encoded once a pack and every sentence once, as a *segment* whose position
ids restart after the prefix. In every encoder layer but one a segment attends only to the prefix
and itself, so its states there are a function of the target and the sentence alone; in the
`context_layer` a sentence also attends to its context segment (the sentence before it, as the
layer below left it). A sentence's labels, read from the mean of its own tokens (`pool`), are
therefore a function of the target, its context sentence and itself only: the same whatever else
is in the pack, the batch or the chunk, and wherever it stands in the article. A sentence whose
context is not the segment before it (the first of a pack) gets its context as a segment of its
own, whose labels are not read.

Used alike by training, the PyTorch model and the ONNX Runtime path (both tokenizers give the
same ids from the same tokenizer.json); `pad` is the one collation of packs for both.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from pipeline.models.pair_inputs import SECOND_MIN, fields

# Tokens of the target kept in a prefix (every target we have is under 30 tokens). A sentence
# longer than the room the prefix leaves shortens the target first (down to SECOND_MIN; such a
# sentence gets a pack of its own), then loses its own tail; a context segment is cut to the room.
TARGET_MAX = 32
# Token types as in a pair, where the sentence is segment 0 and the target segment 1.
PREFIX, SENTENCES = 1, 0
PREFIX_GROUP = 0  # the token group of [CLS] target [SEP]; segment k is group k + 1
# Channels of a pack's attention mask: every layer but the context layer, and the context layer.
OWN, WITH_CONTEXT = 0, 1


def fit(target: list[int], sentence: list[int], max_length: int) -> tuple[list[int], list[int], bool]:
    """The target and sentence tokens a segment keeps within `max_length` positions ([CLS] target
    [SEP] sentence [SEP]), and whether the sentence was cut."""
    room = max_length - 3
    target = target[:TARGET_MAX]
    target = target[:max(min(SECOND_MIN, len(target)), room - len(sentence))]
    kept = sentence[:room - len(target)]
    return target, kept, len(kept) < len(sentence)


def new_pack(target: list[int], cls: int, sep: int) -> dict:
    ids = [cls, *target, sep]
    return {"ids": ids, "types": [SENTENCES] + [PREFIX] * (len(ids) - 1), "groups": [PREFIX_GROUP] * len(ids),
            "positions": list(range(len(ids))), "texts": [], "context": {}, "spans": [], "rows": [],
            "target": tuple(target)}


def add(pack: dict, text: str, tokens: list[int], sep: int) -> int:
    """Append one segment (type 0, positions from the prefix's end); returns its group."""
    group, prefix, size = len(pack["texts"]) + 1, len(pack["target"]) + 2, len(tokens) + 1
    pack["ids"] += [*tokens, sep]
    pack["types"] += [SENTENCES] * size
    pack["groups"] += [group] * size
    pack["positions"] += list(range(prefix, prefix + size))
    pack["texts"].append(text)
    return group


def pack_rows(rows: list[dict], ids: Callable[[list[str]], list[list[int]]], cls: int, sep: int,
              max_length: int, pack_length: int, actors: dict | None) -> tuple[list[dict], list[bool]]:
    """The rows in packs (each pack's `rows`: its labelled sentences' row indices, `spans` their
    tokens, `context` each sentence's context group), and per row whether its sentence was cut.
    A pack holds consecutive rows of one (kept) target, up to `pack_length` tokens. `ids(texts)`
    tokenises without special tokens."""
    if not rows:
        return [], []
    cols = fields(rows, actors)
    unique = list(dict.fromkeys(cols["text"] + cols["context"] + cols["target"]))
    tokens = dict(zip(unique, ids(unique)))
    packs, cut, pack = [], [False] * len(rows), None
    for i, (text, context) in enumerate(zip(cols["text"], cols["context"])):
        target, kept, cut[i] = fit(tokens[cols["target"][i]], tokens[text], max_length)
        before = tokens[context][:max_length - 3 - len(target)]
        same = pack is not None and pack["target"] == tuple(target)
        follows = same and pack["texts"][-1] == context
        need = len(kept) + 1 + (0 if follows else len(before) + 1)
        if not same or len(pack["ids"]) + need > pack_length:
            pack, follows = new_pack(target, cls, sep), False
            packs.append(pack)
        before_group = len(pack["texts"]) if follows else add(pack, context, before, sep)
        begin = len(pack["ids"])
        pack["context"][add(pack, text, kept, sep)] = before_group
        pack["spans"].append((begin, begin + len(kept)))
        pack["rows"].append(i)
    return packs, cut


def visible(groups: list[int], context: dict[int, int]) -> np.ndarray:
    """Which tokens each token attends to (channel x query x key): in every layer (OWN) the prefix
    and its own segment; in the context layer (WITH_CONTEXT) a labelled sentence also its context
    segment. The prefix sees only itself. The network turns it into additive masks
    (models/transformer.py)."""
    g = np.asarray(groups)
    own = (g[None, :] == PREFIX_GROUP) | (g[None, :] == g[:, None])
    before = np.asarray([context.get(int(q), -1) for q in g])
    return np.stack([own, own | (g[None, :] == before[:, None])])


def unpadded(pack: dict) -> dict[str, np.ndarray]:
    """One pack's model inputs: ids, token types, position ids, `attention_mask` (channel x query x
    key visibility, see `visible`) and `pool` (sentence x 1 x token: the mean of its own tokens)."""
    pool = np.zeros((len(pack["spans"]), 1, len(pack["ids"])), dtype=np.float32)
    for s, (begin, end) in enumerate(pack["spans"]):
        pool[s, 0, begin:end] = 1.0 / max(end - begin, 1)
    return {"input_ids": np.asarray(pack["ids"], dtype=np.int64),
            "token_type_ids": np.asarray(pack["types"], dtype=np.int64),
            "position_ids": np.asarray(pack["positions"], dtype=np.int64),
            "attention_mask": visible(pack["groups"], pack["context"]), "pool": pool}


def pad(items: list[dict[str, np.ndarray]], pad_id: int) -> dict[str, np.ndarray]:
    """Unpadded inputs of some packs (see `unpadded`; training's cached inputs may hold
    `hidden_states` instead of ids) padded to the longest: a padding token sees only itself (no
    empty softmax row) and pools into nothing. The one collation of packs, for training and prediction."""
    length = max(item["attention_mask"].shape[-1] for item in items)
    out = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if key == "attention_mask":
            block = np.broadcast_to(np.eye(length, dtype=bool), (len(items), 2, length, length)).copy()
            for b, v in enumerate(values):
                block[b, :, :v.shape[-1], :v.shape[-1]] = v
        elif key == "pool":
            block = np.zeros((len(items), max(len(v) for v in values), 1, length), dtype=np.float32)
            for b, v in enumerate(values):
                block[b, :v.shape[0], :, :v.shape[2]] = v
        else:
            block = np.full((len(items), length, *values[0].shape[1:]), pad_id if key == "input_ids" else 0,
                            dtype=values[0].dtype)
            for b, v in enumerate(values):
                block[b, :len(v)] = v
        out[key] = block
    return out


def predict_packed(packs: list[dict], cut: list[bool], labels: dict, batch_size: int, pad_id: int,
                   run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Probabilities per task for every row (in input order) of the packed rows, about `batch_size`
    sentences a forward pass, packs of similar length together; `run(arrays)` gives a batch's
    per-sentence probabilities (pack x sentence x label). Also `truncated` per row."""
    out = {task: np.zeros((len(cut), len(names)), dtype=np.float32) for task, names in labels.items()}
    per_batch = max(1, round(batch_size * len(packs) / max(len(cut), 1)))
    order = sorted(range(len(packs)), key=lambda p: len(packs[p]["ids"]))
    for start in range(0, len(order), per_batch):
        batch = [packs[p] for p in order[start:start + per_batch]]
        probs = run(pad([unpadded(pack) for pack in batch], pad_id))
        for b, pack in enumerate(batch):
            for s, row in enumerate(pack["rows"]):
                for task, values in probs.items():
                    out[task][row] = values[b, s]
    return out | {"truncated": np.array(cut, dtype=bool)}
