"""Article packing (pipeline/models/packing.py): which sentences share an input, what is cut to fit,
and that packed prediction gives every sentence its own labels, in input order, however the
stream is cut into chunks."""
import numpy as np
import pytest

from pipeline.core.config import TASKS
from pipeline.data.context import START
from pipeline.inference import label_stream, make_rows
from pipeline.models import transformer, transformer_onnx
from pipeline.models.packing import CONTEXT_MAX, TARGET_MAX, arrays, pack_rows, predict_packed, runs, visible

CLS, SEP, PAD = 101, 102, 0


def words(texts):
    """A toy tokeniser: one id a word (ids from the word's length, so texts are easy to read back)."""
    return [[1000 + len(word) for word in text.split()] for text in texts]


def row(text, context=START, target="T t.", article=None):
    return {"text": text, "context": context, "target": target} | ({"article_id": article} if article else {})


def test_runs_follow_the_article_and_break_at_a_new_target_article_or_context():
    rows = [row("a b."), row("c d.", "a b."), row("e.", "c d."),  # one article
            row("f.", "e.", target="Other."),  # new target
            row("g.", "f.", target="Other.", article="x"),  # names an article the row before did not
            row("h.", "unrelated", target="Other.", article="x")]  # context is not the row before
    assert runs(rows) == [[0, 1, 2], [3], [4], [5]]


def test_a_pack_holds_sentences_until_the_next_does_not_fit():
    rows = make_rows([" ".join(["w"] * 10)] * 5, "T t.", 1)
    packs, cut = pack_rows(rows, words, CLS, SEP, 40, None)
    assert [p["rows"] for p in packs] == [[0, 1], [2, 3], [4]] and cut == [False] * 5
    for pack in packs:
        assert len(pack["ids"]) <= 40 and pack["ids"][0] == CLS and pack["ids"][-1] == SEP
        assert len(pack["ids"]) == len(pack["types"])
        for begin, end in pack["spans"]:
            assert end - begin == 10 and pack["ids"][end] == SEP and set(pack["types"][begin:end]) == {0} and set(pack["types"][1:pack["spans"][0][0]]) == {1}
    # The first sentence of a later pack gets its context (the sentence before) in the prefix.
    prefix = packs[1]["ids"][:packs[1]["spans"][0][0]]
    assert prefix == [CLS, 1001, 1002, SEP, *[1001] * 10, SEP]


def test_a_long_sentence_cuts_the_context_then_the_target_then_its_own_tail():
    """Words: target "tt" (id 1002), context "ccc" (1003), sentence "s" (1001); room 100 - 4 specials."""
    target, context = " ".join(["tt"] * 40), " ".join(["ccc"] * 60)

    def packed(n):
        packs, cut = pack_rows([row(" ".join(["s"] * n), context, target)], words, CLS, SEP, 100, None)
        ids = packs[0]["ids"]
        assert len(ids) <= 100 and len(packs) == 1
        return ids.count(1002), ids.count(1003), ids.count(1001), cut[0]

    assert CONTEXT_MAX < 60 and packed(10) == (TARGET_MAX, CONTEXT_MAX, 10, False)  # both capped
    assert packed(20) == (TARGET_MAX, 96 - 20 - TARGET_MAX, 20, False)  # the context gives way first
    assert packed(70) == (26, 0, 70, False)  # then the target
    assert packed(200) == (16, 0, 80, True)  # the target keeps 16 tokens; the sentence loses its tail


