"""`stance-labelstudio`: correct the models' labels in Label Studio and bring the article back.

  config                    the labelling configuration (XML): three Choices (speaker, stance, role)
                            with the labels of configs/labels.yaml, showing target, context and sentence
  export FILE               one Label Studio task a sentence, with its paragraph, the sentences before it
                            (view.context_sentences) and the model's labels as predictions with scores
                            (and in data.predicted, as Label Studio exports predictions as ids only)
  import EXPORT.json --article-id ID
                            a Label Studio JSON export -> seeds/<id>.txt, seeds/<id>.meta.json and
                            data/annotations/<id>.jsonl, validated as `prepare` validates
                            (pipeline/commands/labelstudio/importer.py)
Labels are predicted through the one prediction path (pipeline.inference.label_stream).
"""
from __future__ import annotations

# Run as `python -m ...`, this file hands over to its console entry point before the imports below
# (scikit-learn and the model code: seconds), which imports it again as a module with Ctrl-C guarded:
# an interrupt during those imports is then `error: interrupted`, exit 130, not a traceback.
from pipeline.commands.entry import stance_labelstudio  # standard library only

if __name__ == "__main__":
    raise SystemExit(stance_labelstudio())

import argparse
import json
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from pipeline.commands.labelstudio.importer import import_export
from pipeline.commands.predict import check_options
from pipeline.commands.text_inputs import gather, read_lines, sentences
from pipeline.core.config import ROOT, TASKS, label_sets, params
from pipeline.core.errors import cli
from pipeline.data.context import contexts
from pipeline.api import MODELS, batch_size_for, model_folder
from pipeline.inference import label_stream
from pipeline.models import load_model
from pipeline.models.side_decoding import SIDES

# What the annotator is asked per task (data/GUIDELINES.md has the full definitions).
QUESTIONS = {"speaker": "speaker: whose content is it?", "stance": "stance: toward the target claim",
             "role": "role: its move in the exchange"}


def label_config(labels: dict[str, list[str]]) -> str:
    """The labelling configuration: target, context and sentence as Text, one single-choice Choices a task."""
    parts = ['<View>', '  <Header value="Target claim"/>', '  <Text name="target" value="$target"/>',
             '  <Header value="Before this sentence"/>', '  <Text name="context" value="$context"/>',
             '  <Header value="Sentence to label"/>', '  <Text name="text" value="$text"/>']
    for task in TASKS:
        parts.append(f'  <Header value={quoteattr(QUESTIONS[task])}/>')
        parts.append(f'  <Choices name="{task}" toName="text" choice="single-radio" required="true" showInline="true">')
        parts += [f'    <Choice value={quoteattr(label)}/>' for label in labels[task]]
        parts.append('  </Choices>')
    return "\n".join([*parts, '</View>']) + "\n"


def prediction(record: dict) -> dict:
    """A record's labels as a Label Studio prediction; its score is the least confident label's
    probability, so Label Studio can order tasks least confident first."""
    result = [{"from_name": task, "to_name": "text", "type": "choices", "value": {"choices": [record[task]]},
               "score": record["scores"][task][record[task]]} for task in TASKS]
    return {"model_version": f"stance-pipeline {record['model']}", "score": min(r["score"] for r in result),
            "result": result}


def paragraphs(args, name: str, path: Path | None) -> list[list[str]]:
    """The input's sentences by paragraph, segmented as `stance-predict` and `prepare` segment."""
    return [list(sentences([line], False)) for line in read_lines(args, name, path) if line.strip()]


def export_tasks(args) -> list[dict]:
    """One task a sentence, in article order, with the model's labels as its prediction."""
    with tempfile.TemporaryDirectory(prefix="stance-labelstudio-") as workdir:
        (name, path), = gather(argparse.Namespace(files=[args.file], text=None, lines=False), Path(workdir))
        paras = paragraphs(args, name, path)
    flat = [(p, s) for p, ss in enumerate(paras) for s in ss]
    texts = [s for _, s in flat]
    model = load_model(model_folder(args.model))
    records = label_stream(model, texts, args.target, args.target_by, batch_size_for(model, args.batch_size),
                           params("predict")["chunk_size"])
    tasks = []
    for (paragraph, _), context, record in zip(flat, contexts(texts, params("view")["context_sentences"]), records):
        data = {"text": record["text"], "context": context, "target": args.target, "sentence_id": record["sentence_id"],
                "paragraph": paragraph, "article_sentences": len(texts), "source": name,
                # Label Studio exports predictions as ids only: the labels travel in the data too.
                "predicted": {task: record[task] for task in TASKS},
                **({"target_by": args.target_by} if args.target_by else {})}
        tasks.append({"data": data, "predictions": [prediction(record)]})
    return tasks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cfg = params("predict")
    parser = argparse.ArgumentParser(prog="stance-labelstudio", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:12]))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("config", help="print the labelling configuration (XML)")
    export = commands.add_parser("export", help="print Label Studio tasks (JSON) of an article, with predictions")
    export.add_argument("file", metavar="FILE", help="article text, one paragraph a line ('-': standard input)")
    export.add_argument("--target", default=cfg["target"], help="the claim stance is measured against")
    export.add_argument("--target-by", choices=SIDES, help="the side that makes the target claim")
    export.add_argument("--model", default=cfg["model"], help=f"one of {', '.join(MODELS)} (default: {cfg['model']})")
    export.add_argument("--batch-size", type=int, help="sentences a forward pass (default: as stance-predict)")
    back = commands.add_parser("import", help="write a Label Studio JSON export as an annotated article")
    back.add_argument("export", type=Path, metavar="EXPORT.json", help="Label Studio export, format 'JSON'")
    back.add_argument("--article-id", required=True, help="the article's id: file names seeds/<id>.txt etc.")
    back.add_argument("--seeds", type=Path, default=ROOT / "seeds", help="folder for <id>.txt and <id>.meta.json")
    back.add_argument("--annotations", type=Path, default=ROOT / "data" / "annotations", help="folder for <id>.jsonl")
    back.add_argument("--event", help="the real-world event the article reports, as YYYY-MM_short_name (required for "
                                      "a new article: cross-validation keeps each event in one fold)")
    back.add_argument("--force", action="store_true", help="replace an article that already exists")
    back.add_argument("--use-predictions", action="store_true",
                      help="a task nobody annotated keeps the model's prediction (default: refuse)")
    args = parser.parse_args(argv)
    return check_options(args) if args.command == "export" else args


@cli
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "config":
        sys.stdout.write(label_config(label_sets()))
    elif args.command == "export":
        sys.stdout.write(json.dumps(export_tasks(args), ensure_ascii=False, indent=1) + "\n")
    else:
        import_export(args.export, args.article_id, args.seeds, args.annotations, label_sets(),
                      force=args.force, use_predictions=args.use_predictions, event=args.event)

