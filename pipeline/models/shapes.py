"""What a transformer's model.json says about its inputs and outputs, checked at load against
itself, config.json, the tokenizer and the weights, so that a model whose parts disagree is one
line naming the file before the first sentence, not a crash at the first batch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.core.config import TASKS
from pipeline.core.errors import UserError
from pipeline.core.textio import read_text
from pipeline.models.manifest import corrupt, first_line
from pipeline.models.pair_inputs import SECOND_MIN

# Longest pack: attention over a pack grows with the square of its length; the project packs 256.
MAX_PACK = 4096
# Encoders that number positions from the padding id + 1 (RoBERTa-style): that many fewer usable positions.
POSITION_OFFSET = {"roberta": 2, "xlm-roberta": 2, "camembert": 2, "mpnet": 2}
# Rows an ONNX graph is run on at load: two sentences of one article (one pack, or two pairs).
PROBE = [{"text": "Kyiv denied it.", "context": "(start of article)", "target": "Moscow said Kyiv did it."},
         {"text": "Moscow repeated the claim.", "context": "Kyiv denied it.", "target": "Moscow said Kyiv did it."}]


# A packed sentence's context is the one segment before it (pipeline/models/packing.py): packs read
# no more than one sentence of context.
MAX_PACKED_CONTEXT = 1


def check_packed_context(context_sentences: int) -> None:
    """Refuse a context width packs cannot give (one line naming the params to change)."""
    if context_sentences > MAX_PACKED_CONTEXT:
        raise UserError(f"packed inputs read one sentence of context, not {context_sentences}: set "
                        "prepare.context_sentences to 0 or 1, or transformer.packed to false")


def whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_input_format(fmt: dict, path: Path) -> None:
    """Every field of model.json's `input_format` (see pipeline/models/transformer.py `input_format`)."""
    def bad(name: str, expected: str) -> Exception:
        return corrupt(path, f"input_format field {name!r} is {fmt.get(name)!r}; expected {expected}")

    kind = fmt.get("format")
    if kind not in ("packed", "pair"):
        raise bad("format", "'packed' or 'pair'")
    names = {"format", "max_length", "truncation", "sep", "pad", "cls"}
    names |= {"attention", "pool", "pack_length", "context_layer"} if kind == "packed" else set()
    wrong = sorted(set(fmt) ^ names)
    if wrong:
        raise corrupt(path, f"input_format field {wrong[0]!r} is {fmt.get(wrong[0])!r}; a {kind!r} format has "
                            f"exactly the fields {', '.join(sorted(names))}")
    length = fmt["max_length"]
    if not whole(length) or length < 2 * SECOND_MIN:
        raise bad("max_length", f"a whole number of at least {2 * SECOND_MIN}")
    if fmt["truncation"] != "only_second":
        raise bad("truncation", "'only_second'")
    for name in ("sep", "pad", "cls"):
        if not isinstance(fmt[name], str) or not fmt[name]:
            raise bad(name, "a token of the tokenizer's vocabulary")
    if kind == "packed":
        if fmt["attention"] != "block":
            raise bad("attention", "'block'")
        if fmt["pool"] != "own":
            raise bad("pool", "'own'")
        if not whole(fmt["pack_length"]) or not length <= fmt["pack_length"] <= MAX_PACK:
            raise bad("pack_length", f"a whole number from max_length ({length}) to {MAX_PACK}")
        if fmt["context_layer"] is not None and (not whole(fmt["context_layer"]) or fmt["context_layer"] < 1):
            raise bad("context_layer", "null or an encoder layer, from 1")


def check_config(folder: Path, fmt: dict) -> None:
    """The format fits the encoder (config.json, already checked against the manifest): max_length
    within its position embeddings, the context layer one of its layers."""
    path = Path(folder) / "config.json"
    try:
        config = json.loads(read_text(path))
    except (json.JSONDecodeError, RecursionError) as err:
        raise corrupt(path, f"not valid JSON ({first_line(err)})") from None
    config = config if isinstance(config, dict) else {}
    for name in ("max_position_embeddings", "num_hidden_layers"):
        if not whole(config.get(name)):
            raise corrupt(path, f"field {name!r} is {config.get(name)!r}; expected a whole number")
    usable = config["max_position_embeddings"] - POSITION_OFFSET.get(config.get("model_type"), 0)
    where = Path(folder) / "model.json"
    if fmt["max_length"] > usable:
        raise corrupt(where, f"input_format field 'max_length' is {fmt['max_length']}; expected at most {usable}, "
                             "the encoder's positions (config.json)")
    if (fmt.get("context_layer") or 0) > config["num_hidden_layers"]:
        raise corrupt(where, f"input_format field 'context_layer' is {fmt['context_layer']}; the encoder has "
                             f"{config['num_hidden_layers']} layers (config.json)")


