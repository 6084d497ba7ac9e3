"""Retraining without a restart: operator corrections reach the model in service, if it is no worse.

A retrain reads every operator correction from the store and trains a candidate on the shipped
data plus the corrections (`nlp.model.train_shipped`, corrections weighted). A child process
trains it, saves it next to the model artifact, and scores it and the serving model (read from the
artifact) on the held-out set and on the dev set (when `nlp/data/dev/` has examples): tens of
seconds of CPU, with the second stage's sentence encoder, that would stall the event loop through
the GIL if they ran in a thread. The service puts the candidate in service only when its macro-F1
is no more than `[nlp] retrain_tolerance` below the serving model's on both: the artifact is
renamed over the model path (atomic on one file system, so a restart keeps it) and the
understander's classifier is swapped in one assignment, so the next message is classified by the
new model.

Every attempt is a row of `model_retrains` (storage/retrains.py), claimed before training so that
only one process trains at a time. Worker 0 scores the model it started with, then runs the
scheduled pass: once at start-up and every `retrain_interval_minutes`, and only when the
corrections give a candidate no attempt has judged. Managers and admins start one from the panel;
it runs in whichever process took the request. Every process checks the store every
`reload_check_seconds` for a model accepted elsewhere and loads it from the model path.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot.config import NlpSettings
from bot.dates.clock import Clock
from bot.intake.understanding import Understander, correction_examples, shared_normalizer, shipped_version
from nlp.classification import Scorer
from nlp.dataset import Example, load_split
from nlp.evaluation import evaluate
from nlp.policy import Router
from storage.retrains import (
    ACCEPTED,
    ERROR,
    FAILED,
    REFUSED,
    UNCHANGED,
    EvalFigures,
    NewAttempt,
    RetrainAttempt,
    RetrainRepository,
)
from storage.store import Store

if TYPE_CHECKING:
    from nlp.model import Model, TrainSettings

log = logging.getLogger(__name__)

STARTUP, SCHEDULE, PANEL = "startup", "schedule", "panel"
SYSTEM = "system"
# A claim older than this was left by a process that died mid-training (training takes < 1 min).
STALE_CLAIM = timedelta(minutes=10)


class RetrainError(RuntimeError):
    """Training the candidate failed (the message says how)."""


@dataclass(frozen=True, slots=True)
class TrainJob:
    """What the child process needs to train and score a candidate (picklable)."""

    departments: dict[str, str]
    corrections: tuple[tuple[str, str], ...]
    fallback_category: str
    settings: TrainSettings | None
    out_path: str  # where the candidate artifact goes
    serving_path: str  # the artifact of the model in service
    serving_version: str


# Runs in the child: train, save the artifact at `job.out_path`, return its version.
Trainer = Callable[[TrainJob], str]


def train_candidate(job: TrainJob) -> str:
    """The production trainer: what a restart would train on the shipped data plus these
    corrections."""
    from nlp.model import train_shipped

    model = train_shipped(
        job.departments,
        correction_examples(job.corrections, job.departments),
        fallback_category=job.fallback_category,
        settings=job.settings,
    )
    model.save(job.out_path)
    return model.version


@dataclass(frozen=True, slots=True)
class Scores:
    """Macro-F1 of one classifier on the held-out set and the dev set (None: no dev examples)."""

    heldout: float
    dev: float | None
    heldout_examples: int
    dev_examples: int


def _labelled(split: str) -> tuple[Example, ...]:
    return tuple(e for e in load_split(split) if e.category)


@dataclass(frozen=True, slots=True)
class EvalSets:
    """The labelled sets a candidate must not do worse on."""

    heldout: tuple[Example, ...]
    dev: tuple[Example, ...]

    @classmethod
    def load(cls) -> EvalSets:
        """The shipped held-out split and the dev split (which may be empty)."""
        return cls(heldout=_labelled("heldout"), dev=_labelled("dev"))

    def score(self, classifier: Scorer) -> Scores:
        """Score `classifier` (behind the policy, as in service) on both sets."""
        routed = Router(classifier)
        heldout = evaluate(routed, self.heldout).macro_f1
        dev = evaluate(routed, self.dev).macro_f1 if self.dev else None
        return Scores(
            round(heldout, 4), None if dev is None else round(dev, 4), len(self.heldout), len(self.dev)
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the candidate goes into service, and why (a reason code the panel translates)."""

    accepted: bool
    reason: str


