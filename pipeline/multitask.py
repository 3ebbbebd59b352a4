"""The transformer model: one shared encoder, one classification head per task.

A saved model folder is self-describing: `model.safetensors` (encoder + heads), the encoder's
`config.json`, the tokenizer files, and `model.json` (label lists, input format, pooling).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from pipeline.config import TASKS
from pipeline.inputs import pair_inputs
from pipeline.model_files import check_manifest, corrupt, field, first_line, read_model_json, read_sides, sha256

log = logging.getLogger(__name__)
# Nothing may reach the network: every load is from a local folder.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
# Tokens of the second segment (target, then context) kept before a long sentence's own tail is
# cut: enough for the start of the target, which stance is read against.
SECOND_MIN = 16


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of token states over real tokens (all-MiniLM-L6-v2 was trained with mean pooling)."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class MultiTaskNet(nn.Module):
    def __init__(self, encoder: nn.Module, labels: dict[str, list[str]], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({task: nn.Linear(hidden, len(labels[task])) for task in TASKS})

    def layers(self):
        """The encoder's layer list for BERT encoders (run_layers calls them as BERT's encoder does),
        else None: other encoders (MPNet's layers need its relative position bias) get no
        frozen-state cache and run whole."""
        if getattr(self.encoder.config, "model_type", None) != "bert":
            return None
        return getattr(getattr(self.encoder, "encoder", None), "layer", None)

    def pooled_logits(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return {task: head(pooled) for task, head in self.heads.items()}

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None,
                hidden_states=None, start_layer: int = 0) -> dict[str, torch.Tensor]:
        """Logits per task, from token ids, or from cached states after `start_layer` frozen layers."""
        if hidden_states is None:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.pooled_logits(self.encoder(**kwargs).last_hidden_state, attention_mask)
        return self.pooled_logits(self.run_layers(hidden_states, attention_mask, start_layer, None), attention_mask)

    def run_layers(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int | None):
        """Run encoder layers first..last-1 (BERT-style) on hidden states, as the encoder itself does."""
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden_states,
                                         attention_mask=attention_mask)
        for layer in self.layers()[first:last]:
            out = layer(hidden_states, mask)
            hidden_states = out[0] if isinstance(out, tuple) else out
        return hidden_states

    @torch.no_grad()
    def frozen_states(self, batch: dict, n_layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the lowest n layers: computed once, reused every
        epoch. Only those layers run (not the whole encoder)."""
        self.encoder.eval()
        embedded = self.encoder.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
        return self.run_layers(embedded, batch["attention_mask"], 0, n_layers)


class TransformerModel:
    """Tokenizer + network + input format: everything prediction needs, in one object."""

    name = "transformer"

    def __init__(self, net: MultiTaskNet, tokenizer, labels: dict, input_format: dict, device: str = "cpu",
                 sides: dict | None = None):
        self.net, self.tokenizer, self.labels, self.input_format = net, tokenizer, labels, input_format
        self.device = device
        self.sides = sides  # stance decoding by speaker side (pipeline/structure.py), or None

    def encode(self, rows: list[dict]):
        """Padded tensors of the rows' pairs, and per row whether its sentence's tail was cut to fit."""
        return encode_pairs(self.tokenizer, rows, self.input_format, padding=True, return_tensors="pt")

    @torch.inference_mode()
    def predict_proba(self, rows: list[dict]) -> dict[str, np.ndarray]:
        """Probabilities per task, and `truncated`: whether each sentence was cut to fit max_length."""
        self.net.eval()
        encoded, cut = self.encode(rows)
        logits = self.net(**{k: v.to(self.device) for k, v in encoded.items()})
        out = {task: torch.softmax(logits[task].float(), -1).cpu().numpy() for task in TASKS}
        return out | {"truncated": np.array(cut, dtype=bool)}


def input_format(max_length: int, actors: bool) -> dict:
    """How a row becomes model input; saved beside the weights so prediction builds it the same way."""
    return {"first": "{text}", "second": "{target} {sep} {context}", "truncation": "only_second",
            "max_length": max_length, "pooling": "mean", "actors": actors}


def fit_sentences(tokenizer, first: list[str], second: list[str], max_length: int) -> tuple[list[str], list[bool]]:
    """Sentences cut at their tail only where the sentence alone leaves the second segment fewer
    than SECOND_MIN tokens (or fewer than it has); truncation then cuts the second segment (the
    context's tail, then the target's) to fit. Returns the sentences and which ones were cut."""
    room = max_length - tokenizer.num_special_tokens_to_add(pair=True)
    firsts = tokenizer(first, add_special_tokens=False, return_offsets_mapping=True)
    out, cut = list(first), [False] * len(first)
    for i, offsets in enumerate(firsts["offset_mapping"]):
        if len(offsets) <= room - SECOND_MIN:
            continue
        keep = room - min(SECOND_MIN, len(tokenizer(second[i], add_special_tokens=False)["input_ids"]))
        while len(offsets) > keep:
            out[i], cut[i] = out[i][:offsets[keep - 1][1]], True
            # A word cut mid-way can re-tokenise into more pieces: re-check until it fits.
            offsets = tokenizer(out[i], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return out, cut


def encode_pairs(tokenizer, rows: list[dict], fmt: dict, **kwargs):
    """Tokenise rows as sentence pairs: the one tokenisation for training, evaluation and prediction.
    Returns the encoding and, per row, whether its sentence was cut to fit (see fit_sentences)."""
    first, second = pair_inputs(rows, tokenizer.sep_token or "|", fmt["actors"])
    first, cut = fit_sentences(tokenizer, first, second, fmt["max_length"])
    return tokenizer(first, second, truncation=fmt["truncation"], max_length=fmt["max_length"], **kwargs), cut


def save(model: TransformerModel, folder: Path, params: dict) -> None:
    """Weights, encoder config, tokenizer and model.json (labels, input format and the SHA-256 of
    every file prediction reads besides the weights, checked at load)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    save_file(state, folder / "model.safetensors")
    model.net.encoder.config.save_pretrained(folder)
    written = [Path(p).name for p in model.tokenizer.save_pretrained(folder)] + ["config.json"]
    meta = {"model": "transformer", "labels": model.labels, "input_format": model.input_format,
            "dropout": model.net.dropout.p, "params": params, "sides": model.sides,
            "files": {name: sha256(folder / name) for name in sorted(written)}}
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load(folder: Path, device: str | None = None) -> TransformerModel:
    """A saved transformer, its files checked before use; any damage is one UserError naming the file."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = Path(folder)
    meta = read_model_json(folder, "transformer")
    path = folder / "model.json"
    fmt = field(meta, path, "input_format", dict)
    for name, kind in (("max_length", int), ("actors", bool), ("truncation", str)):
        field(fmt, path, name, kind)
    if fmt["truncation"] != "only_second" or fmt["max_length"] < 2 * SECOND_MIN:
        raise corrupt(path, f"input_format has truncation {fmt['truncation']!r} and max_length {fmt['max_length']}; "
                            f"expected 'only_second' and at least {2 * SECOND_MIN}")
    dropout = field(meta, path, "dropout", (int, float))
    check_manifest(folder, meta.get("files"))
    weights = folder / "model.safetensors"
    try:
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))
        net = MultiTaskNet(encoder, meta["labels"], dropout)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as err:
        raise corrupt(folder, f"cannot be loaded ({first_line(err)})") from None
    try:
        net.load_state_dict(load_file(weights))
    except (OSError, RuntimeError, SafetensorError) as err:
        raise corrupt(weights, f"cannot be loaded ({first_line(err)})") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return TransformerModel(net.to(device).eval(), tokenizer, meta["labels"], meta["input_format"], device,
                            read_sides(meta, path))
