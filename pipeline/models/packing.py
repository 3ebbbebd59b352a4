"""Article packing: consecutive sentences of one article in one encoder input (issue 15).

    [CLS] target [SEP] context [SEP] sentence [SEP] next sentence [SEP] ...   (up to max_length)

A pair input (pipeline/models/inputs.py) spends two thirds of its tokens on the target and the
previous sentence, which every sentence of an article repeats. A pack encodes the target and its
first sentence's context once, then each following sentence once: its context, the sentence
before, is already in the pack. Each sentence's labels come from the mean of its own tokens
(`pool`), so one pass labels every sentence of the pack.

With block attention (the default) a token sees only what a pair would show it: the target, its
own sentence and the sentence before (`visible`); the target sees only itself. With full
attention every token sees the whole pack. Used alike by training, the PyTorch model and the ONNX
Runtime path: both tokenizers give the same ids from the same tokenizer.json.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from pipeline.models.inputs import SECOND_MIN, fields

# Tokens of the target and of the first sentence's context kept in a pack's prefix: every target we
# have is under 30 tokens and 90% of contexts under 50; a long sentence shortens the context first,
# then the target (down to SECOND_MIN), then itself, as a pair does.
TARGET_MAX = 32
CONTEXT_MAX = 48
# Token types as in a pair, where the sentence is segment 0 and the target and context segment 1:
# [CLS] and the sentences 0 (the only type all-MiniLM-L6-v2 was tuned with), the prefix 1.
PREFIX, SENTENCES = 1, 0
# Token groups: [CLS] target [SEP] is 0, the first sentence's context 1, the k-th sentence k + 2;
# under block attention group g sees groups 0, g - 1 and g.
TARGET, CONTEXT = 0, 1


def runs(rows: list[dict]) -> list[list[int]]:
    """Row indices in runs of consecutive sentences of one article: a row continues the run when it
    has the previous row's target (and article, where rows name one) and its context ends with
    the previous row's sentence (contexts are built so: pipeline/data/context.py)."""
    out: list[list[int]] = []
    for i, row in enumerate(rows):
        prev = rows[i - 1] if i else None
        if prev is not None and prev["target"] == row["target"] and prev.get("article_id") == row.get("article_id") \
                and row["context"].endswith(prev["text"]):
            out[-1].append(i)
        else:
            out.append([i])
    return out


def start(target: list[int], context: list[int], sentence: list[int], cls: int, sep: int,
          max_length: int) -> tuple[dict, bool]:
    """A new pack holding one sentence, shortened to fit as described above; whether it was cut."""
    room = max_length - 4  # [CLS], and [SEP] after the target, the context and the sentence
    target, context = target[:TARGET_MAX], context[:CONTEXT_MAX]
    context = context[:max(0, room - len(sentence) - len(target))]
    target = target[:max(min(SECOND_MIN, len(target)), room - len(sentence))]
    kept = sentence[:room - len(target) - len(context)]
    ids = [cls, *target, sep, *context, sep]
    pack = {"ids": ids, "types": [SENTENCES] + [PREFIX] * (len(ids) - 1), "spans": [], "rows": [],
            "groups": [TARGET] * (len(target) + 2) + [CONTEXT] * (len(context) + 1)}
    add(pack, kept, sep)
    return pack, len(kept) < len(sentence)


def add(pack: dict, sentence: list[int], sep: int) -> None:
    begin = len(pack["ids"])
    pack["ids"] += [*sentence, sep]
    pack["types"] += [SENTENCES] * (len(sentence) + 1)
    pack["groups"] += [len(pack["spans"]) + 2] * (len(sentence) + 1)
    pack["spans"].append((begin, begin + len(sentence)))


def visible(groups: list[int], block: bool) -> np.ndarray:
    """Which tokens each token attends to (query x key): under block attention, the target, its
    own group and the group before (the sentence before, or the first sentence's context)."""
    g = np.asarray(groups)
    if not block:
        return np.ones((len(g), len(g)), dtype=bool)
    return (g[None, :] == TARGET) | (g[None, :] == g[:, None]) | (g[None, :] == g[:, None] - 1)


def pack_rows(rows: list[dict], ids: Callable[[list[str]], list[list[int]]], cls: int, sep: int,
              max_length: int, actors: dict | None) -> tuple[list[dict], list[bool]]:
    """The rows in packs (each pack's `rows`: the row indices of its sentences, in order), and per
    row whether its sentence was cut to fit. `ids(texts)` tokenises without special tokens."""
    cols = fields(rows, actors)
    text = ids(cols["text"])
    # A context that is the sentence before (the default, one sentence of context) reuses its ids.
    own = [i for i, c in enumerate(cols["context"]) if i == 0 or c != cols["text"][i - 1]]
    context = dict(zip(own, ids([cols["context"][i] for i in own])))
    targets = {t: tokens for t, tokens in zip(dict.fromkeys(cols["target"]), ids(list(dict.fromkeys(cols["target"]))))}
    packs, cut = [], [False] * len(rows)
    for run in runs(rows):
        pack = None
        for i in run:
            if pack is not None and len(pack["ids"]) + len(text[i]) + 1 <= max_length:
                add(pack, text[i], sep)
            else:
                pack, cut[i] = start(targets[cols["target"][i]], context[i] if i in context else text[i - 1],
                                     text[i], cls, sep, max_length)
                packs.append(pack)
            pack["rows"].append(i)
    return packs, cut


