"""`sada nlp train`, `sada nlp eval` and `sada classify`: the CLI side of nlp/.

`sada classify` is a contract used by outside evaluation: JSON Lines on stdin, one JSON object per
input line on stdout and nothing else there (logs go to stderr), exit 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import AppConfig
from nlp.classification import Classifier
from nlp.dataset import Example
from storage.store import Store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `nlp` (train, eval) and `classify`."""
    nlp = sub.add_parser("nlp", help="train and evaluate the classifier")
    nlp_sub = nlp.add_subparsers(dest="nlp_command", required=True)
    nlp_sub.add_parser("train", help="train on the shipped data plus every operator correction").set_defaults(
        run=_train
    )
    ev = nlp_sub.add_parser("eval", help="accuracy, macro-F1, per-class scores, confusions")
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="JSON Lines with text and category")
    source.add_argument(
        "--split",
        choices=("heldout", "dev"),
        help="a shipped set: heldout (team text, never trained on) or dev (realistic registers)",
    )
    ev.set_defaults(run=_eval)
    nlp_sub.add_parser(
        "embeddings", help="refresh the shipped sentence-encoder vectors of the training and dev messages"
    ).set_defaults(run=_embeddings)
    classify = sub.add_parser("classify", help="JSON Lines in → one routing decision per line out")
    classify.set_defaults(run=_classify)


async def corrections(config: AppConfig) -> list[Example]:
    """Every operator reclassification in the store, as labelled examples."""
    store = Store.from_url(config.store.url, busy_timeout_ms=config.store.busy_timeout_ms)
    try:
        await store.ensure_ready()
        async with store.transaction() as tx:
            pairs = await tx.tickets.corrections()
    finally:
        await store.aclose()
    departments = config.taxonomy.category_departments()
    return [Example(text=t, category=c, channel="correction") for t, c in pairs if c in departments]


def load_classifier(config: AppConfig) -> Classifier:
    """The configured classifier behind the policy: the saved model as it is (it may include
    operator corrections this command cannot see), or one trained on the shipped data; with
    `[nlp] second_stage = false`, its first stage alone, as the service would serve it."""
    from bot.intake.understanding import build_classifier
    from nlp.model import Model
    from nlp.policy import Router

    scorer = build_classifier(
        config.nlp.classifier,
        config.taxonomy.category_departments(),
        model_path=config.nlp.model_path,
        fallback_category=config.gateway.fallback_category,
        saved_as_is=True,
    )
    if not config.nlp.second_stage and isinstance(scorer, Model):
        scorer = scorer.first_stage_only()
    return Router(scorer)


async def _train(_args: argparse.Namespace, config: AppConfig) -> int:
    from bot.intake.understanding import check_classifier_reaches
    from nlp.cli import run_train

    extra = await corrections(config)
    departments = config.taxonomy.category_departments()
    fallback = config.gateway.fallback_category
    check_classifier_reaches("model", departments, fallback, (e.category or "" for e in extra))
    run_train(
        departments,
        extra,
        config.nlp.model_path,
        sys.stdout,
        fallback_category=fallback,
    )
    return 0


async def _embeddings(_args: argparse.Namespace, _config: AppConfig) -> int:
    from nlp.cli import run_embeddings

    return run_embeddings(sys.stdout)


async def _eval(args: argparse.Namespace, config: AppConfig) -> int:
    from nlp.cli import run_eval

    if args.data is not None and not args.data.exists():
        print(f"sada: no such file: {args.data}", file=sys.stderr)
        return 2
    run_eval(load_classifier(config), args.data if args.data is not None else args.split, sys.stdout)
    return 0


async def _classify(_args: argparse.Namespace, config: AppConfig) -> int:
    from nlp.cli import run_classify

    return run_classify(load_classifier(config), sys.stdin, sys.stdout)