def judge(candidate: Scores, serving: Scores, tolerance: float) -> Verdict:
    """Accept only a candidate whose macro-F1 is at least the serving model's minus `tolerance`,
    on the held-out set and on the dev set (when there is one)."""
    if not candidate.heldout_examples:
        return Verdict(False, "no_heldout")
    if candidate.heldout < serving.heldout - tolerance:
        return Verdict(False, "heldout_worse")
    if candidate.dev is not None and serving.dev is not None and candidate.dev < serving.dev - tolerance:
        return Verdict(False, "dev_worse")
    return Verdict(True, "no_worse")


def figures(candidate: Scores | None, serving: Scores | None) -> EvalFigures:
    """Both models' scores as the store keeps them."""
    either = candidate or serving
    return EvalFigures(
        heldout_f1=candidate.heldout if candidate else None,
        dev_f1=candidate.dev if candidate else None,
        serving_heldout_f1=serving.heldout if serving else None,
        serving_dev_f1=serving.dev if serving else None,
        heldout_examples=either.heldout_examples if either else None,
        dev_examples=either.dev_examples if either else None,
    )


@dataclass(frozen=True, slots=True)
class Trained:
    """What the child reports: the candidate's version and both models' scores."""

    version: str
    candidate: Scores
    serving: Scores


def train_and_score(trainer: Trainer, job: TrainJob) -> Trained:
    """(In the child.) Train the candidate, then score it and the serving model's artifact."""
    from nlp.model import Model

    trainer(job)
    normalizer = shared_normalizer()
    candidate = Model.load(job.out_path, job.departments, normalizer=normalizer)
    serving = Model.load(job.serving_path, job.departments, normalizer=normalizer)
    if serving.version != job.serving_version:
        raise RetrainError(
            f"{job.serving_path} holds model {serving.version}, not the serving {job.serving_version}"
        )
    sets = EvalSets.load()
    return Trained(candidate.version, sets.score(candidate), sets.score(serving))


@dataclass(frozen=True, slots=True)
class ScoreJob:
    """Score one artifact (the model a process started with)."""

    path: str
    departments: dict[str, str]
    version: str


def score_artifact(job: ScoreJob) -> Scores:
    """(In the child.) The artifact's scores on the held-out and dev sets."""
    from nlp.model import Model

    model = Model.load(job.path, job.departments, normalizer=shared_normalizer())
    if model.version != job.version:
        raise RetrainError(f"{job.path} holds model {model.version}, not {job.version}")
    return EvalSets.load().score(model)


def _die_with_parent() -> None:
    """Linux: the child gets SIGKILL when the service process dies, however it dies."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _child_main(work: Callable[[Any], Any], arg: Any, answer: Connection) -> None:
    _die_with_parent()
    try:
        answer.send(("ok", work(arg)))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as text
        answer.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        answer.close()


def _wait_answer(receiver: Connection) -> tuple[str, Any] | None:
    try:
        kind, value = receiver.recv()
        return str(kind), value
    except EOFError:
        return None
    finally:
        receiver.close()


async def run_in_child[A, R](work: Callable[[A], R], arg: A) -> R:
    """`work(arg)` in a fresh (spawned) process; its result, or RetrainError. Cancelling kills the
    child. `work` and `arg` must be picklable (module-level functions, dataclasses)."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(work, arg, sender), name="sada-retrain", daemon=True)
    child.start()
    sender.close()
    try:
        answer = await asyncio.to_thread(_wait_answer, receiver)
    except asyncio.CancelledError:
        child.kill()
        child.join(5)
        raise
    await asyncio.to_thread(child.join, 30)
    if answer is None:
        raise RetrainError(f"the child process ended without an answer (exit code {child.exitcode})")
    kind, value = answer
    if kind != "ok":
        raise RetrainError(str(value))
    return cast(R, value)


