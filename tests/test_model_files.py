"""Model files checked as a whole (reliability probe 2, "Model files" M4-M24): the SHA-256 manifest
and model.json's seal, every input_format field, shapes at load, non-finite scores and the skops
reader. Every case damages a copy of the tiny saved models; "resealed" marks a consistent edit
(hashes rewritten), which shows the check behind the manifest."""
import hashlib
import json
import os
import re
import shutil
import zipfile

import numpy as np
import onnx
import pytest
import skops.io as sio
from onnx import numpy_helper
from safetensors.torch import load_file, save_file

import pipeline.models
from pipeline import api
from pipeline.core.errors import UserError
from pipeline.inference import decode
from pipeline.models import baseline, checks, manifest, transformer
from pipeline.models.manifest import SEAL, canonical, sha256, write_model_json
from tests.conftest import run_cli

ONNX_FILES = {"config.json", "heads.safetensors", "model.onnx", "model.safetensors", "tokenizer.json",
              "tokenizer_config.json"}


@pytest.fixture
def models(tmp_path, models_root):
    """A private copy of the tiny models (models/transformer, models/baseline) a test may damage."""
    shutil.copytree(models_root / "models", tmp_path / "models")
    pipeline.models._loaded.clear()
    return tmp_path / "models"


def load_onnx(folder):
    pipeline.models._loaded.clear()
    return pipeline.load_model(folder, "cpu")


def meta_of(folder) -> dict:
    return json.loads((folder / "model.json").read_text())


def write_meta(folder, meta: dict, seal: bool = False) -> None:
    """model.json as given; with `seal`, its seal recomputed over the given fields."""
    if seal:
        meta = {k: v for k, v in meta.items() if k != SEAL}
        meta[SEAL] = hashlib.sha256(canonical(meta)).hexdigest()
    (folder / "model.json").write_text(json.dumps(meta))


def reseal(folder, **changes) -> None:
    """A consistent edit: model.json with `changes`, every listed file's SHA-256 and the seal rewritten."""
    meta = meta_of(folder) | changes
    write_model_json(folder, {k: v for k, v in meta.items() if k not in ("files", SEAL)}, list(meta["files"]))


def with_format(folder, **changes) -> dict:
    meta = meta_of(folder)
    return dict(meta, input_format=dict(meta["input_format"], **changes))


def refused(load, folder, *fragments) -> str:
    with pytest.raises(UserError) as info:
        load(folder)
    text = str(info.value)
    assert "\n" not in text and "dvc repro" in text, text
    for fragment in fragments:
        assert fragment in text, text
    return text


def edit_onnx(folder, change) -> None:
    model = onnx.load(str(folder / "model.onnx"))
    change(model.graph)
    onnx.save(model, str(folder / "model.onnx"))


def initializer(graph, name: str):
    return next(i for i in graph.initializer if i.name == name)


def set_array(graph, name: str, array) -> None:
    initializer(graph, name).CopyFrom(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))


def bias(graph, task: str = "speaker"):
    return numpy_helper.to_array(initializer(graph, f"net.heads.{task}.bias"))


# The manifest -------------------------------------------------------------------------------

def test_a_saved_model_lists_every_file_it_reads_and_seals_model_json(models):
    folder = models / "transformer"
    meta = meta_of(folder)
    assert set(meta["files"]) == ONNX_FILES and re.fullmatch("[0-9a-f]{64}", meta[SEAL])
    assert all(sha256(folder / name) == digest for name, digest in meta["files"].items())
    assert set(meta_of(models / "baseline")["files"]) == {"model.skops"}
    assert load_onnx(folder).labels == meta["labels"] and baseline.load(models / "baseline").labels


