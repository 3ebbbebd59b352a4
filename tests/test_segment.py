from pipeline.core.config import ROOT
from pipeline.data.context import START, contexts
from pipeline.data.segment import split_sentences


def test_abbreviations_do_not_split():
    text = "Mr. Smith met U.S. officials in Washington. They talked for an hour."
    assert split_sentences(text) == ["Mr. Smith met U.S. officials in Washington.", "They talked for an hour."]


def test_quotes_stay_with_their_sentence():
    text = "“It’s one thing to be offensive,” he said. “It’s another thing.” The call ended."
    assert split_sentences(text) == ["“It’s one thing to be offensive,” he said.", "“It’s another thing.”", "The call ended."]


def test_paragraphs_are_lines_and_blank_lines_are_ignored():
    assert split_sentences("First one.\n\n  Second one. Third one.  \n") == ["First one.", "Second one.", "Third one."]


def test_seed_article_segments_to_thirty_stable_sentences():
    text = (ROOT / "seeds" / "000_1ec38597c2fd01f3.txt").read_text(encoding="utf-8")
    sentences = split_sentences(text)
    assert len(sentences) == 30
    assert sentences == split_sentences(text)
    assert sentences[16] == "Kyiv firmly rejected the accusations."
    assert "U.S.–Ukrainian discussions." in sentences[17]


def test_context_is_previous_sentences():
    assert contexts(["a", "b", "c"], 1) == [START, "a", "b"]
    assert contexts(["a", "b", "c"], 2) == [START, "a", "a b"]
    assert contexts(["a", "b"], 0) == [START, START]
