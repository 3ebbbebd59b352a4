from pipeline.stages.report import overlap, render


def _metrics(f1, lo, hi, articles=7):
    task = {"macro_f1": f1, "macro_f1_ci": [lo, hi], "accuracy": f1, "majority_macro_f1": 0.2, "n": 30,
            "n_articles": articles, "per_class": {}}
    return {"speaker": task, "stance": task, "role": task}


def test_overlap():
    assert overlap([0.1, 0.5], [0.4, 0.9]) and not overlap([0.1, 0.3], [0.4, 0.9])


def test_render_compares_models_and_adds_unseen_section():
    text = render({"CV": {"baseline": _metrics(0.4, 0.3, 0.5), "transformer": _metrics(0.8, 0.7, 0.9)},
                   "Unseen articles": {"transformer": _metrics(0.6, 0.5, 0.7)}})
    assert "| baseline | speaker | 0.400 | [0.300, 0.500] |" in text
    assert "best transformer (0.800); baseline: intervals do not overlap" in text
    assert "## Unseen articles" in text and "| transformer | role | 0.600 |" in text


def test_render_states_what_the_figures_cover():
    assert "30 real sentences from 7 real articles; the interval resamples articles." in render(
        {"CV": {"baseline": _metrics(0.4, 0.3, 0.5)}})
    assert "the interval resamples sentences (fewer than 5 articles)" in render(
        {"CV": {"baseline": _metrics(0.4, 0.3, 0.5, articles=1)}})
