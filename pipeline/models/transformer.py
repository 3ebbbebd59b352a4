"""The transformer model: one shared encoder, one classification head per task.

A saved folder is a Hugging Face checkpoint of the fine-tuned encoder (`config.json`,
`model.safetensors`: `AutoModel.from_pretrained(folder)` loads it with no missing weights), its
tokenizer, `heads.safetensors` (the three task heads) and `model.json` (label lists, input format,
actor table, context width, stance decoding, and the SHA-256 of every small file). Prediction
reads nothing else.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer
from transformers.masking_utils import create_bidirectional_mask
from transformers.utils import logging as hf_logging

from pipeline.core.config import TASKS
from pipeline.models.files import corrupt, first_line, read_sides, read_transformer_meta, sha256
from pipeline.models.inputs import fit_sentences, pair_inputs
from pipeline.models.onnx_export import export
from pipeline.models.packing import pack_rows, pooled, predict_packed

log = logging.getLogger(__name__)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of token states over real tokens (all-MiniLM-L6-v2 was trained with mean pooling)."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class MultiTaskNet(nn.Module):
    def __init__(self, encoder: nn.Module, labels: dict[str, list[str]], dropout: float = 0.0, vectors: int = 1):
        """`vectors`: pooled vectors each head reads (packs with `pool: own+context`: 2)."""
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({task: nn.Linear(hidden * vectors, len(labels[task])) for task in TASKS})

    def layers(self):
        """The encoder's layer list for BERT encoders (run_layers calls them as BERT's encoder does),
        else None: other encoders (MPNet's layers need its relative position bias) get no
        frozen-state cache and run whole."""
        if getattr(self.encoder.config, "model_type", None) != "bert":
            return None
        return getattr(getattr(self.encoder, "encoder", None), "layer", None)

    def pooled_logits(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                      pool: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Logits per input (mean of its tokens), or with `pool` (packs, pipeline/models/packing.py:
        pack x sentence x vector x token) per packed sentence: pack x sentence x label."""
        if pool is None:
            pooled = mean_pool(hidden, attention_mask)
        else:
            pooled = torch.einsum("bsvt,bth->bsvh", pool.to(hidden.dtype), hidden).flatten(2)
        pooled = self.dropout(pooled)
        return {task: head(pooled) for task, head in self.heads.items()}

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None,
                hidden_states=None, start_layer: int = 0, pool=None) -> dict[str, torch.Tensor]:
        """Logits per task, from token ids, or from cached states after `start_layer` frozen layers."""
        if hidden_states is None:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.pooled_logits(self.encoder(**kwargs).last_hidden_state, attention_mask, pool)
        hidden = self.run_layers(hidden_states, attention_mask, start_layer, None)
        return self.pooled_logits(hidden, attention_mask, pool)

    def run_layers(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int | None):
        """Run encoder layers first..last-1 (BERT-style) on hidden states, as the encoder itself does."""
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
                 sides: dict | None = None, actors: dict | None = None, context_sentences: int = 1):
        self.net, self.tokenizer, self.labels, self.input_format = net, tokenizer, labels, input_format
        self.device, self.actors, self.context_sentences = device, actors, context_sentences
        self.sides = sides  # stance decoding by speaker side (pipeline/models/structure.py), or None
        self.special_tokens = tokenizer.num_special_tokens_to_add(pair=True)
        self.packed = input_format.get("format") == "packed"  # else one sentence-target-context pair an input
        self.input_names = [*tokenizer.model_input_names, "pool"]  # MPNet-style encoders have no token types

    def pieces(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Token offsets of each text, without special tokens (for fit_sentences)."""
        return self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]

    def encode(self, rows: list[dict], **kwargs):
        """Tokenised pairs of the rows, and per row whether its sentence's tail was cut to fit."""
        first, second = pair_inputs(rows, self.input_format["sep"], self.actors)
        first, cut = fit_sentences(self.pieces, self.special_tokens, first, second, self.input_format["max_length"])
        return self.tokenizer(first, second, truncation=self.input_format["truncation"],
                              max_length=self.input_format["max_length"], **kwargs), cut

    def pack(self, rows: list[dict]) -> tuple[list[dict], list[bool]]:
        """The rows in packs (pipeline/models/packing.py), and whether each sentence was cut."""
        tok = self.tokenizer
        return pack_rows(rows, lambda texts: tok(texts, add_special_tokens=False)["input_ids"], tok.cls_token_id,
                         tok.sep_token_id, self.input_format["max_length"], self.actors)

    @torch.inference_mode()
    def run(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Probabilities per task of one batch of model inputs."""
        self.net.eval()
        logits = self.net(**{k: torch.as_tensor(v).to(self.device) for k, v in arrays.items() if k in self.input_names})
        return {task: torch.softmax(logits[task].float(), -1).cpu().numpy() for task in TASKS}

    def predict_proba(self, rows: list[dict], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Probabilities per task, and `truncated`: whether each sentence was cut to fit max_length.
        A packed model packs and batches the rows itself (about `batch_size` sentences a pass)."""
        if self.packed:
            return predict_packed(*self.pack(rows), self.labels, batch_size, self.tokenizer.pad_token_id,
                                  self.input_format, self.run)
        encoded, cut = self.encode(rows, padding=True, return_tensors="np")
        return self.run(dict(encoded)) | {"truncated": np.array(cut, dtype=bool)}


def input_format(max_length: int, tokenizer, packed: bool, attention: str = "block", pool: str = "own") -> dict:
    """How rows become model input (packs, with block or full attention and the vectors pooled, or
    one pair a row: TransformerModel.pack and encode); saved beside the weights."""
    return {"format": "packed" if packed else "pair", "attention": attention, "pool": pool, "max_length": max_length,
            "truncation": "only_second", "sep": tokenizer.sep_token or "|", "pad": tokenizer.pad_token,
            "cls": tokenizer.cls_token}


def save(model: TransformerModel, folder: Path, params: dict) -> None:
    """The encoder as a Hugging Face checkpoint, the tokenizer, the heads, the whole tagger as ONNX
    (the CPU prediction path, pipeline/models/transformer_onnx.py) and model.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.net.encoder.save_pretrained(folder)
    heads = {k: v.detach().cpu().contiguous() for k, v in model.net.heads.state_dict().items()}
    save_file(heads, folder / "heads.safetensors")
    export(model, folder / "model.onnx")
    written = [Path(p).name for p in model.tokenizer.save_pretrained(folder)] + ["config.json", "heads.safetensors"]
    meta = {"model": "transformer", "labels": model.labels, "input_format": model.input_format,
            "actors": model.actors, "context_sentences": model.context_sentences, "sides": model.sides,
            "params": params, "files": {name: sha256(folder / name) for name in sorted(set(written))}}
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load(folder: Path, device: str | None = None) -> TransformerModel:
    """A saved transformer, its files checked before use; any damage is one UserError naming the file."""
    folder = Path(folder)
    meta = read_transformer_meta(folder)
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on a command's stderr
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        encoder, info = AutoModel.from_pretrained(folder, local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError, json.JSONDecodeError) as err:
        raise corrupt(folder / "model.safetensors", f"cannot be loaded ({first_line(err)})") from None
    wrong = [name for kind in ("missing_keys", "unexpected_keys", "mismatched_keys") for name in info.get(kind, [])]
    if wrong:
        raise corrupt(folder / "model.safetensors", f"weights do not match config.json (first: {wrong[0]})")
    net = MultiTaskNet(encoder, meta["labels"], vectors=pooled(meta["input_format"]))
    try:
        net.heads.load_state_dict(load_file(folder / "heads.safetensors"))
    except (OSError, RuntimeError, SafetensorError) as err:
        raise corrupt(folder / "heads.safetensors", f"cannot be loaded ({first_line(err)})") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return TransformerModel(net.to(device).eval(), tokenizer, meta["labels"], meta["input_format"], device,
                            read_sides(meta, folder / "model.json"), meta["actors"], meta["context_sentences"])
