"""Packs (pipeline/models/packing.py): which sentences share an input, what is cut to fit, and that a
sentence's labels depend only on the sentence, its context sentence and the target, whatever the
pack, chunk, batch, position in the article or attention kernel."""
import json

import numpy as np
import pytest

from pipeline.core.config import ROOT, TASKS
from pipeline.core.errors import UserError
from pipeline.data.context import START
from pipeline.data.segment import split_sentences
from pipeline.inference import label_stream, make_rows
from pipeline.models import transformer, transformer_onnx
from pipeline.models.packing import OWN, PREFIX_GROUP, TARGET_MAX, WITH_CONTEXT, pack_rows, pad, predict_packed, \
    unpadded, visible
from pipeline.training.batching import collate, inputs

CLS, SEP, PAD = 101, 102, 0


def words(texts):
    """A toy tokeniser: one id a word (ids from the word's length, so texts are easy to read back)."""
    return [[1000 + len(word) for word in text.split()] for text in texts]


def row(text, context=START, target="T t."):
    return {"text": text, "context": context, "target": target}


def segments(pack):
    """The pack's segments as token lists (without their [SEP])."""
    groups = np.asarray(pack["groups"])
    return [[t for t, g in zip(pack["ids"], groups) if g == k][:-1] for k in range(1, groups.max() + 1)]


def test_a_pack_holds_each_sentence_once_and_its_first_sentence_s_context_as_a_segment():
    rows = make_rows([" ".join(["w" * (i + 1)] * 10) for i in range(5)], "T t.", 1)
    packs, cut = pack_rows(rows, words, CLS, SEP, 40, 60, None)
    assert [p["rows"] for p in packs] == [[0, 1, 2, 3], [4]] and cut == [False] * 5
    first, second = packs
    assert first["ids"][:4] == [CLS, 1001, 1002, SEP] and len(first["ids"]) <= 60
    assert segments(first) == words([START]) + [[1000 + i + 1] * 10 for i in range(4)]
    assert first["context"] == {2: 1, 3: 2, 4: 3, 5: 4}  # each sentence reads the segment before it
    assert segments(second) == [[1004] * 10, [1005] * 10] and second["context"] == {2: 1}  # context re-encoded
    for pack in packs:
        assert len(pack["ids"]) == len(pack["types"]) == len(pack["positions"]) == len(pack["groups"])
        for begin, end in pack["spans"]:
            assert pack["positions"][begin] == 4 and pack["ids"][end] == SEP and set(pack["types"][begin:end + 1]) == {0}


def test_a_long_sentence_shortens_the_target_then_its_own_tail_and_gets_its_own_pack():
    """Words: target "tt" (id 1002), sentence "s" (1001); room 100 - 3 specials."""
    target = " ".join(["tt"] * 40)

    def packed(n):
        packs, cut = pack_rows([row(" ".join(["s"] * n), "ccc", target)], words, CLS, SEP, 100, 256, None)
        ids = packs[0]["ids"]
        return ids.count(1002), ids.count(1001), cut[0], max(packs[0]["positions"])

    assert packed(10) == (TARGET_MAX, 10, False, TARGET_MAX + 12)  # the target capped; positions restart
    assert packed(70) == (27, 70, False, 99)  # the target gives way
    assert packed(200) == (16, 81, True, 99)  # it keeps 16 tokens; the sentence loses its tail
    long = " ".join(["s"] * 100)
    packs, _ = pack_rows([row("s."), row(long, "s.", target), row("s.", long)], words, CLS, SEP, 128, 512, None)
    assert [p["rows"] for p in packs] == [[0], [1], [2]]


