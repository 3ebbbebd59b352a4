"""The transformer tagger: the network (pipeline/models/network.py), its tokenizer and input format.

A saved folder is a Hugging Face checkpoint of the fine-tuned encoder (`config.json`,
`model.safetensors`: `AutoModel.from_pretrained(folder)` loads it with no missing weights), its
tokenizer, `heads.safetensors` (the three task heads), `model.onnx` (the whole tagger, for the
CPU path) and `model.json` (label lists, input format, actor table, context width, stance
decoding, and the SHA-256 of every file prediction reads, model.json's own fields included:
pipeline/models/manifest.py). Prediction reads nothing else.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from pipeline.core.config import TASKS
from pipeline.models.checks import read_sides, read_transformer_meta
from pipeline.models.manifest import corrupt, first_line, verified_only, write_model_json
from pipeline.models.pair_inputs import fit_sentences, pair_inputs
from pipeline.models.onnx_export import export
from pipeline.models.network import MultiTaskNet, tagger_net
from pipeline.models.packing import pack_rows, predict_packed
from pipeline.models.shapes import check_heads, check_packed_context, check_tokens

log = logging.getLogger(__name__)


class TransformerModel:
    """Tokenizer + network + input format: everything prediction needs, in one object."""

    name = "transformer"

    def __init__(self, net: MultiTaskNet, tokenizer, labels: dict, input_format: dict, device: str = "cpu",
                 sides: dict | None = None, actors: dict | None = None, context_sentences: int = 1):
        self.net, self.tokenizer, self.labels, self.input_format = net, tokenizer, labels, input_format
        self.device, self.actors, self.context_sentences = device, actors, context_sentences
        self.sides = sides  # stance decoding by speaker side (pipeline/models/side_decoding.py), or None
        self.special_tokens = tokenizer.num_special_tokens_to_add(pair=True)
        self.packed = input_format.get("format") == "packed"  # else one sentence-target-context pair an input
        if self.packed:
            check_packed_context(context_sentences)
        # MPNet-style encoders have no token types; packs also carry position ids and `pool`.
        self.input_names = [*tokenizer.model_input_names, *(("position_ids", "pool") if self.packed else ())]

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
        fmt = self.input_format
        return pack_rows(rows, lambda texts: tok(texts, add_special_tokens=False)["input_ids"], tok.cls_token_id,
                         tok.sep_token_id, fmt["max_length"], fmt["pack_length"], self.actors)

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
            return predict_packed(*self.pack(rows), self.labels, batch_size, self.tokenizer.pad_token_id, self.run)
        encoded, cut = self.encode(rows, padding=True, return_tensors="np")
        return self.run(dict(encoded)) | {"truncated": np.array(cut, dtype=bool)}


def input_format(max_length: int, tokenizer, packed: bool, pack_length: int | None = None,
                 context_layer: int | None = None) -> dict:
    """How rows become model input (packs of segments with their attention channels, each sentence
    read from the mean of its own tokens, or one pair a row: TransformerModel.pack and encode);
    saved beside the weights."""
    fmt = {"format": "packed" if packed else "pair", "max_length": max_length, "truncation": "only_second",
           "sep": tokenizer.sep_token or "|", "pad": tokenizer.pad_token, "cls": tokenizer.cls_token}
    if packed:
        fmt |= {"attention": "block", "pool": "own", "pack_length": max(pack_length or max_length, max_length),
                "context_layer": context_layer}
    return fmt


def save(model: TransformerModel, folder: Path, params: dict) -> None:
    """The encoder as a Hugging Face checkpoint, the tokenizer, the heads, the whole tagger as ONNX
    (the CPU prediction path, pipeline/models/transformer_onnx.py) and model.json, which holds the
    SHA-256 of every other file and of its own fields (pipeline/models/manifest.py)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.net.encoder.save_pretrained(folder)
    heads = {k: v.detach().cpu().contiguous() for k, v in model.net.heads.state_dict().items()}
    save_file(heads, folder / "heads.safetensors")
    export(model, folder / "model.onnx")
    written = [Path(p).name for p in model.tokenizer.save_pretrained(folder)]
    meta = {"model": "transformer", "labels": model.labels, "input_format": model.input_format,
            "actors": model.actors, "context_sentences": model.context_sentences, "sides": model.sides,
            "params": params}
    write_model_json(folder, meta, [*written, "config.json", "model.safetensors", "heads.safetensors", "model.onnx"])


def load(folder: Path, device: str | None = None) -> TransformerModel:
    """A saved transformer, checked before use: model.json's fields and seal, the SHA-256 of every
    file it reads (Hugging Face sees only those), its tokens and heads against model.json; any
    damage is one UserError naming the file."""
    folder = Path(folder)
    meta = read_transformer_meta(folder, "model.safetensors")
    fmt, labels = meta["input_format"], meta["labels"]
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on a command's stderr
    with verified_only(folder, [name for name in meta["files"] if name != "model.onnx"]) as checked:
        try:
            tokenizer = AutoTokenizer.from_pretrained(checked, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as err:
            raise corrupt(folder / "tokenizer.json", f"cannot be loaded ({first_line(err)})") from None
        try:
            encoder, info = AutoModel.from_pretrained(checked, local_files_only=True, output_loading_info=True,
                                                      attn_implementation="sdpa")
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError, json.JSONDecodeError) as err:
            raise corrupt(folder / "model.safetensors", f"cannot be loaded ({first_line(err)})") from None
    wrong = [name for kind in ("missing_keys", "unexpected_keys", "mismatched_keys") for name in info.get(kind, [])]
    if wrong:
        raise corrupt(folder / "model.safetensors", f"weights do not match config.json (first: {wrong[0]})")
    check_tokens(fmt, tokenizer.get_vocab().get, folder / "model.json",
                 {"cls": tokenizer.cls_token, "sep": tokenizer.sep_token, "pad": tokenizer.pad_token})
    try:
        net = tagger_net(encoder, labels, fmt)
    except ValueError as err:
        raise corrupt(folder / "model.json", str(err)) from None
    try:
        heads = load_file(folder / "heads.safetensors")
    except (OSError, RuntimeError, SafetensorError) as err:
        raise corrupt(folder / "heads.safetensors", f"cannot be loaded ({first_line(err)})") from None
    check_heads(heads, labels, encoder.config.hidden_size, folder / "heads.safetensors")
    net.heads.load_state_dict(heads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return TransformerModel(net.to(device).eval(), tokenizer, labels, fmt, device, read_sides(meta, folder / "model.json"),
                            meta["actors"], meta["context_sentences"])
