"""The understanding step's policy: urgency, abstain and fallback hold for every classifier, and
every category of the taxonomy must be reachable by the classifier in service.

A fire report goes in through the same door as the other pipeline tests, once with the keyword
classifier and once with the trained model (small settings: training takes seconds)."""

from __future__ import annotations

import copy
import io
from collections.abc import AsyncIterator
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from bot.app import Sada
from bot.cli.main import main
from bot.dates.clock import ManualClock
from bot.models import Medium, Priority
from bot.taxonomy import default_taxonomy_data
from bot.toml_reader import ConfigError
from channels.fake import FakeChannel
from nlp.model import TrainSettings
from tests.conftest import START, Rig, make_config

FIRE = "ساختمان کنار مدرسه آتش گرفته"
# Finglish: the keyword table's own form (folding only) names no danger in Latin letters here.
FINGLISH_FIRE = "khoone ye hamsaye dare misooze, shole az panjere miad"
SMALL = TrainSettings(folds=2, c_grid=(1.0,), second_stage=False)
NEW_CATEGORY = "night_markets"  # in the taxonomy, with no training example and no keyword


@pytest.fixture(params=["keywords", "model"])
async def any_rig(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """The whole pipeline with each configured classifier."""
    chat, sms = FakeChannel("tg"), FakeChannel("sms", medium=Medium.SMS)
    clock = ManualClock(START)
    nlp = {"classifier": request.param, "model_path": str(tmp_path / "model.zip")}
    sada = Sada(
        make_config(store_url, tmp_path, nlp=nlp),
        channels={"tg": chat, "sms": sms},
        clock=clock,
        train_settings=SMALL,
    )
    await sada.start(background_tasks=False)
    try:
        yield Rig(sada, chat, sms, clock)
    finally:
        await sada.stop()


async def test_a_fire_report_is_urgent_with_every_classifier(any_rig: Rig) -> None:
    result = await any_rig.say(any_rig.chat, "tg:1", FIRE)
    ticket = await any_rig.ticket(result.ticket_code)
    assert ticket.priority is Priority.URGENT
    [reply] = any_rig.chat.texts("tg:1")
    assert "۱۲۵" in reply


async def test_a_finglish_fire_report_is_urgent_with_every_classifier(any_rig: Rig) -> None:
    """Urgency reads the full normal form (Finglish transliterated) whatever the scorer reads."""
    result = await any_rig.say(any_rig.chat, "tg:1", FINGLISH_FIRE)
    ticket = await any_rig.ticket(result.ticket_code)
    assert ticket.priority is Priority.URGENT
    [reply] = any_rig.chat.texts("tg:1")
    assert "۱۲۵" in reply


async def test_a_fire_report_by_sms_is_told_to_call_125(any_rig: Rig) -> None:
    result = await any_rig.say(any_rig.sms, "+989121234567", FIRE)
    ticket = await any_rig.ticket(result.ticket_code)
    assert ticket.priority is Priority.URGENT
    [reply] = any_rig.sms.texts("+989121234567")
    assert "۱۲۵" in reply


def _taxonomy_with_a_new_category() -> dict[str, Any]:
    data = copy.deepcopy(default_taxonomy_data())
    entry = {"name": "بازارچه‌های شبانه", "department": "enforcement", "sla_days": 3}
    data["categories"][NEW_CATEGORY] = entry
    return data


@pytest.mark.parametrize("classifier", ["keywords", "model"])
async def test_a_category_nothing_can_reach_stops_the_start(
    classifier: str, store_url: str, tmp_path: Path
) -> None:
    nlp = {"classifier": classifier, "model_path": str(tmp_path / "model.zip")}
    config = make_config(store_url, tmp_path, nlp=nlp, taxonomy=_taxonomy_with_a_new_category())
    sada = Sada(config, channels={}, clock=ManualClock(START), train_settings=SMALL)
    try:
        with pytest.raises(ConfigError, match=NEW_CATEGORY):
            await sada.start(background_tasks=False)
    finally:
        await sada.stop()
    assert not (tmp_path / "model.zip").exists()  # refused before any training


def _toml_value(value: object) -> str:
    return str(value) if isinstance(value, int) else f'"{value}"'


def _config_file(tmp_path: Path, classifier: str) -> Path:
    taxonomy = _taxonomy_with_a_new_category()
    lines = [
        "[store]",
        f'url = "sqlite+aiosqlite:///{tmp_path / "sada.db"}"',
        "[nlp]",
        f'classifier = "{classifier}"',
        f'model_path = "{tmp_path / "model.zip"}"',
        "[taxonomy.departments]",
        *(f'{code} = "{name}"' for code, name in taxonomy["departments"].items()),
    ]
    for code, entry in taxonomy["categories"].items():
        lines.append(f"[taxonomy.categories.{code}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in entry.items())
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("classifier", ["keywords", "model"])
def test_the_cli_exits_2_naming_the_unreachable_category(classifier: str, tmp_path: Path) -> None:
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        code = main(["--config", str(_config_file(tmp_path, classifier)), "nlp", "eval", "--split", "dev"])
    assert code == 2
    assert NEW_CATEGORY in stderr.getvalue() and "taxonomy" in stderr.getvalue()
    assert not (tmp_path / "model.zip").exists()
