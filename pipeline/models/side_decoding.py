"""Article-level stance decoding: a stance's direction follows the speaker's side.

Real reporting has a structure: the side that makes the target claim (the claimant) supports it
and the side it accuses denies it. So, per article, the model's own labels decide whether a
sentence takes a side at all (stance neutral or not) and who speaks; the direction of a
non-neutral stance is then read from the speaker's side relative to the claimant
(`configs/params.yaml`, `decode.sides`). Speakers the table does not name (the narrator, and
sides with no fixed relation to that claimant) keep the model's direction.

The claimant is given (`target_by` on the rows: `--target-by` or an evaluation row) or, where
`decode.infer_claimant` is on, inferred from the model's own predictions: the side whose
sentences most confidently put the target forward (speaker x support x claim, summed over the
article). Articles with neither keep the model's labels.
"""
from __future__ import annotations

from pipeline.core.config import label_sets, params
from pipeline.data.schema import side_labels

# Speaker labels that are sides (everyone but the narrator), in configs/labels.yaml's order.
SIDES = tuple(side_labels(label_sets()))


def configured_sides() -> dict | None:
    """The decoding a model trained now carries (saved beside it): {"sides": table, "infer":
    whether to infer a claimant not given}, or None when `decode.by_side` is off."""
    cfg = params("decode")
    return check_sides({"sides": cfg["sides"], "infer": cfg["infer_claimant"]}) if cfg["by_side"] else None


def check_sides(decoding) -> dict:
    """{"sides": {claimant side: {speaker side: support or deny}}, "infer": true or false}."""
    sides = decoding.get("sides") if isinstance(decoding, dict) else None
    ok = isinstance(decoding, dict) and isinstance(decoding.get("infer"), bool) and isinstance(sides, dict) and all(
        claimant in SIDES and isinstance(table, dict)
        and all(speaker in SIDES and direction in ("support", "deny") for speaker, direction in table.items())
        for claimant, table in sides.items())
    if not ok:
        raise ValueError(f'expected {{"sides": {{claimant: {{side: support|deny}}}}, "infer": true|false}} with sides '
                         f"from {', '.join(SIDES)}; got {decoding!r}")
    return decoding


def infer_claimant(records: list[dict]) -> str:
    """The side whose sentences most put the target forward, by the model's own scores."""
    weight = {side: 0.0 for side in SIDES}
    for record in records:
        scores = record["scores"]
        push = scores["stance"]["support"] * scores["role"]["claim"]
        for side in SIDES:
            weight[side] += scores["speaker"][side] * push
    return max(SIDES, key=lambda side: (weight[side], -SIDES.index(side)))


def claimant_of(rows: list[dict], records: list[dict], infer: bool = True) -> str | None:
    """The article's claimant: as given on its rows, else inferred (or None when not to infer)."""
    given = {row.get("target_by") for row in rows} - {None, ""}
    if len(given) > 1:
        raise ValueError(f"one article has several target_by values: {sorted(given)}")
    if given:
        return given.pop()
    return infer_claimant(records) if infer else None


def apply_sides(rows: list[dict], records: list[dict], decoding: dict) -> list[dict]:
    """Records with non-neutral stances redirected by speaker side, article by article (rows
    without `article_id` form one article, as one input of `stance-predict` does). Articles whose
    claimant is neither given nor to be inferred keep the model's labels."""
    articles: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        articles.setdefault(str(row.get("article_id", "")), []).append(i)
    out = [dict(record) for record in records]
    for members in articles.values():
        claimant = claimant_of([rows[i] for i in members], [records[i] for i in members], decoding["infer"])
        table = decoding["sides"].get(claimant, {})
        for i in members:
            if out[i]["stance"] != "neutral" and out[i]["speaker"] in table:
                out[i]["stance"] = table[out[i]["speaker"]]
    return out