class Started(StrEnum):
    """What asking for a retrain from the panel did."""

    STARTED = "started"
    BUSY = "busy"  # another attempt is running (here or in another process)
    UNCHANGED = "unchanged"  # the serving model already holds every correction
    UNAVAILABLE = "unavailable"  # the service does not run a trained model


@dataclass(frozen=True, slots=True)
class _Plan:
    corrections: tuple[tuple[str, str], ...]
    base_version: str
    planned_version: str
    serving: Model


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """What the panel shows about the model in service and the retrain attempts."""

    available: bool
    version: str
    accepted: RetrainAttempt | None  # the attempt that put this version in service
    trained_at: datetime | None
    corrections: int
    pending: bool  # corrections that no attempt has judged yet
    tolerance: float
    attempts: Sequence[RetrainAttempt]


class Retrainer:
    """Retrains, judges and swaps the classifier of one process; watches for models accepted by
    other processes."""

    def __init__(
        self,
        store: Store,
        understander: Understander,
        settings: NlpSettings,
        clock: Clock,
        *,
        departments: dict[str, str],
        fallback_category: str,
        available: bool,
        train_settings: TrainSettings | None = None,
        trainer: Trainer = train_candidate,
    ) -> None:
        self._store = store
        self._understander = understander
        self._settings = settings
        self._clock = clock
        self._departments = departments
        self._fallback = fallback_category
        self.available = available
        self._train_settings = train_settings
        self._trainer = trainer
        self._model_path = settings.model_path
        self._seen_accepted = 0  # the newest accepted attempt this process has acted on
        self._task: asyncio.Task[str] | None = None
        self._stopping = asyncio.Event()

    # -- start-up ------------------------------------------------------------------------------

    async def start_up(self, corrections: int) -> None:
        """Record the model this process serves as accepted at start-up, unless an attempt
        already did (so every serving model has its row: when it was trained, and its scores,
        which worker 0 adds in the background: `score_startup_model`)."""
        if not self.available:
            return
        version = self._understander.classifier.version
        async with self._store.read() as tx:
            known = await RetrainRepository(tx.session).accepted_for(version)
        if known is None:
            base = await asyncio.to_thread(shipped_version, (), self._train_settings)
            new = NewAttempt(STARTUP, SYSTEM, self._clock.now(), base, version, corrections, None, version)
            async with self._store.transaction() as tx:
                await RetrainRepository(tx.session).record(new, ACCEPTED, STARTUP)
        async with self._store.read() as tx:
            latest = await RetrainRepository(tx.session).latest_accepted()
        self._seen_accepted = latest.id if latest else 0

    async def score_startup_model(self) -> Scores | None:
        """Score the serving model in a child process when its row has no scores yet (it was
        recorded at start-up); the scores, or None when there was nothing to do."""
        version = self._understander.classifier.version
        async with self._store.read() as tx:
            row = await RetrainRepository(tx.session).accepted_for(version)
        if row is None or row.figures.heldout_f1 is not None:
            return None
        job = ScoreJob(str(self._model_path), dict(self._departments), version)
        scores = await run_in_child(score_artifact, job)
        async with self._store.transaction() as tx:
            await RetrainRepository(tx.session).set_figures(row.id, figures(scores, scores))
        return scores

    # -- planning and claiming -----------------------------------------------------------------

    async def _plan(self) -> _Plan:
        async with self._store.read() as tx:
            pairs = await tx.tickets.corrections()
        corrections = tuple((t, c) for t, c in pairs if c in self._departments)
        base, candidate = await asyncio.to_thread(self._versions, corrections)
        serving: Model = self._understander.classifier  # type: ignore[assignment]
        return _Plan(corrections, base, candidate, serving)

    def _versions(self, corrections: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        extra = correction_examples(corrections, self._departments)
        return shipped_version((), self._train_settings), shipped_version(extra, self._train_settings)

    def _new(self, trigger: str, actor: str, plan: _Plan) -> NewAttempt:
        return NewAttempt(
            trigger=trigger,
            actor=actor,
            at=self._clock.now(),
            base_version=plan.base_version,
            serving_version=plan.serving.version,
            corrections=len(plan.corrections),
            planned_version=plan.planned_version,
        )

    async def _claim(self, trigger: str, actor: str, plan: _Plan) -> int | None:
        new = self._new(trigger, actor, plan)
        async with self._store.transaction() as tx:
            return await RetrainRepository(tx.session).claim(new, stale_before=new.at - STALE_CLAIM)

    # -- the two ways in -----------------------------------------------------------------------

    async def start(self, trigger: str, actor: str) -> Started:
        """Start a retrain in the background (the panel's button); says what happened."""
        if not self.available:
            return Started.UNAVAILABLE
        if self._task is not None and not self._task.done():
            return Started.BUSY
        plan = await self._plan()
        if plan.planned_version == plan.serving.version:
            async with self._store.transaction() as tx:
                await RetrainRepository(tx.session).record(
                    self._new(trigger, actor, plan), UNCHANGED, "no_new"
                )
            return Started.UNCHANGED
        claim = await self._claim(trigger, actor, plan)
        if claim is None:
            return Started.BUSY
        self._task = asyncio.create_task(self._attempt(claim, plan), name="retrain")
        return Started.STARTED

    async def scheduled_pass(self) -> str | None:
        """Retrain when corrections give a candidate no attempt has judged; the outcome, or None
        when there was nothing to do (or another process is training)."""
        if not self.available:
            return None
        plan = await self._plan()
        if plan.planned_version == plan.serving.version:
            return None
        async with self._store.read() as tx:
            if await RetrainRepository(tx.session).tried(plan.planned_version):
                return None
        claim = await self._claim(SCHEDULE, SYSTEM, plan)
        if claim is None:
            return None
        return await self._attempt(claim, plan)

    async def settled(self) -> None:
        """Wait for a retrain started by `start` to finish."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # -- one attempt ---------------------------------------------------------------------------

    async def _attempt(self, claim: int, plan: _Plan) -> str:
        out = self._model_path.with_name(f"{self._model_path.name}.candidate-{claim}")
        job = TrainJob(
            departments=dict(self._departments),
            corrections=plan.corrections,
            fallback_category=self._fallback,
            settings=self._train_settings,
            out_path=str(out),
            serving_path=str(self._model_path),
            serving_version=plan.serving.version,
        )
        log.info("retrain %d: training on %d operator corrections", claim, len(plan.corrections))
        try:
            trained = await run_in_child(functools.partial(train_and_score, self._trainer), job)
            if trained.version == plan.serving.version:  # the corrections changed nothing
                await self._settle(claim, UNCHANGED, "no_new", version=trained.version)
                return UNCHANGED
            verdict = judge(trained.candidate, trained.serving, self._settings.retrain_tolerance)
            if verdict.accepted:
                candidate = await asyncio.to_thread(self._load_model, out)
                os.replace(out, self._model_path)  # same folder, so an atomic rename
                self._understander.swap(candidate)
            outcome = ACCEPTED if verdict.accepted else REFUSED
            log.info(
                "retrain %d: candidate %s %s (%s; held-out %.4f vs %.4f, dev %s vs %s)",
                claim, trained.version, outcome, verdict.reason, trained.candidate.heldout,
                trained.serving.heldout, trained.candidate.dev, trained.serving.dev,
            )  # fmt: skip
            await self._settle(
                claim,
                outcome,
                verdict.reason,
                version=trained.version,
                scores=figures(trained.candidate, trained.serving),
            )
            return outcome
        except asyncio.CancelledError:
            with suppress(Exception):
                await asyncio.shield(self._settle(claim, FAILED, "cancelled"))
            raise
        except Exception as exc:
            log.exception("retrain %d failed", claim)
            await self._settle(claim, FAILED, ERROR, detail=f"{type(exc).__name__}: {exc}")
            return FAILED
        finally:
            out.unlink(missing_ok=True)

    def _load_model(self, path: Path) -> Model:
        from nlp.model import Model

        return Model.load(path, self._departments, normalizer=shared_normalizer())

    async def _settle(
        self,
        claim: int,
        outcome: str,
        reason: str,
        *,
        version: str | None = None,
        scores: EvalFigures | None = None,
        detail: str | None = None,
    ) -> None:
        async with self._store.transaction() as tx:
            await RetrainRepository(tx.session).settle(
                claim,
                outcome,
                reason,
                self._clock.now(),
                candidate_version=version,
                figures=scores,
                detail=detail,
            )
        if outcome == ACCEPTED:
            self._seen_accepted = max(self._seen_accepted, claim)

    # -- models accepted by other processes ----------------------------------------------------

    async def check_for_new_model(self) -> bool:
        """Load the model another process accepted since this one last looked; whether it did."""
        if not self.available:
            return False
        async with self._store.read() as tx:
            latest = await RetrainRepository(tx.session).latest_accepted()
        if latest is None or latest.id <= self._seen_accepted:
            return False
        self._seen_accepted = latest.id
        serving = self._understander.classifier
        if latest.candidate_version in (None, serving.version):
            return False
        model = await asyncio.to_thread(self._load_model, self._model_path)
        if model.version != latest.candidate_version:
            log.warning(
                "the store accepted model %s but %s holds %s: keeping %s (is the model path shared?)",
                latest.candidate_version, self._model_path, model.version, serving.version,
            )  # fmt: skip
            return False
        self._understander.swap(model)
        log.info("classifier %s loaded: accepted by retrain %d elsewhere", model.version, latest.id)
        return True

    # -- background loops ----------------------------------------------------------------------

    async def run(self) -> None:
        """Worker 0's schedule: score the start-up model, a pass at start-up, then one every
        interval (if one is set)."""
        try:
            await self.score_startup_model()
        except Exception:
            log.exception("scoring the start-up model failed")
        interval = self._settings.retrain_interval_minutes * 60
        while not self._stopping.is_set():
            try:
                await self.scheduled_pass()
            except Exception:
                log.exception("scheduled retrain pass failed")
            if interval <= 0:
                return
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)

    async def watch(self) -> None:
        """Every process: look for a model accepted elsewhere every `reload_check_seconds`."""
        while not self._stopping.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._settings.reload_check_seconds)
            if self._stopping.is_set():
                return
            try:
                await self.check_for_new_model()
            except Exception:
                log.exception("looking for a new model failed")

    def stop(self) -> None:
        """Return from `run()` and `watch()`."""
        self._stopping.set()

    async def aclose(self) -> None:
        """Stop a retrain started from the panel (its child is killed, its row marked failed)."""
        self.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- the panel's view ----------------------------------------------------------------------

    async def status(self, attempts: int = 20) -> ModelStatus:
        """The serving model, its accepting attempt and the latest attempts."""
        serving = self._understander.classifier
        async with self._store.read() as tx:
            repo = RetrainRepository(tx.session)
            accepted = await repo.accepted_for(serving.version)
            recent = await repo.recent(attempts)
        pending, corrections = False, 0
        if self.available:
            plan = await self._plan()
            corrections = len(plan.corrections)
            if plan.planned_version != serving.version:
                async with self._store.read() as tx:
                    pending = not await RetrainRepository(tx.session).tried(plan.planned_version)
        return ModelStatus(
            available=self.available,
            version=serving.version,
            accepted=accepted,
            trained_at=accepted.finished_at if accepted else self._artifact_time(),
            corrections=corrections,
            pending=pending,
            tolerance=self._settings.retrain_tolerance,
            attempts=recent,
        )

    def _artifact_time(self) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._model_path.stat().st_mtime, UTC)
        except OSError:
            return None