def unpadded(pack: dict, fmt: dict) -> dict[str, np.ndarray]:
    """One pack's model inputs in input format `fmt`: ids, token types, `attention_mask` (query x
    key, see `visible`) and `pool` (sentence x pooled vector x token, see `pool`)."""
    return {"input_ids": np.asarray(pack["ids"], dtype=np.int64),
            "token_type_ids": np.asarray(pack["types"], dtype=np.int64),
            "attention_mask": visible(pack["groups"], fmt["attention"] == "block"),
            "pool": pool(pack, pooled(fmt))}


def arrays(packs: list[dict], pad: int, fmt: dict) -> dict[str, np.ndarray]:
    """Padded model inputs of some packs (see `unpadded`): `attention_mask` is pack x 1 x query x
    key, where a padding token sees itself only, so no row of the softmax is empty."""
    length, most = max(len(p["ids"]) for p in packs), max(len(p["spans"]) for p in packs)
    out = {"input_ids": np.full((len(packs), length), pad, dtype=np.int64),
           "attention_mask": np.broadcast_to(np.eye(length, dtype=bool), (len(packs), 1, length, length)).copy(),
           "token_type_ids": np.zeros((len(packs), length), dtype=np.int64),
           "pool": np.zeros((len(packs), most, pooled(fmt), length), dtype=np.float32)}
    for b, pack in enumerate(packs):
        one, n, k = unpadded(pack, fmt), len(pack["ids"]), len(pack["spans"])
        out["input_ids"][b, :n], out["token_type_ids"][b, :n] = one["input_ids"], one["token_type_ids"]
        out["attention_mask"][b, 0, :n, :n], out["pool"][b, :k, :, :n] = one["attention_mask"], one["pool"]
    return out


def pooled(fmt: dict) -> int:
    """Vectors a sentence's labels are read from: its own mean, and with `pool: own+context` also
    the mean of the sentence before it (or of the first sentence's context)."""
    return 2 if fmt.get("format") == "packed" and fmt.get("pool") == "own+context" else 1


def pool(pack: dict, vectors: int) -> np.ndarray:
    """Sentence x vector x token weights: each sentence's own tokens averaged, then (vectors 2) the
    group before it. (Averaging all a sentence sees under block attention, as a pair's mean does,
    lost 0.09 speaker macro-F1 on the CV.)"""
    weights = np.zeros((len(pack["spans"]), vectors, len(pack["ids"])), dtype=np.float32)
    groups = np.asarray(pack["groups"])
    for s, (begin, end) in enumerate(pack["spans"]):
        weights[s, 0, begin:end] = 1.0 / max(end - begin, 1)
        if vectors == 2:
            before = groups == s + 1  # the group before sentence s (group s + 2), with its [SEP]
            weights[s, 1] = before / max(before.sum(), 1)
    return weights


def batches(packs: list[dict], per_batch: int) -> list[list[int]]:
    """Pack indices in batches of `per_batch` packs of similar length (little padding)."""
    order = sorted(range(len(packs)), key=lambda p: len(packs[p]["ids"]))
    return [order[i:i + per_batch] for i in range(0, len(order), per_batch)]


def scatter(packs: list[dict], batch: list[int], probs: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> None:
    """Copy a batch's per-sentence probabilities (pack x sentence x label) to their rows in `out`."""
    for b, p in enumerate(batch):
        for s, row in enumerate(packs[p]["rows"]):
            for task, values in probs.items():
                out[task][row] = values[b, s]


def last_start(packs: list[dict]) -> int:
    """Index of the first row of the last pack (a stream cut into chunks relabels from there, so
    every sentence gets the same pack as in one chunk)."""
    return packs[-1]["rows"][0] if packs else 0


def predict_packed(packs: list[dict], cut: list[bool], labels: dict, batch_size: int, pad: int, fmt: dict,
                   run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Probabilities per task for every row (in input order) of the packed rows, about
    `batch_size` sentences a forward pass; `run(arrays)` gives a batch's per-sentence
    probabilities. Also `truncated` per row and `last_start` (see last_start)."""
    out = {task: np.zeros((len(cut), len(names)), dtype=np.float32) for task, names in labels.items()}
    per_batch = max(1, round(batch_size * len(packs) / max(len(cut), 1)))
    for batch in batches(packs, per_batch):
        scatter(packs, batch, run(arrays([packs[p] for p in batch], pad, fmt)), out)
    return out | {"truncated": np.array(cut, dtype=bool), "last_start": last_start(packs)}
