"""Retraining without a restart, through the panel, on SQLite and PostgreSQL.

An operator corrects a ticket's category; a manager starts a retrain on /panel/model; the
candidate is trained in a child process, scored on the held-out (and dev) set against the model
in service, and swapped in: the next citizen message is classified by the new model, a second
process picks it up from the store, and the artifact on disk is the new one. A candidate that
scores worse is refused, and the model in service (in memory, on disk, after a restart) stays.

Training takes seconds, so the serving model is trained once per module with small settings,
and the worse candidate comes from an injected trainer that hands over a model trained on a
sliver of the data.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Sada
from bot.config import AppConfig
from bot.dates.clock import ManualClock
from bot.jobs.retraining import Scores, Trainer, TrainJob, judge, train_candidate
from bot.models import Medium
from channels.fake import FakeChannel
from nlp.dataset import load_split
from nlp.model import Model, TrainSettings, load_or_train, train
from storage.retrains import RetrainAttempt, RetrainRepository
from storage.store import Store
from tests.conftest import START, make_config
from tests.panel.conftest import Client, Site, serving

# A fraction of the shipped settings' training time: two folds, one C, no sentence-encoder stage.
SMALL = TrainSettings(folds=2, c_grid=(1.0,), second_stage=False)
# A guard's cabin put on the pavement: the model hesitates between two departments' categories.
CABIN = "کانکس نگهبانی پارکینگ رو گذاشتن روی پیاده‌رو، رد شدن سخته"


@dataclass(frozen=True)
class Artifacts:
    serving: Path  # the shipped data with SMALL settings: what the service starts with
    worse: Path  # five examples per category: a candidate that must be refused


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    folder = tmp_path_factory.mktemp("models")
    departments = make_config("sqlite+aiosqlite://", folder).taxonomy.category_departments()
    load_or_train(folder / "serving.zip", departments, settings=SMALL)  # as a first start would
    shipped = load_split("train")
    per_category: dict[str, int] = {}
    sliver = []
    for example in shipped:
        if per_category.get(example.category or "", 0) < 5:
            per_category[example.category or ""] = per_category.get(example.category or "", 0) + 1
            sliver.append(example)
    worse = TrainSettings(folds=3, c_grid=(1.0,), second_stage=False)
    train(sliver, departments, settings=worse).save(folder / "worse.zip")
    return Artifacts(folder / "serving.zip", folder / "worse.zip")


def hand_over(artifact: str, job: TrainJob) -> str:
    """A trainer (run in the child process) that 'trains' by copying a prepared artifact."""
    shutil.copyfile(artifact, job.out_path)
    return "copied"


def slow_trainer(job: TrainJob) -> str:
    """A trainer that never finishes on its own (its process must be killed)."""
    time.sleep(120)
    return "never"


def model_config(store_url: str, tmp_path: Path, **nlp: Any) -> AppConfig:
    return make_config(
        store_url,
        tmp_path,
        nlp={"classifier": "model", "model_path": str(tmp_path / "var" / "model.zip"), **nlp},
        # Every message opens its own ticket: the same text twice must not be joined as a repeat.
        gateway={"duplicate_window_hours": 0},
    )


@asynccontextmanager
async def model_site(
    store_url: str, tmp_path: Path, artifacts: Artifacts, trainer: Trainer = train_candidate
) -> AsyncIterator[Site]:
    """The service and its panel with the trained model (not the keyword baseline)."""
    model_path = tmp_path / "var" / "model.zip"
    if not model_path.exists():
        model_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts.serving, model_path)
    chat, sms = FakeChannel("tg"), FakeChannel("sms", medium=Medium.SMS)
    clock = ManualClock(START)
    sada = Sada(
        model_config(store_url, tmp_path),
        channels={"tg": chat, "sms": sms},
        clock=clock,
        train_settings=SMALL,
        trainer=trainer,
    )
    await sada.start(background_tasks=False)
    try:
        async with serving(sada) as url:
            yield Site(sada, chat, sms, clock, url)
    finally:
        await sada.stop()


@asynccontextmanager
async def another_process(
    store_url: str, tmp_path: Path, *, later: timedelta = timedelta(0)
) -> AsyncIterator[Sada]:
    """A second service on the same store and model path (another `serve --workers` process)."""
    sada = Sada(
        model_config(store_url, tmp_path),
        channels={"tg": FakeChannel("tg")},
        clock=ManualClock(START + later),
        train_settings=SMALL,
    )
    await sada.start(background_tasks=False)
    try:
        yield sada
    finally:
        await sada.stop()


@asynccontextmanager
async def logged_in(site: Site, username: str) -> AsyncIterator[Client]:
    client = Client(site)
    try:
        assert (await client.login(username)).status == 303
        client.csrf = await client.csrf_of(
            "/panel/model" if username in ("mina", "adam") else "/panel/tickets"
        )
        yield client
    finally:
        await client.close()


async def attempts(sada: Sada) -> list[RetrainAttempt]:
    async with sada.store.read() as tx:
        return await RetrainRepository(tx.session).recent()


async def serving_version(sada: Sada) -> str:
    return (await sada.retrainer.status()).version


async def file_a_cabin(site: Site, address: str) -> Any:
    """A citizen reports the cabin; the ticket it opened."""
    site.clock.advance(timedelta(minutes=5))
    return await site.ticket(await site.say(address, CABIN))


async def correct_to_runner_up(site: Site) -> tuple[Any, str]:
    """The first report, and the operator's correction: the model's second choice."""
    first = await file_a_cabin(site, "tg:1")
    runner_up = first.top_k[1][0]
    async with logged_in(site, "olga") as operator:
        done = await operator.post(
            f"/panel/tickets/{first.tracking_code}/reclassify",
            {"category": runner_up, "reason": "سازهٔ بی‌مجوز روی معبر است"},
        )
        assert done.status == 303
    return first, runner_up


async def test_a_correction_reaches_the_next_message_after_a_panel_retrain(
    store_url: str, tmp_path: Path, artifacts: Artifacts
) -> None:
    async with (
        model_site(store_url, tmp_path, artifacts) as site,
        # A day later: its citizen's message must not be taken for a repeat of the first ones.
        another_process(store_url, tmp_path, later=timedelta(days=1)) as other,
    ):
        v0 = Model.load(artifacts.serving).version
        first, runner_up = await correct_to_runner_up(site)
        assert first.model_version == v0 and first.category != runner_up
        async with logged_in(site, "mina") as manager:
            page = await (await manager.get("/panel/model")).text()
            assert v0 in page and "هنوز با آن‌ها سنجیده نشده" in page  # a correction awaits
            started = await manager.post("/panel/model/retrain", {})
            assert started.status == 303
            assert started.headers["Location"] == "/panel/model?done=retrain_started"
            await site.sada.retrainer.settled()

            latest = (await attempts(site.sada))[0]
            assert (latest.trigger, latest.actor, latest.outcome) == ("panel", "user:mina", "accepted")
            assert latest.serving_version == v0 and latest.corrections == 1
            v1 = latest.candidate_version
            assert v1 is not None and v1 != v0
            scores = latest.figures
            assert scores.heldout_f1 is not None and scores.serving_heldout_f1 is not None
            assert scores.heldout_f1 >= scores.serving_heldout_f1 - 0.005
            assert scores.heldout_examples == len([e for e in load_split("heldout") if e.category])

            # The next message is classified by the new model, as the operator taught it.
            second = await file_a_cabin(site, "tg:2")
            assert (second.model_version, second.category) == (v1, runner_up)
            # A restart keeps it: the artifact on disk is the new model, and no candidate is left over.
            model_path = site.sada.config.nlp.model_path
            assert Model.load(model_path).version == v1
            assert sorted(p.name for p in model_path.parent.iterdir()) == ["model.zip"]
            # The other process finds the accepted model in the store and loads it.
            assert await serving_version(other) == v0
            assert await other.retrainer.check_for_new_model()
            assert await serving_version(other) == v1
            chat = other.channels["tg"]
            assert isinstance(chat, FakeChannel)
            elsewhere = await chat.push(other.inbound, "tg:3", CABIN, message_id="other-1")
            async with other.store.read() as tx:
                ticket = await tx.tickets.by_code(str(elsewhere.ticket_code))
            assert ticket is not None and (ticket.model_version, ticket.category) == (v1, runner_up)

            page = await (await manager.get("/panel/model")).text()
            assert f'id="serving-version">{v1}<' in page and "به کار گرفته شد" in page
            assert "اصلاح تازه‌ای در انتظار نیست" in page
            # Nothing new since: the scheduled pass does nothing, the button says so.
            assert await site.sada.retrainer.scheduled_pass() is None
            again = await manager.post("/panel/model/retrain", {})
            assert again.headers["Location"] == "/panel/model?done=retrain_unchanged"
        assert [(a.trigger, a.outcome) for a in await attempts(site.sada)] == [
            ("panel", "unchanged"),
            ("panel", "accepted"),
            ("startup", "accepted"),
        ]


async def test_a_worse_candidate_is_refused_and_the_serving_model_stays(
    store_url: str, tmp_path: Path, artifacts: Artifacts
) -> None:
    worse = functools.partial(hand_over, str(artifacts.worse))
    async with model_site(store_url, tmp_path, artifacts, trainer=worse) as site:
        v0 = await serving_version(site.sada)
        await correct_to_runner_up(site)
        async with logged_in(site, "adam") as admin:
            started = await admin.post("/panel/model/retrain", {})
            assert started.headers["Location"] == "/panel/model?done=retrain_started"
            await site.sada.retrainer.settled()
            page = await (await admin.get("/panel/model")).text()
        latest = (await attempts(site.sada))[0]
        assert (latest.trigger, latest.actor, latest.outcome, latest.reason) == (
            "panel",
            "user:adam",
            "refused",
            "heldout_worse",
        )
        assert latest.candidate_version == Model.load(artifacts.worse).version
        assert latest.figures.heldout_f1 is not None and latest.figures.serving_heldout_f1 is not None
        assert latest.figures.heldout_f1 < latest.figures.serving_heldout_f1 - 0.005
        assert "رد شد" in page and "روی دادهٔ کنارگذاشته بدتر" in page
        # The model in service, the artifact and the next message are unchanged.
        assert (await file_a_cabin(site, "tg:2")).model_version == v0
        model_path = site.sada.config.nlp.model_path
        assert Model.load(model_path).version == v0
        assert sorted(p.name for p in model_path.parent.iterdir()) == ["model.zip"]
        # The scheduled pass does not train the same refused candidate again.
        assert await site.sada.retrainer.scheduled_pass() is None
        assert [a.outcome for a in await attempts(site.sada)] == ["refused", "accepted"]
    # A restart does not let the refused correction in either: the accepted artifact is served as
    # it is (no training at start-up), and the correction waits for a retrain that passes.
    async with another_process(store_url, tmp_path) as restarted:
        assert await serving_version(restarted) == v0
        assert [a.outcome for a in await attempts(restarted)] == ["refused", "accepted"]


async def test_worker_0_judges_waiting_corrections_at_start_up(tmp_path: Path, artifacts: Artifacts) -> None:
    # Only the wiring of worker 0's background job is new here: one kind of store is enough.
    store_url = f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}"
    async with model_site(store_url, tmp_path, artifacts) as site:
        await correct_to_runner_up(site)  # a correction, and then the service stops
    worse = functools.partial(hand_over, str(artifacts.worse))
    restarted = Sada(
        model_config(store_url, tmp_path),
        channels={},
        clock=ManualClock(START),
        train_settings=SMALL,
        trainer=worse,
    )
    await restarted.start()  # as worker 0 starts: with its background loops
    try:
        deadline = time.monotonic() + 60
        while (latest := (await attempts(restarted))[0]).trigger != "schedule" or latest.outcome == "running":
            assert time.monotonic() < deadline, latest
            await asyncio.sleep(0.2)
        assert (latest.actor, latest.outcome, latest.reason) == ("system", "refused", "heldout_worse")
        assert await serving_version(restarted) == latest.serving_version
        # Before that pass, worker 0 scored the model it started with (recorded without scores).
        startup = (await attempts(restarted))[-1]
        assert (startup.trigger, startup.candidate_version) == ("startup", latest.serving_version)
        assert startup.figures.heldout_f1 == latest.figures.serving_heldout_f1
    finally:
        await restarted.stop()


async def test_stopping_the_service_kills_a_running_retrain(
    store_url: str, tmp_path: Path, artifacts: Artifacts
) -> None:
    async with model_site(store_url, tmp_path, artifacts, trainer=slow_trainer) as site:
        await correct_to_runner_up(site)
        assert await site.sada.retrainer.start("panel", "user:mina") == "started"
        # A second request while it runs, here or from another process, is told so.
        assert await site.sada.retrainer.start("panel", "user:mina") == "busy"
        async with another_process(store_url, tmp_path) as other:
            assert await other.retrainer.start("panel", "user:adam") == "busy"
        began = time.monotonic()
    assert time.monotonic() - began < 15  # stop() did not wait for the 120 s trainer
    store = Store.from_url(store_url)
    try:
        async with store.read() as tx:
            latest = (await RetrainRepository(tx.session).recent())[0]
    finally:
        await store.aclose()
    assert (latest.outcome, latest.reason) == ("failed", "cancelled")
    model_path = site.sada.config.nlp.model_path
    assert sorted(p.name for p in model_path.parent.iterdir()) == ["model.zip"]


async def test_only_managers_and_admins_retrain_and_only_with_the_csrf_token(
    site: Site, clients: Any
) -> None:
    # The service runs the keyword baseline here: the guards come before anything model-specific.
    for username in ("olga", "wasim"):
        user = await clients(username)
        assert (await user.get("/panel/model")).status == 403
        assert (await user.post("/panel/model/retrain", {})).status == 403
    manager = await clients("mina")
    assert (await manager.post("/panel/model/retrain", {}, csrf=False)).status == 403
    manager.csrf = await manager.csrf_of("/panel/model")
    response = await manager.post("/panel/model/retrain", {})
    assert response.headers["Location"] == "/panel/model?done=retrain_unavailable"
    page = await (await manager.get(response.headers["Location"])).text()
    assert "دسته‌بند کلیدواژه‌ای" in page
    admin = await clients("adam")
    assert (await admin.get("/panel/model")).status == 200
    assert await attempts(site.sada) == []  # the baseline has nothing to retrain, and nothing ran


@pytest.mark.parametrize(
    ("candidate", "serving", "verdict"),
    [
        (Scores(0.900, 0.800, 400, 300), Scores(0.900, 0.800, 400, 300), (True, "no_worse")),
        (Scores(0.896, 0.796, 400, 300), Scores(0.900, 0.800, 400, 300), (True, "no_worse")),
        (Scores(0.894, 0.900, 400, 300), Scores(0.900, 0.800, 400, 300), (False, "heldout_worse")),
        (Scores(0.950, 0.794, 400, 300), Scores(0.900, 0.800, 400, 300), (False, "dev_worse")),
        (Scores(0.900, None, 400, 0), Scores(0.900, None, 400, 0), (True, "no_worse")),
        (Scores(0.0, None, 0, 0), Scores(0.0, None, 0, 0), (False, "no_heldout")),
    ],
)
def test_a_candidate_passes_only_when_no_worse_on_both_sets(
    candidate: Scores, serving: Scores, verdict: tuple[bool, str]
) -> None:
    result = judge(candidate, serving, tolerance=0.005)
    assert (result.accepted, result.reason) == verdict


def test_retraining_settings_are_read_and_bounded(tmp_path: Path) -> None:
    from bot.toml_reader import ConfigError

    config = make_config(
        "sqlite+aiosqlite://", tmp_path, nlp={"retrain_interval_minutes": 90, "retrain_tolerance": 0}
    )
    assert (config.nlp.retrain_interval_minutes, config.nlp.retrain_tolerance) == (90.0, 0.0)
    assert config.nlp.reload_check_seconds == 30.0
    assert make_config("sqlite+aiosqlite://", tmp_path).nlp.retrain_interval_minutes == 0
    for bad in ({"retrain_interval_minutes": -1}, {"retrain_tolerance": 0.5}, {"reload_check_seconds": 0}):
        with pytest.raises(ConfigError, match="nlp"):
            make_config("sqlite+aiosqlite://", tmp_path, nlp=bad)
