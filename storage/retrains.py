"""Retrain attempts of the classifier: claimed before training, settled with the verdict.

A claim is an INSERT of a `running` row; the partial unique index on `outcome = 'running'` lets
only one exist, so two processes asked to retrain at once cannot both train (the loser's INSERT
does nothing). A claim left `running` by a process that died mid-training is settled as
`failed` ("abandoned") once it is older than the caller's `stale_before`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import ModelRetrainRow

RUNNING, ACCEPTED, REFUSED, UNCHANGED, FAILED = "running", "accepted", "refused", "unchanged", "failed"
OUTCOMES = (RUNNING, ACCEPTED, REFUSED, UNCHANGED, FAILED)
ERROR = "error"  # the reason of a failed attempt whose training or evaluation raised


@dataclass(frozen=True, slots=True)
class EvalFigures:
    """Macro-F1 of the candidate and of the serving model on the held-out and dev sets."""

    heldout_f1: float | None = None
    dev_f1: float | None = None
    serving_heldout_f1: float | None = None
    serving_dev_f1: float | None = None
    heldout_examples: int | None = None
    dev_examples: int | None = None


@dataclass(frozen=True, slots=True)
class RetrainAttempt:
    """One row of `model_retrains`."""

    id: int
    trigger: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    reason: str | None
    detail: str | None
    base_version: str
    serving_version: str
    planned_version: str | None
    candidate_version: str | None
    corrections: int
    figures: EvalFigures


def _attempt(row: ModelRetrainRow) -> RetrainAttempt:
    return RetrainAttempt(
        id=row.id,
        trigger=row.trigger,
        actor=row.actor,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        reason=row.reason,
        detail=row.detail,
        base_version=row.base_version,
        serving_version=row.serving_version,
        planned_version=row.planned_version,
        candidate_version=row.candidate_version,
        corrections=row.corrections,
        figures=EvalFigures(
            heldout_f1=row.heldout_f1,
            dev_f1=row.dev_f1,
            serving_heldout_f1=row.serving_heldout_f1,
            serving_dev_f1=row.serving_dev_f1,
            heldout_examples=row.heldout_examples,
            dev_examples=row.dev_examples,
        ),
    )


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """What is known when an attempt starts."""

    trigger: str
    actor: str
    at: datetime
    base_version: str
    serving_version: str
    corrections: int
    planned_version: str | None = None  # what the shipped data + these corrections should give
    candidate_version: str | None = None  # the model trained (known at once for a start-up model)


class RetrainRepository:
    """Claims, settles and lists retrain attempts."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def claim(self, new: NewAttempt, *, stale_before: datetime) -> int | None:
        """Insert a `running` attempt and return its id; None while another attempt is running."""
        await self._s.execute(
            update(ModelRetrainRow)
            .where(ModelRetrainRow.outcome == RUNNING, ModelRetrainRow.started_at < stale_before)
            .values(outcome=FAILED, reason="abandoned", finished_at=new.at)
        )
        module: Any = postgresql if self._s.get_bind().dialect.name == "postgresql" else sqlite
        stmt = (
            module.insert(ModelRetrainRow)
            .values(**_values(new, RUNNING))
            .on_conflict_do_nothing(index_elements=["outcome"], index_where=text("outcome = 'running'"))
            .returning(ModelRetrainRow.id)
        )
        new_id = await self._s.scalar(stmt)
        return None if new_id is None else int(new_id)

    async def record(
        self,
        new: NewAttempt,
        outcome: str,
        reason: str,
        *,
        figures: EvalFigures | None = None,
    ) -> int:
        """Insert an attempt that is settled at once (a start-up model, nothing new to train)."""
        row = ModelRetrainRow(
            **_values(new, outcome), finished_at=new.at, reason=reason, **_figures(figures or EvalFigures())
        )
        self._s.add(row)
        await self._s.flush()
        return row.id

    async def settle(
        self,
        attempt_id: int,
        outcome: str,
        reason: str,
        at: datetime,
        *,
        candidate_version: str | None = None,
        figures: EvalFigures | None = None,
        detail: str | None = None,
    ) -> None:
        """Record how a running attempt ended (`candidate_version`: the one trained, if known)."""
        values: dict[str, Any] = {"outcome": outcome, "reason": reason, "finished_at": at}
        values["detail"] = detail[:2000] if detail else None
        if candidate_version is not None:
            values["candidate_version"] = candidate_version
        values.update(_figures(figures or EvalFigures()))
        await self._s.execute(
            update(ModelRetrainRow).where(ModelRetrainRow.id == attempt_id).values(**values)
        )

    async def set_figures(self, attempt_id: int, figures: EvalFigures) -> None:
        """Add scores to a settled attempt (a start-up model, scored after the service started)."""
        await self._s.execute(
            update(ModelRetrainRow).where(ModelRetrainRow.id == attempt_id).values(**_figures(figures))
        )

    async def recent(self, limit: int = 20) -> list[RetrainAttempt]:
        """The newest attempts, newest first."""
        rows = await self._s.scalars(select(ModelRetrainRow).order_by(ModelRetrainRow.id.desc()).limit(limit))
        return [_attempt(r) for r in rows]

    async def latest_accepted(self) -> RetrainAttempt | None:
        """The model most recently put in service (by a retrain or at start-up)."""
        row = await self._s.scalar(
            select(ModelRetrainRow)
            .where(ModelRetrainRow.outcome == ACCEPTED)
            .order_by(ModelRetrainRow.id.desc())
            .limit(1)
        )
        return None if row is None else _attempt(row)

    async def accepted_for(self, version: str) -> RetrainAttempt | None:
        """The latest accepted attempt that put model `version` in service."""
        row = await self._s.scalar(
            select(ModelRetrainRow)
            .where(ModelRetrainRow.outcome == ACCEPTED, ModelRetrainRow.candidate_version == version)
            .order_by(ModelRetrainRow.id.desc())
            .limit(1)
        )
        return None if row is None else _attempt(row)

    async def vetted(self) -> dict[str, str]:
        """Every model version ever accepted → the shipped-data version it was trained on."""
        rows = await self._s.execute(
            select(ModelRetrainRow.candidate_version, ModelRetrainRow.base_version).where(
                ModelRetrainRow.outcome == ACCEPTED, ModelRetrainRow.candidate_version.is_not(None)
            )
        )
        return {str(version): str(base) for version, base in rows}

    async def tried(self, planned_version: str) -> bool:
        """Whether an attempt already judged (accepted or refused) a candidate trained on these
        corrections; a failed attempt does not count, so the schedule tries it again."""
        found = await self._s.scalar(
            select(ModelRetrainRow.id)
            .where(
                ModelRetrainRow.planned_version == planned_version,
                ModelRetrainRow.outcome.in_((ACCEPTED, REFUSED)),
            )
            .limit(1)
        )
        return found is not None


def _values(new: NewAttempt, outcome: str) -> dict[str, Any]:
    return {
        "trigger": new.trigger,
        "actor": new.actor,
        "started_at": new.at,
        "outcome": outcome,
        "base_version": new.base_version,
        "serving_version": new.serving_version,
        "corrections": new.corrections,
        "planned_version": new.planned_version,
        "candidate_version": new.candidate_version,
    }


def _figures(figures: EvalFigures) -> dict[str, Any]:
    return {
        "heldout_f1": figures.heldout_f1,
        "dev_f1": figures.dev_f1,
        "serving_heldout_f1": figures.serving_heldout_f1,
        "serving_dev_f1": figures.serving_dev_f1,
        "heldout_examples": figures.heldout_examples,
        "dev_examples": figures.dev_examples,
    }