def test_a_pack_s_masks_keep_a_segment_to_the_target_and_itself_but_in_the_context_layer():
    groups = [PREFIX_GROUP] * 3 + [1, 1, 2, 2, 2, 3]
    seen = visible(groups, {2: 1, 3: 2})
    assert seen[OWN, 0].tolist() == [True] * 3 + [False] * 6  # the target sees only itself
    assert seen[WITH_CONTEXT, 0].tolist() == [True] * 3 + [False] * 6
    assert seen[OWN, 5].tolist() == [True] * 3 + [False] * 2 + [True] * 3 + [False]
    assert seen[WITH_CONTEXT, 5].tolist() == [True] * 8 + [False]  # segment 2 also reads segment 1
    assert seen[WITH_CONTEXT, 8].tolist() == [True] * 3 + [False] * 2 + [True] * 4  # 3 reads 2, not 1
    assert seen[WITH_CONTEXT, 3].tolist() == seen[OWN, 3].tolist()  # a context-only segment reads nothing else


def test_pool_averages_each_sentence_and_padding_sees_only_itself():
    packs, _ = pack_rows(make_rows(["a b c.", "d.", "e f."], "T.", 1), words, CLS, SEP, 64, 128, None)
    out = pad([unpadded(p) for p in packs], PAD)
    ids, pack = packs[0]["ids"], packs[0]
    assert out["pool"].shape == (1, 3, 1, len(ids)) and out["attention_mask"].shape == (1, 2, len(ids), len(ids))
    hidden = np.arange(len(ids), dtype=np.float32)
    for s, (begin, end) in enumerate(pack["spans"]):
        assert out["pool"][0, s, 0] @ hidden == pytest.approx(hidden[begin:end].mean())
    two = pad([unpadded(p) for p in pack_rows(make_rows(["a.", "b c d e f g h."], "T.", 1), words, CLS, SEP,
                                               16, 16, None)[0]], PAD)
    short = int((two["input_ids"][0] != PAD).sum())
    eye = np.eye(two["input_ids"].shape[1], dtype=bool)[short:]
    assert (two["attention_mask"][0, :, short:] == eye).all()
    assert (two["pool"][0, :, :, short:] == 0).all() and (two["position_ids"][0, short:] == 0).all()


def test_packed_probabilities_come_back_to_their_own_rows_in_input_order():
    """A fake network whose 'probability' is the sentence's first token id: every row must get its own."""
    texts = [" ".join(["x" * (i % 7 + 1)] * (3 + i % 5)) for i in range(23)]
    rows = make_rows(texts, "T.", 1)
    packs, cut = pack_rows(rows, words, CLS, SEP, 32, 48, None)
    assert len(packs) > 3

    def run(batch):
        first = np.array([[ids[int(np.argmax(weights[0] > 0))] if weights.any() else 0 for weights in pack]
                          for ids, pack in zip(batch["input_ids"], batch["pool"])], dtype=np.float32)
        return {task: first[..., None] for task in TASKS}

    out = predict_packed(packs, cut, {t: ["x"] for t in TASKS}, 8, PAD, run)
    assert [int(v) for v in out["speaker"][:, 0]] == [1000 + i % 7 + 1 for i in range(23)]


def real_article() -> tuple[list[str], str]:
    """The seed article's sentences and target."""
    meta = sorted((ROOT / "seeds").glob("000_*.meta.json"))[0]
    text = meta.with_name(meta.name.replace(".meta.json", ".txt")).read_text(encoding="utf-8")
    return split_sentences(text), json.loads(meta.read_text(encoding="utf-8"))["target"]


@pytest.fixture(scope="module")
def packed_model(models_root):
    model = transformer.load(models_root / "models" / "transformer")
    assert model.packed
    return model


def test_labels_and_scores_are_the_same_for_any_chunk_size(models_root):
    model = transformer_onnx.load(models_root / "models" / "transformer")
    sentences, target = real_article()
    whole = list(label_stream(model, iter(sentences), target, chunk_size=2048))
    assert len(sentences) > 10 and max(len(p["rows"]) for p in model.pack(make_rows(sentences, target, 1))[0]) > 1
    for size in (1, 2, 3, 4, 5):
        chunked = list(label_stream(model, iter(sentences), target, chunk_size=size, batch_size=size))
        assert [r["sentence_id"] for r in chunked] == list(range(len(sentences)))
        assert chunked == whole, size


