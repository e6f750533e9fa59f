"""``classifier`` click group, mounted by the main CLI as ``hotline classifier ...``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from .io import DataError, load_examples, read_table, require_columns
from .model import load_model
from .rules import RulesError
from .train import LABEL_FIELDS, TrainConfig, evaluate, train_model

HEAD_COLUMNS = {
    "category": "label_col",
    "appeal_type": "type_col",
    "urgency": "urgency_col",
    "department": "department_col",
}


def _cols(value: str) -> list[str]:
    cols = [c.strip() for c in value.split(",") if c.strip()]
    if not cols:
        raise click.UsageError("--text-cols needs at least one column name")
    return cols


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _thresholds(items: tuple[str, ...]) -> dict[str, float]:
    """``category=0.7`` → {"category": 0.7}; a usage error for an unknown head or a score outside [0, 1]."""
    out: dict[str, float] = {}
    for item in items:
        head, _, value = item.partition("=")
        if head not in LABEL_FIELDS:
            raise click.UsageError(f"--threshold {item!r}: the head must be one of {', '.join(LABEL_FIELDS)}")
        try:
            score = float(value)
        except ValueError:
            score = -1.0
        if not 0.0 <= score <= 1.0:
            raise click.UsageError(f"--threshold {item!r}: the score must be a number from 0 to 1")
        out[head] = score
    return out


@click.group(name="classifier")
def group() -> None:
    """Appeal classifier: category (业务领域), appeal type (诉求类型), urgency, department."""


@group.command()
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False), help="Labelled .csv or .xlsx.")
@click.option("--text-cols", default="title,text", show_default=True, help="Title column, then text column(s).")
@click.option("--label-col", default="label", show_default=True, help="Category (业务领域) column.")
@click.option("--type-col", default=None, help="Appeal type (诉求类型) column, for that head.")
@click.option("--urgency-col", default=None, help="Urgency (一般/紧急/特急) column, for that head.")
@click.option("--department-col", default=None, help="Department column (dispatch history), for that head.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model directory to create.")
@click.option(
    "--user-dict", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Extra jieba dictionary."
)
@click.option(
    "--unlabeled", default=None, type=click.Path(dir_okay=False), help="Unlabeled appeals (.csv/.xlsx) for LSA."
)
@click.option("--unlabeled-cols", default="title,text", show_default=True, help="Text columns of --unlabeled.")
@click.option(
    "--lexicon",
    default=None,
    help="Use a category lexicon (YAML: categories → terms; 'default': the shipped one) as features.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="HEAD=P",
    help="Abstain below this score for a head (category, appeal_type, urgency, department); repeatable.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(
    data: str,
    text_cols: str,
    label_col: str,
    type_col: str | None,
    urgency_col: str | None,
    department_col: str | None,
    out: str,
    user_dict: tuple[str, ...],
    unlabeled: str | None,
    unlabeled_cols: str,
    lexicon: str | None,
    thresholds: tuple[str, ...],
    force: bool,
    quiet: bool,
) -> None:
    """Train a model directory from labelled appeals; prints a JSON summary."""
    out_dir = Path(out)
    abstain_below = _thresholds(thresholds)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise click.UsageError(f"{out_dir} exists and is not empty (use --force to replace it)")
    try:
        examples = load_examples(data, _cols(text_cols), label_col, type_col, urgency_col, department_col)
        extra: list[str] = []
        if unlabeled:
            ucols = _cols(unlabeled_cols)
            rows = read_table(unlabeled)
            require_columns(rows, ucols, Path(unlabeled).name)
            extra = ["。".join(r[c] for c in ucols if r[c]) for r in rows]
    except DataError as exc:
        raise click.UsageError(str(exc)) from exc
    if not any(e.category for e in examples):
        raise click.UsageError(f"column {label_col!r} has no labels")
    if lexicon not in (None, "default") and not Path(str(lexicon)).is_file():
        raise click.UsageError(f"lexicon file not found: {lexicon}")
    try:
        model = train_model(
            examples,
            user_dicts=user_dict,
            unlabeled=extra,
            config=TrainConfig(lexicon_weight=0.25, lexicon_userdict=True) if lexicon else None,
            progress=not quiet,
            source=Path(data).name,
            lexicon=None if lexicon in (None, "default") else lexicon,
            thresholds=abstain_below,
        )
    except ValueError as exc:
        raise click.ClickException(f"training failed: {exc}") from exc
    # Save beside the target and move into place: a failure never leaves a half-written model.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save(tmp / "m")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        (tmp / "m").rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cv = model.meta["metrics"]["cross_validated"]
    _echo_json(
        {
            "out": str(out_dir),
            "version": model.version,
            "n_train": model.meta["n_train"],
            "training_seconds": model.meta["training_seconds"],
            "heads": {h: {"labels": len(m["per_class"]), "cv_macro_f1": m["macro_f1"]} for h, m in cv.items()},
        }
    )


@group.command(name="eval")
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False), help="Labelled .csv or .xlsx.")
@click.option("--text-cols", default="title,text", show_default=True)
@click.option("--label-col", default="label", show_default=True, help="Column holding the true labels.")
@click.option(
    "--head",
    type=click.Choice(list(HEAD_COLUMNS)),
    default="category",
    show_default=True,
    help="Which head --label-col evaluates.",
)
def eval_cmd(model_dir: str, data: str, text_cols: str, label_col: str, head: str) -> None:
    """Evaluate a model on labelled data; prints one JSON object (accuracy, macro_f1, per_class, ...)."""
    try:
        cols: dict[str, str | None] = {c: None for c in HEAD_COLUMNS.values()}
        cols[HEAD_COLUMNS[head]] = label_col
        examples = load_examples(data, _cols(text_cols), **cols)
    except DataError as exc:
        raise click.UsageError(str(exc)) from exc
    model = load_model(model_dir)
    try:
        result = evaluate(model, examples, head)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_json(result)


@group.command()
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--title", default="", help="Appeal title (标题).")
@click.option("-k", "k", default=3, show_default=True, type=click.IntRange(1, 50), help="Proposals per head.")
@click.option("--rules", default=None, type=click.Path(exists=True, dir_okay=False), help="Urgency rules file.")
@click.argument("text")
def predict(model_dir: str, title: str, k: int, rules: str | None, text: str) -> None:
    """Classify one appeal TEXT; prints the prediction as JSON."""
    try:
        model = load_model(model_dir, rules=rules)
    except RulesError as exc:
        raise click.UsageError(str(exc)) from exc
    _echo_json(model.predict(title, text, k=k).to_dict())