@pytest.mark.parametrize("block", [True, False])
def test_arrays_pool_each_sentence_over_its_own_tokens_and_the_sentence_before(block):
    packs, _ = pack_rows(make_rows(["a b c.", "d.", "e f."], "T.", 1), words, CLS, SEP, 64, None)
    out = arrays(packs, PAD, {"format": "packed", "attention": "block" if block else "full", "pool": "own+context"})
    ids, spans = packs[0]["ids"], packs[0]["spans"]
    assert out["pool"].shape == (1, 3, 2, len(ids)) and out["attention_mask"].shape == (1, 1, len(ids), len(ids))
    assert np.allclose(out["pool"].sum(-1), 1.0)
    assert out["attention_mask"][0, 0].all() != block
    hidden = np.arange(len(ids), dtype=np.float32)
    for s, (begin, end) in enumerate(spans):
        before = range(spans[s - 1][0], spans[s - 1][1] + 1) if s else range(3, begin)  # with its [SEP]
        assert out["pool"][0, s, 0] @ hidden == pytest.approx(hidden[begin:end].mean())
        assert out["pool"][0, s, 1] @ hidden == pytest.approx(hidden[list(before)].mean())
    assert arrays(packs, PAD, {"format": "packed", "attention": "block", "pool": "own"})["pool"].shape == (1, 3, 1, len(ids))


def test_packed_probabilities_come_back_to_their_own_rows_in_input_order():
    """A fake network whose 'probability' is the sentence's first token id: every row must get its own."""
    texts = [" ".join(["x" * (i % 7 + 1)] * (3 + i % 5)) for i in range(23)]
    rows = make_rows(texts, "T.", 1)
    packs, cut = pack_rows(rows, words, CLS, SEP, 32, None)
    assert len(packs) > 3

    def run(batch):
        first = np.array([[ids[int(np.argmax(weights[0] > 0))] if weights.any() else 0 for weights in pack]
                          for ids, pack in zip(batch["input_ids"], batch["pool"])], dtype=np.float32)
        return {task: first[..., None] for task in TASKS}

    out = predict_packed(packs, cut, {t: ["x"] for t in TASKS}, 8, PAD, {"format": "packed", "attention": "block", "pool": "own+context"}, run)
    assert [int(v) for v in out["speaker"][:, 0]] == [1000 + i % 7 + 1 for i in range(23)]
    assert out["last_start"] == packs[-1]["rows"][0]


def test_a_packed_model_labels_a_chunked_stream_as_it_labels_one_chunk(models_root):
    model = transformer.load(models_root / "models" / "transformer")
    assert model.packed
    sentences = [f"Sentence {i} says that the officials in the capital rejected claim number {i} again." for i in range(40)]
    whole = list(label_stream(model, iter(sentences), "T.", chunk_size=1000))
    assert 1 < max(len(p["rows"]) for p in model.pack(make_rows(sentences, "T.", 1))[0]) < 13
    for size in (13, 17):
        chunked = list(label_stream(model, iter(sentences), "T.", chunk_size=size))
        assert [r["sentence_id"] for r in chunked] == list(range(40))
        assert chunked == whole, size


def test_block_attention_shows_a_sentence_the_target_itself_and_the_sentence_before():
    groups = [0, 0, 0, 1, 1, 2, 2, 3, 3, 4]  # [CLS] target [SEP], context, three sentences
    seen = visible(groups, True)
    assert seen[0].tolist() == [True] * 3 + [False] * 7  # the target sees only itself
    assert seen[7].tolist() == [True] * 3 + [False] * 2 + [True] * 4 + [False]  # sentence 2: 1 and itself
    assert visible(groups, False).all()


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_under_block_attention_a_sentence_does_not_see_the_sentences_after_it(models_root, backend):
    load = transformer.load if backend == "torch" else transformer_onnx.load
    model = load(models_root / "models" / "transformer")
    first = ["Moscow accused Kyiv of the attack.", "Kyiv denied it.", "The dam lies on the river."]
    changed = first[:2] + ["A completely different sentence about the weather in Paris today."]
    a = model.predict_proba(make_rows(first, "T.", 1))
    b = model.predict_proba(make_rows(changed, "T.", 1))
    assert len(model.pack(make_rows(first, "T.", 1))[0]) == 1  # one pack
    for task in TASKS:
        assert np.allclose(a[task][:2], b[task][:2], atol=1e-5)  # sentences 0 and 1 unchanged
        assert not np.allclose(a[task][2], b[task][2], atol=1e-5)
