"""The transformer tagger on the CPU with ONNX Runtime and `tokenizers`: what `stance-predict`,
`stance-evaluate` and the `unseen` stage load by default (no torch, transformers, scikit-learn or
pandas import, so a one-sentence run starts in about a second).

It reads the same folder as pipeline/models/transformer.py: `model.onnx` (exported with the
weights), `tokenizer.json` and `model.json`, and builds each pair exactly as the PyTorch model
does (pipeline/models/pair_inputs.py); a test checks that both give the same labels.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from pipeline.core.config import TASKS
from pipeline.models.checks import read_sides, read_transformer_meta
from pipeline.models.manifest import corrupt, first_line
from pipeline.models.pair_inputs import fit_sentences, pair_inputs
from pipeline.models.packing import pack_rows, predict_packed
from pipeline.models.shapes import check_graph, check_probe, check_tokens


class OnnxTagger:
    """model.onnx in an ONNX Runtime session, its tokenizer and input format."""

    name = "transformer"
    device = "cpu"

    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer, meta: dict, folder: Path):
        self.session, self.labels, self.input_format = session, meta["labels"], meta["input_format"]
        self.actors, self.context_sentences = meta["actors"], meta["context_sentences"]
        self.sides = read_sides(meta, folder / "model.json")
        self.plain = tokenizer  # no truncation or padding: token offsets for fit_sentences
        self.plain.no_truncation()
        self.plain.no_padding()
        self.pairs = Tokenizer.from_str(tokenizer.to_str())
        self.pairs.enable_truncation(self.input_format["max_length"], strategy="only_second")
        pad = self.input_format["pad"]
        self.pairs.enable_padding(pad_id=self.pairs.token_to_id(pad), pad_token=pad)
        self.inputs = [i.name for i in session.get_inputs()]
        self.special_tokens = tokenizer.post_processor.num_special_tokens_to_add(True)
        self.packed = self.input_format.get("format") == "packed"
        self.pad_id = self.pairs.token_to_id(pad)

    def pieces(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [e.offsets for e in self.plain.encode_batch(texts, add_special_tokens=False)]

    def encode(self, rows: list[dict]) -> tuple[dict[str, np.ndarray], list[bool]]:
        """Padded id arrays of the rows' pairs, and per row whether its sentence's tail was cut."""
        first, second = pair_inputs(rows, self.input_format["sep"], self.actors)
        first, cut = fit_sentences(self.pieces, self.special_tokens, first, second, self.input_format["max_length"])
        encoded = self.pairs.encode_batch(list(zip(first, second)))
        arrays = {"input_ids": [e.ids for e in encoded], "attention_mask": [e.attention_mask for e in encoded],
                  "token_type_ids": [e.type_ids for e in encoded]}
        return {name: np.asarray(arrays[name], dtype=np.int64) for name in self.inputs}, cut

    def pack(self, rows: list[dict]) -> tuple[list[dict], list[bool]]:
        """The rows in packs, as pipeline/models/transformer.py packs them."""
        fmt, ids = self.input_format, self.plain.token_to_id
        return pack_rows(rows, lambda texts: [e.ids for e in self.plain.encode_batch(texts, add_special_tokens=False)],
                         ids(fmt["cls"]), ids(fmt["sep"]), fmt["max_length"], fmt["pack_length"], self.actors)

    def run(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(TASKS, self.session.run(list(TASKS), {name: arrays[name] for name in self.inputs})))

    def predict_proba(self, rows: list[dict], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Probabilities per task, and `truncated`: whether each sentence was cut to fit max_length.
        A packed model packs and batches the rows itself (about `batch_size` sentences a pass)."""
        if self.packed:
            return predict_packed(*self.pack(rows), self.labels, batch_size, self.pad_id, self.run)
        feeds, cut = self.encode(rows)
        return self.run(feeds) | {"truncated": np.array(cut, dtype=bool)}


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no optimiser notes on a command's stderr
    options.intra_op_num_threads = int(os.environ.get("STANCE_THREADS", 0))  # 0: one per core
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load(folder: Path, device: str = "cpu") -> OnnxTagger:
    """The saved tagger, checked before use: model.json's fields and seal, the SHA-256 of every file
    it reads (model.onnx, tokenizer.json, config.json ...), the graph's inputs and outputs against
    model.json, and one run on a built-in example (pipeline/models/shapes.py)."""
    folder = Path(folder)
    meta = read_transformer_meta(folder, "model.onnx")
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as err:  # tokenizers raises its own exception types
        raise corrupt(folder / "tokenizer.json", f"cannot be loaded ({first_line(err)})") from None
    check_tokens(meta["input_format"], tokenizer.token_to_id, folder / "model.json")
    try:
        runner = session(folder / "model.onnx")
    except Exception as err:  # ONNX Runtime raises its own exception types
        raise corrupt(folder / "model.onnx", f"cannot be loaded ({first_line(err)})") from None
    check_graph(runner, meta["input_format"], meta["labels"], folder / "model.onnx")
    tagger = OnnxTagger(runner, tokenizer, meta, folder)
    check_probe(tagger, folder / "model.onnx")
    return tagger