@pytest.mark.parametrize("kernel", ["sdpa", "eager"])
def test_a_sentence_does_not_move_when_any_other_sentence_changes(packed_model, kernel):
    """Under either attention kernel: sentence 1's probabilities are the same whatever comes before its
    context (sentence 0) and after it, and equal to the window labelled alone."""
    packed_model.net.encoder.set_attn_implementation(kernel)
    try:
        base = ["Moscow accused Kyiv of the attack.", "Kyiv denied it.", "The dam lies on the river."]
        variants = [base, ["An unrelated opening line about Paris.", *base[:2], "A different end."],
                    base[:2] + ["A completely different sentence about the weather in Paris today."]]
        probs = [packed_model.predict_proba(make_rows(v, "T.", 1)) for v in variants]
        alone = packed_model.predict_proba([{"text": base[1], "context": base[0], "target": "T."}])
        for task in TASKS:
            for p, index in zip(probs, (1, 2, 1)):
                assert np.abs(p[task][index] - alone[task][0]).max() < 1e-5, (task, kernel)
    finally:
        packed_model.net.encoder.set_attn_implementation("sdpa")


def test_eager_and_sdpa_give_the_same_probabilities(packed_model):
    rows = make_rows(real_article()[0][:12], "T.", 1)
    sdpa = packed_model.predict_proba(rows)
    packed_model.net.encoder.set_attn_implementation("eager")
    try:
        eager = packed_model.predict_proba(rows)
    finally:
        packed_model.net.encoder.set_attn_implementation("sdpa")
    for task in TASKS:
        assert np.abs(sdpa[task] - eager[task]).max() < 1e-5


def test_training_and_prediction_build_bit_identical_inputs(packed_model):
    """What a training batch feeds the network (batching.inputs + collate) is what prediction feeds it
    (pack + pad) for the same packs."""
    sentences, target = real_article()
    rows = [dict(r, uid=f"a:{r['sentence_id']}") for r in make_rows(sentences, target, 1)]
    _, items, members = inputs(rows, packed_model)
    packs, _ = packed_model.pack(rows)
    assert members == [p["rows"] for p in packs]
    for batch in ([0], [1, 2], list(range(len(packs)))):
        trained = collate([items[i] for i in batch], packed_model)
        predicted = pad([unpadded(packs[i]) for i in batch], packed_model.tokenizer.pad_token_id)
        assert set(trained) == {k for k in predicted if k in packed_model.input_names}
        for key, value in trained.items():
            assert np.array_equal(value.numpy(), predicted[key]), key


DEV = ROOT.parent / "shared" / "dev" / "labels.jsonl"


@pytest.mark.skipif(not DEV.is_file(), reason="../shared/dev is not present (outside the workspace)")
@pytest.mark.parametrize("target_by", [None, "russia"])
def test_every_dev_sentence_in_its_article_is_labelled_as_with_only_its_context_window(models_root, target_by):
    """Each real dev sentence labelled inside its whole article equals it labelled after only the
    `context_sentences` before it (same target and claimant): labels equal, scores within 1e-4."""
    model = transformer_onnx.load(models_root / "models" / "transformer")
    articles: dict[str, list[dict]] = {}
    for line in DEV.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        articles.setdefault(row["article_id"], []).append(row)
    k = model.context_sentences
    for rows in articles.values():
        texts, target = [r["text"] for r in sorted(rows, key=lambda r: r["sentence_id"])], rows[0]["target"]
        inside = list(label_stream(model, texts, target, target_by))
        for i, record in enumerate(inside):
            alone = list(label_stream(model, texts[max(0, i - k):i + 1], target, target_by))[-1]
            assert [record[t] for t in TASKS] == [alone[t] for t in TASKS], (rows[0]["article_id"], i)
            for task in TASKS:
                for label, score in record["scores"][task].items():
                    assert abs(score - alone["scores"][task][label]) <= 1e-4 + 1e-9  # scores are rounded to 1e-4


def test_packs_refuse_more_than_one_sentence_of_context(packed_model):
    with pytest.raises(UserError, match="one sentence of context"):
        transformer.TransformerModel(packed_model.net, packed_model.tokenizer, packed_model.labels,
                                     packed_model.input_format, context_sentences=2)
