"""The prepared corpus as a Hugging Face `datasets` dataset: Parquet files with ClassLabel
features and a dataset card, so that `datasets.load_dataset("data/prepare/dataset")` loads the
labelled sentences (splits `real` and `synthetic`) in one line."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from datasets import ClassLabel, Dataset, Features, Value

from pipeline.core.config import TASKS

SPLITS = ("real", "synthetic")
COLUMNS = ("uid", "article_id", "sentence_id", "text", "context", "target", "event")


def features(labels: dict[str, list[str]]) -> Features:
    """Text columns, the three tasks as ClassLabel (names in configs/labels.yaml's order), flags."""
    return Features({**{c: Value("int64" if c == "sentence_id" else "string") for c in COLUMNS},
                     **{task: ClassLabel(names=labels[task]) for task in TASKS},
                     "synthetic": Value("bool"), "group": Value("string"), "claimant": Value("string")})


def split_rows(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows per split; a split without rows (synthetic, with prepare.use_synthetic off) is left out."""
    out = {s: [r for r in rows if r["synthetic"] == (s == "synthetic")] for s in SPLITS}
    return {s: part for s, part in out.items() if part}


def card(rows: list[dict], labels: dict[str, list[str]], feats: Features) -> str:
    """README.md: the YAML header `load_dataset` reads (splits, features) and what the data is."""
    counts = split_rows(rows)
    header = {"language": ["en"], "task_categories": ["text-classification"], "pretty_name": "stance-pipeline sentences",
              "configs": [{"config_name": "default",
                           "data_files": [{"split": s, "path": f"{s}.parquet"} for s in counts]}],
              "dataset_info": {"features": feats._to_yaml_list()}}
    lines = ["---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "", "# stance-pipeline sentences", "",
             "Every sentence of the project's annotated articles, labelled for speaker, stance (toward the",
             "article's target claim) and role, as `prepare` writes them (context: the sentence(s) before).",
             "`real`: published articles (the seed and the real corpus), the only rows ever scored.",
             "`synthetic`: articles written by the team, for training only.", "",
             "```python", "from datasets import load_dataset", "", 'data = load_dataset("data/prepare/dataset")', "```", "",
             "| split | sentences | articles |", "| --- | --- | --- |",
             *[f"| {s} | {len(r)} | {len({x['article_id'] for x in r})} |" for s, r in counts.items()], "",
             "| task | labels (ClassLabel order) | counts in `real` |", "| --- | --- | --- |",
             *[f"| {t} | {', '.join(labels[t])} | {dict(Counter(r[t] for r in counts.get('real', [])))} |"
               for t in TASKS], ""]
    return "\n".join(lines)


def write_dataset(rows: list[dict], folder: Path, labels: dict[str, list[str]]) -> None:
    """One Parquet file per split (features embedded, so ClassLabels survive) and the card."""
    folder.mkdir(parents=True, exist_ok=True)
    feats = features(labels)
    for split, part in split_rows(rows).items():
        Dataset.from_list([{k: r[k] for k in feats} for r in part], features=feats).to_parquet(folder / f"{split}.parquet")
    (folder / "README.md").write_text(card(rows, labels, feats), encoding="utf-8")