def check_tokens(fmt: dict, token_id, path: Path, expected: dict | None = None) -> None:
    """The format's cls, sep and pad are tokens of the tokenizer (`token_id(token)`: its id or
    None), and where `expected` names the tokenizer's own, those."""
    for name in ("cls", "sep", "pad"):
        token, own = fmt[name], (expected or {}).get(name)
        if token_id(token) is None:
            raise corrupt(path, f"input_format field {name!r} is {token!r}, which is not in the tokenizer's vocabulary")
        if own is not None and token != own:
            raise corrupt(path, f"input_format field {name!r} is {token!r}; expected {own!r}, the tokenizer's {name} token")


def check_heads(tensors: dict, labels: dict, width: int, path: Path) -> None:
    """heads.safetensors holds a finite weight (labels x `width`) and bias per task, nothing else."""
    shapes = {f"{t}.weight": (len(labels[t]), width) for t in TASKS} | {f"{t}.bias": (len(labels[t]),) for t in TASKS}
    if set(tensors) != set(shapes):
        raise corrupt(path, f"holds {', '.join(sorted(tensors)) or 'nothing'}; expected {', '.join(sorted(shapes))}")
    for name, shape in shapes.items():
        task = name.split(".")[0]
        if tuple(tensors[name].shape) != shape:
            raise corrupt(path, f"{name} has shape {list(tensors[name].shape)}; expected {list(shape)} "
                                f"({len(labels[task])} {task} labels in model.json, {width} features)")
        if not bool(tensors[name].isfinite().all()):
            raise corrupt(path, f"{name} holds values that are not finite (NaN or infinity)")


def check_graph(session, fmt: dict, labels: dict, path: Path) -> None:
    """An ONNX session's inputs are those the format feeds; its outputs are the tasks, each with one score a label."""
    packed = fmt["format"] == "packed"
    inputs = {i.name: i.shape for i in session.get_inputs()}
    needed = {"input_ids", "attention_mask"} | ({"token_type_ids", "position_ids", "pool"} if packed else set())
    if not needed <= set(inputs) <= needed | {"token_type_ids"}:
        raise corrupt(path, f"takes the inputs {', '.join(sorted(inputs))}; a {fmt['format']!r} input_format feeds "
                            f"{', '.join(sorted(needed))}")
    outputs = {o.name: o.shape for o in session.get_outputs()}
    if sorted(outputs) != sorted(TASKS):
        raise corrupt(path, f"gives the outputs {', '.join(sorted(outputs))}; expected {', '.join(sorted(TASKS))}")
    for task in TASKS:
        shape, rank = outputs[task], 3 if packed else 2
        if len(shape) != rank or (whole(shape[-1]) and shape[-1] != len(labels[task])):
            raise corrupt(path, f"its {task} output has shape {shape}; expected {rank} axes, the last of "
                                f"{len(labels[task])} (the {task} labels in model.json)")


def check_probe(tagger, path: Path) -> None:
    """The tagger run once on PROBE, as on any input: every task's scores one row a sentence, one
    column a label, each row probabilities (finite, summing to 1)."""
    try:
        scores = tagger.predict_proba(PROBE)
    except Exception as err:  # ONNX Runtime raises its own exception types
        raise corrupt(path, f"does not run on a built-in example ({first_line(err)})") from None
    for task in TASKS:
        values, shape = np.asarray(scores[task]), (len(PROBE), len(tagger.labels[task]))
        if values.shape != shape:
            raise corrupt(path, f"gives {task} scores of shape {list(values.shape)} on a built-in example; "
                                f"expected {list(shape)}")
        if not np.isfinite(values).all() or values.min() < 0 or not np.allclose(values.sum(-1), 1, atol=1e-3):
            raise corrupt(path, f"gives {task} scores on a built-in example that are not probabilities "
                                "(NaN, infinite or not summing to 1)")