def test_hashing_streams_and_matches_hashlib(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(os.urandom(manifest.CHUNK * 2 + 12345))
    assert sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_m4_a_changed_bias_in_a_valid_model_onnx_is_refused(models):
    folder = models / "transformer"
    edit_onnx(folder, lambda g: set_array(g, "net.heads.speaker.bias", bias(g) + np.array([0, 0, 8, 0, 0])))
    refused(load_onnx, folder, "model.onnx: differs from the file saved with the model (SHA-256 mismatch)")


def test_a_changed_pytorch_weight_is_refused(models):
    folder = models / "transformer"
    weights = load_file(folder / "model.safetensors")
    name = next(iter(weights))
    save_file(dict(weights, **{name: -weights[name]}), folder / "model.safetensors")
    refused(transformer.load, folder, "model.safetensors: differs from the file saved with the model")


def test_each_path_hashes_the_weights_it_reads_only(models, models_root, tmp_path):
    folder = models / "transformer"
    os.unlink(folder / "model.safetensors")
    assert load_onnx(folder).labels  # the CPU path never reads the PyTorch checkpoint
    refused(transformer.load, folder, "model.safetensors: missing")
    other = tmp_path / "other"
    shutil.copytree(models_root / "models" / "transformer", other)
    os.unlink(other / "model.onnx")
    assert transformer.load(other).labels
    refused(load_onnx, other, "model.onnx: missing")


@pytest.mark.parametrize("change", ["swap speakers", "four speakers", "max_length", "pack_length", "actors", "sides",
                                    "context", "manifest", "params"])
def test_m8_any_change_to_model_json_fields_is_refused(models, change):
    """Edits of the right shape (the probe's M8 label swap, M10's max_length 32 ...): the seal catches them."""
    folder = models / "transformer"
    meta = meta_of(folder)
    speakers = meta["labels"]["speaker"]
    changed = {
        "swap speakers": lambda: dict(meta, labels=dict(meta["labels"], speaker=[speakers[1], speakers[0], *speakers[2:]])),
        "four speakers": lambda: dict(meta, labels=dict(meta["labels"], speaker=speakers[:4])),
        "max_length": lambda: with_format(folder, max_length=32),
        "pack_length": lambda: with_format(folder, pack_length=512),
        "actors": lambda: dict(meta, actors=dict(meta["actors"], not_names=[])),
        "sides": lambda: dict(meta, sides=None),
        "context": lambda: dict(meta, context_sentences=2),
        "manifest": lambda: dict(meta, files={k: v for k, v in meta["files"].items() if k != "config.json"}),
        "params": lambda: dict(meta, params=dict(meta["params"], max_length=32)),
    }[change]()
    write_meta(folder, changed)
    refused(load_onnx, folder, "model.json: differs from the file saved with the model", "'sha256'")
    refused(transformer.load, folder, "model.json: differs")


@pytest.mark.parametrize("change, fragment", [({"context_sentences": 2}, "differs from the file saved with the model"),
                                              ({"labels": "swap"}, "differs from the file saved with the model"),
                                              ({"sha256": None}, "has no field 'sha256'")])
def test_baseline_model_json_is_sealed(models, change, fragment):
    folder = models / "baseline"
    meta = meta_of(folder)
    if change.get("labels") == "swap":
        speakers = meta["labels"]["speaker"]
        change = {"labels": dict(meta["labels"], speaker=[speakers[1], speakers[0], *speakers[2:]])}
    write_meta(folder, meta | change)
    refused(baseline.load, folder, f"model.json: {fragment}")


@pytest.mark.parametrize("damage", ["negated", "token_pattern"])
def test_m23_m24_a_changed_baseline_is_refused_before_skops_reads_it(models, monkeypatch, damage):
    """M24 (every coefficient negated) and M23 (a ReDoS token_pattern, a string of an allowed type,
    which the node allowlist cannot see): model.skops's SHA-256 no longer matches."""
    folder = models / "baseline"
    pipe = baseline.load(folder).pipeline
    if damage == "negated":
        for clf in pipe.named_steps["classifier"].estimators_:
            clf.coef_ = -clf.coef_
    else:
        word = pipe.named_steps["features"].transformers_[0][1]
        word.token_pattern = r"(?:\w+\s?)+!"
    sio.dump(pipe, folder / "model.skops")
    monkeypatch.setattr(sio, "load", lambda *a, **k: pytest.fail("skops read a file that fails its SHA-256"))
    refused(baseline.load, folder, "model.skops: differs from the file saved with the model (SHA-256 mismatch)")


def test_the_manifest_must_list_what_the_loader_reads(models):
    folder = models / "transformer"
    meta = meta_of(folder)
    write_meta(folder, dict(meta, files={k: v for k, v in meta["files"].items() if k != "model.onnx"}), seal=True)
    refused(load_onnx, folder, "the manifest ('files') does not list model.onnx")
    write_meta(folder, dict(meta, files=dict(meta["files"], **{"config.json": "abc"})), seal=True)
    refused(load_onnx, folder, "SHA-256 of config.json is 'abc'; expected 64 hex digits")


# M14: manifest entries stay in the folder ---------------------------------------------------

@pytest.mark.parametrize("name", ["../../../../../../etc/passwd", "/etc/passwd", "sub/config.json", "..", ""])
def test_m14_a_manifest_entry_outside_the_folder_is_refused(models, monkeypatch, name):
    folder = models / "transformer"
    meta = meta_of(folder)
    digest = sha256("/etc/passwd") if "passwd" in name else "0" * 64
    write_meta(folder, dict(meta, files=dict(meta["files"], **{name: digest})), seal=True)
    monkeypatch.setattr(manifest, "sha256", lambda path: pytest.fail(f"hashed {path}"))
    refused(load_onnx, folder, f"the manifest ('files') names {name!r}; expected a file name in the model folder")


def test_m14_a_link_out_of_the_folder_is_refused_one_inside_is_not(models):
    folder = models / "transformer"
    os.symlink("/etc/passwd", folder / "notes.txt")
    meta = meta_of(folder)
    write_meta(folder, dict(meta, files=dict(meta["files"], **{"notes.txt": sha256("/etc/passwd")})), seal=True)
    refused(load_onnx, folder, "notes.txt: is a link to a file outside the model folder")
    os.replace(folder / "config.json", folder / "config.real.json")
    os.symlink("config.real.json", folder / "config.json")
    write_meta(folder, meta)
    assert load_onnx(folder).labels == meta["labels"]


def test_the_pytorch_loader_reads_only_listed_files(models):
    """Hugging Face reads added_tokens.json and special_tokens_map.json if present: an unlisted one
    would change the tokenizer without touching a hashed file."""
    folder = models / "transformer"
    (folder / "added_tokens.json").write_text(json.dumps({"zzevilzz": 30522}))
    (folder / "special_tokens_map.json").write_text(json.dumps({"cls_token": "[SEP]"}))
    model = transformer.load(folder)
    assert "zzevilzz" not in model.tokenizer.get_vocab() and model.tokenizer.cls_token == "[CLS]"


# M5: non-finite scores ----------------------------------------------------------------------

def test_m5_nan_weights_are_refused_at_load(models):
    folder = models / "transformer"
    edit_onnx(folder, lambda g: set_array(g, "net.heads.speaker.bias", bias(g) * np.nan))
    refused(load_onnx, folder, "model.onnx: differs")
    reseal(folder)
    refused(load_onnx, folder, "model.onnx: gives speaker scores on a built-in example that are not probabilities")


def test_m5_nan_heads_are_refused_by_the_pytorch_loader(models):
    folder = models / "transformer"
    heads = load_file(folder / "heads.safetensors")
    save_file(dict(heads, **{"stance.weight": heads["stance.weight"] * float("nan")}), folder / "heads.safetensors")
    reseal(folder)
    refused(transformer.load, folder, "heads.safetensors: stance.weight holds values that are not finite")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_m5_decode_refuses_non_finite_scores(value):
    labels = {"speaker": ["a", "b"], "stance": ["c", "d"], "role": ["e", "f"]}
    probs = {"speaker": np.array([[0.5, 0.5]]), "stance": np.array([[value, 0.5]]), "role": np.array([[0.2, 0.8]])}
    with pytest.raises(UserError, match="stance score of (nan|inf|-inf)") as info:
        decode(probs, labels, 0)
    assert "\n" not in str(info.value)
    probs["stance"] = np.array([[0.25, 0.75]])
    assert decode(probs, labels, 0)["stance"] == "d"


def test_m5_nan_scores_never_reach_the_output(models, capsys, monkeypatch):
    """A baseline whose coefficients are NaN (resealed, so only the scores show it): one line, no output."""
    folder = models / "baseline"
    pipe = baseline.load(folder).pipeline
    pipe.named_steps["classifier"].estimators_[0].coef_[:] = np.nan
    sio.dump(pipe, folder / "model.skops")
    reseal(folder)
    monkeypatch.setattr(api, "ROOT", models.parent)
    pipeline.models._loaded.clear()
    code, out, err = run_cli(capsys, "--model", "baseline", "--text", "Kyiv denied it.")
    assert code == 2 and out == "" and err.count("\n") == 1 and "speaker score of nan" in err, (code, out, err)


# M6, M7, M9: outputs against the label lists -------------------------------------------------

def rename_output(graph, old: str, new: str) -> None:
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
    next(o for o in graph.output if o.name == old).name = new


def cut_head(graph, task: str, size: int) -> None:
    """The task's head keeps its first `size` outputs (weight, bias and declared output shape)."""
    name = f"net.heads.{task}.bias"
    add = next(n for n in graph.node if n.op_type == "Add" and name in n.input)
    matmul = next(n for n in graph.node if n.op_type == "MatMul" and set(n.output) & set(add.input))
    weight = numpy_helper.to_array(initializer(graph, matmul.input[1]))
    set_array(graph, matmul.input[1], weight[:, :size])
    set_array(graph, name, bias(graph, task)[:size])
    del graph.value_info[:]
    next(o for o in graph.output if o.name == task).type.tensor_type.shape.dim[-1].dim_value = size


def test_m6_renamed_outputs_are_refused_at_load(models):
    folder = models / "transformer"
    edit_onnx(folder, lambda g: rename_output(g, "speaker", "speaker_probs"))
    reseal(folder)
    refused(load_onnx, folder, "model.onnx: gives the outputs role, speaker_probs, stance; expected role, speaker, stance")


def test_m7_a_head_cut_to_four_outputs_is_refused_at_load(models):
    folder = models / "transformer"
    edit_onnx(folder, lambda g: cut_head(g, "speaker", 4))
    reseal(folder)
    refused(load_onnx, folder, "model.onnx: its speaker output has shape", "the last of 5 (the speaker labels")


@pytest.mark.parametrize("size", [4, 6])
def test_m9_label_lists_that_do_not_fit_the_heads(models, size):
    folder = models / "transformer"
    meta = meta_of(folder)
    speakers = (meta["labels"]["speaker"] + ["extra"])[:size]
    reseal(folder, labels=dict(meta["labels"], speaker=speakers))
    refused(load_onnx, folder, f"model.onnx: its speaker output has shape ['batch', 'sentences', 5]; expected 3 "
                               f"axes, the last of {size}")
    refused(transformer.load, folder, f"heads.safetensors: speaker.weight has shape [5, 384]; expected [{size}, 384]")


def test_a_graph_fed_other_inputs_than_its_format_is_refused(models, pair_model, tmp_path):
    """M11's other half: a packed format over a pair graph (no position ids, no pool)."""
    folder = tmp_path / "pair"
    shutil.copytree(pair_model[1], folder)
    packed = dict(meta_of(models / "transformer")["input_format"])
    reseal(folder, input_format=packed)
    refused(load_onnx, folder, "model.onnx: takes the inputs attention_mask, input_ids, token_type_ids; a 'packed' "
                               "input_format feeds")
    reseal(folder, input_format=meta_of(models / "transformer")["input_format"] | {"format": "pair"})
    refused(load_onnx, folder, "input_format field 'attention' is 'block'; a 'pair' format has exactly the fields")


# M10-M13: every input_format field -----------------------------------------------------------

@pytest.mark.parametrize("change, fragment", [
    ({"format": "pairs"}, "input_format field 'format' is 'pairs'; expected 'packed' or 'pair'"),
    ({"format": "pair"}, "input_format field 'attention' is 'block'; a 'pair' format has exactly the fields"),
    ({"attention": "full"}, "input_format field 'attention' is 'full'; expected 'block'"),
    ({"pool": "cls"}, "input_format field 'pool' is 'cls'; expected 'own'"),
    ({"max_length": 31}, "input_format field 'max_length' is 31; expected a whole number of at least 32"),
    ({"max_length": True}, "input_format field 'max_length' is True"),
    ({"max_length": "128"}, "input_format field 'max_length' is '128'"),
    ({"truncation": "longest_first"}, "input_format field 'truncation' is 'longest_first'; expected 'only_second'"),
    ({"pack_length": 64}, "input_format field 'pack_length' is 64; expected a whole number from max_length (128)"),
    ({"pack_length": 10**9}, "input_format field 'pack_length' is 1000000000"),
    ({"max_length": 100_000}, "input_format field 'pack_length' is 256; expected a whole number from max_length (100000)"),
    ({"context_layer": 0}, "input_format field 'context_layer' is 0; expected null or an encoder layer"),
    ({"sep": ""}, "input_format field 'sep' is ''"),
    ({"cls": None}, "input_format field 'cls' is None"),
    ({"extra": 1}, "input_format field 'extra' is 1"),
])
def test_m11_every_input_format_field_is_checked(models, change, fragment):
    """Named as such before the seal is checked: one line naming the field, its value and what was expected."""
    folder = models / "transformer"
    write_meta(folder, with_format(folder, **change))
    refused(load_onnx, folder, "model.json: ", fragment)
    refused(transformer.load, folder, fragment)


@pytest.mark.parametrize("change, fragment", [
    ({"max_length": 1000, "pack_length": 1000}, "input_format field 'max_length' is 1000; expected at most 512, the "
                                                "encoder's positions (config.json)"),
    ({"context_layer": 99}, "input_format field 'context_layer' is 99; the encoder has 6 layers"),
    ({"cls": "[NOPE]"}, "input_format field 'cls' is '[NOPE]', which is not in the tokenizer's vocabulary"),
    ({"pad": "[NOPE]"}, "input_format field 'pad' is '[NOPE]', which is not in the tokenizer's vocabulary"),
])
def test_m10_m12_format_against_the_encoder_and_tokenizer(models, change, fragment):
    folder = models / "transformer"
    reseal(folder, input_format=with_format(folder, **change)["input_format"])
    refused(load_onnx, folder, "model.json: ", fragment)
    refused(transformer.load, folder, "model.json: ", fragment)


def test_m12_the_pytorch_path_needs_the_tokenizers_own_special_tokens(models):
    folder = models / "transformer"
    reseal(folder, input_format=with_format(folder, cls="[MASK]")["input_format"])
    refused(transformer.load, folder, "input_format field 'cls' is '[MASK]'; expected '[CLS]', the tokenizer's cls token")


@pytest.mark.parametrize("model, value", [("transformer", -1), ("transformer", 10**6), ("transformer", 11),
                                          ("baseline", -5)])
def test_m13_context_sentences_out_of_range(models, model, value):
    folder = models / model
    write_meta(folder, dict(meta_of(folder), context_sentences=value))
    load = baseline.load if model == "baseline" else load_onnx
    refused(load, folder, f"field 'context_sentences' has value {value}; expected 0 to 10 sentences")



def test_a_packed_model_with_a_wider_context_is_refused_by_both_loaders(models):
    """Packs read one sentence of context: a sealed model.json saying 2 cannot be loaded either way."""
    folder = models / "transformer"
    reseal(folder, context_sentences=2)
    for load in (load_onnx, transformer.load):
        refused(load, folder, "model.json: ", "packed inputs read one sentence of context, not 2")

# M20-M22: the skops reader ----------------------------------------------------------------------

def skops_file(path, schema: bytes, method: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("schema.json", schema)


def test_m20_deeply_nested_schema_is_one_line(models):
    path = models / "baseline" / "model.skops"
    skops_file(path, b"[" * 200_000 + b"]" * 200_000)
    refused(baseline.load_pipeline, path, "model.skops: cannot be read (RecursionError")
    reseal(models / "baseline")
    refused(baseline.load, models / "baseline", "model.skops: cannot be read (RecursionError")


def test_m21_unknown_zip_compression_is_one_line(tmp_path):
    path = tmp_path / "model.skops"
    skops_file(path, b'{"__class__": "Pipeline"}')
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local and central headers
        at = data.index(signature) + offset
        data[at:at + 2] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    refused(baseline.load_pipeline, path, "model.skops: cannot be read (NotImplementedError")


def test_m22_a_schema_that_inflates_too_far_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "model.skops"
    skops_file(path, b" " * 8 * 2**20, zipfile.ZIP_DEFLATED)  # 8 MiB in some 8 KB
    monkeypatch.setattr(checks, "MAX_SCHEMA_BYTES", 2**20)
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a: pytest.fail("schema.json was inflated"))
    refused(baseline.load_pipeline, path, "model.skops: its schema.json inflates to 8,388,608 bytes; expected at "
                                          "most 1,048,576")
    assert checks.MAX_SCHEMA_BYTES < 2**30


def test_the_allowlist_still_holds_behind_the_manifest(models, monkeypatch):
    """A consistent edit (resealed) that adds a function node is still refused before skops builds anything."""
    from tests.test_robustness import evil_pipeline

    folder = models / "baseline"
    sio.dump(evil_pipeline(folder / "PWNED"), folder / "model.skops")
    reseal(folder)
    monkeypatch.setattr(sio, "load", lambda *a, **k: pytest.fail("skops.load ran on a refused file"))
    refused(baseline.load, folder, "model.skops: refusing to load")
    assert not (folder / "PWNED").exists()
