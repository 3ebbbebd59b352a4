"""Context for each sentence: the same rule for prepared data and for prediction."""
from __future__ import annotations

# Shown instead of a previous sentence for an article's first sentence, so "no context"
# is a visible, learnable input rather than an empty string.
START = "(start of article)"


def contexts(sentences: list[str], window: int) -> list[str]:
    """The `window` sentences before each sentence, joined, or START for the first one."""
    out = []
    for i in range(len(sentences)):
        before = sentences[max(0, i - window):i] if window > 0 else []
        out.append(" ".join(before) if before else START)
    return out
