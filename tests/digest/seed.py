"""A store with known content for the digest's figures, written through the real repositories.

The reported day D is Saturday 1 Azar 1404 (2025-11-22). Every number the tests expect follows
from the list below; `EXPECTED` spells them out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.dates.jalali import TEHRAN
from bot.models import EventKind, Priority, SurveyAnswer, TicketStatus
from storage.store import Store
from storage.tickets import NewTicket

D = date(2025, 11, 22)  # 1404-09-01
D_JALALI = "1404-09-01"
HOTSPOT = "منطقه ۵"


def at(offset: int, hour: int, minute: int = 0) -> datetime:
    """Tehran wall-clock time `offset` days from D."""
    day = D + timedelta(days=offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEHRAN)


@dataclass
class Seeder:
    """Writes tickets, their history and surveys with explicit times."""

    store: Store

    def __post_init__(self) -> None:
        self._codes = itertools.count(1000001)

    async def ticket(
        self,
        created: datetime,
        *,
        channel: str,
        category: str,
        department: str,
        due: datetime,
        district: str | None = None,
        place: str | None = None,
        text: str = "درخواست",
        flagged: bool = False,
    ) -> tuple[int, int, str]:
        """A new ticket with its `created` and `classified` events; (ticket id, identity id, code)."""
        code = str(next(self._codes))
        async with self.store.transaction() as tx:
            identity = await tx.citizens.identity_for(channel, f"addr-{code}", at=created)
            ticket = await tx.tickets.create(
                NewTicket(
                    tracking_code=code,
                    citizen_id=identity.citizen_id,
                    channel=channel,
                    text=text,
                    normalized_text=text,
                    category=category,
                    department=department,
                    confidence=0.9,
                    model_version="test",
                    top_k=((category, 0.9),),
                    needs_review=flagged,
                    priority=Priority.NORMAL,
                    status=TicketStatus.REGISTERED,
                    district=district,
                    location_text=place,
                    latitude=None,
                    longitude=None,
                    created_at=created,
                    due_at=due,
                )
            )
            await tx.tickets.add_reporter(ticket.id, identity.id, created)
            await tx.tickets.add_event(ticket.id, EventKind.CREATED, created, "citizen", {"channel": channel})
            await tx.tickets.add_event(
                ticket.id,
                EventKind.CLASSIFIED,
                created,
                "model:test",
                {"category": category, "department": department, "needs_review": flagged},
            )
        return ticket.id, identity.id, code

    async def move(self, ticket_id: int, to: TicketStatus, when: datetime, frm: str = "referred") -> None:
        """A status change as the lifecycle records it."""
        values: dict[str, object] = {"status": to}
        if to is TicketStatus.RESOLVED:
            values["resolved_at"] = when
        if to is TicketStatus.REOPENED:
            values.update(resolved_at=None, closed_at=None)
        async with self.store.transaction() as tx:
            await tx.tickets.update(ticket_id, when, **values)
            await tx.tickets.add_event(
                ticket_id, EventKind.STATUS_CHANGED, when, "user:op", {"from": frm, "to": to.value}
            )

    async def reclassify(self, ticket_id: int, frm: str, to: str, when: datetime) -> None:
        """An operator correction, as recorded in history."""
        async with self.store.transaction() as tx:
            await tx.tickets.add_event(
                ticket_id,
                EventKind.RECLASSIFIED,
                when,
                "user:op",
                {"from_category": frm, "to_category": to, "reason": "test"},
            )

    async def answer(self, ticket_id: int, identity_id: int, answer: SurveyAnswer, when: datetime) -> None:
        """A survey asked an hour before `when` and answered at `when`."""
        async with self.store.transaction() as tx:
            survey = await tx.surveys.open(
                ticket_id, identity_id, when - timedelta(hours=1), when + timedelta(days=3)
            )
            assert await tx.surveys.answer(survey, answer, when)


async def seed(store: Store) -> dict[str, list[tuple[int, int, str]]]:
    """The known content (see the module docstring); returns ticket handles by group."""
    s = Seeder(store)
    waste, road = [], []
    for off in range(-7, 0):
        waste.append(
            await s.ticket(
                at(off, 10),
                channel="telegram",
                category="waste_collection",
                department="waste",
                due=at(off + 1, 23),
                district="منطقه ۲",
                text=f"زباله جمع نشده روز {off}",
            )
        )
        road.append(
            await s.ticket(
                at(off, 11),
                channel="sms",
                category="road_damage",
                department="civil_works",
                due=at(off + 7, 22 if off == -7 else 23),
                district=HOTSPOT,
                text=f"چاله در خیابان روز {off}",
            )
        )
    today_waste = [
        await s.ticket(
            at(0, hour),
            channel="telegram",
            category="waste_collection",
            department="waste",
            due=at(1, 23),
            district="منطقه ۲",
            text="زباله",
        )
        for hour in (9, 10)
    ]
    today_road = [
        await s.ticket(
            at(0, 12 + i),
            channel="sms",
            category="road_damage",
            department="civil_works",
            due=at(7, 23),
            district=HOTSPOT,
            text=f"چاله بزرگ شماره {i} با 09121234567 تماس بگیرید",
        )
        for i in range(4)
    ]
    lighting = await s.ticket(
        at(0, 8),
        channel="hotline",
        category="street_lighting",
        department="lighting",
        due=at(0, 12),
        place="میدان آزادی",
        text="چراغ خاموش",
        flagged=True,
    )
    # Resolutions (24 h each in the week before D; 74 h, 50 h and 2 h on D), a reopen, a rejection.
    await s.move(waste[0][0], TicketStatus.RESOLVED, at(-6, 10))
    await s.move(waste[1][0], TicketStatus.RESOLVED, at(-5, 10))
    await s.move(waste[1][0], TicketStatus.REOPENED, at(-4, 12), frm="resolved")
    await s.move(waste[2][0], TicketStatus.RESOLVED, at(-4, 10))
    await s.move(waste[4][0], TicketStatus.RESOLVED, at(0, 12))
    await s.move(waste[5][0], TicketStatus.RESOLVED, at(0, 12))
    await s.move(today_waste[0][0], TicketStatus.RESOLVED, at(0, 11))
    await s.move(road[6][0], TicketStatus.REJECTED, at(-1, 15))
    # Operator corrections: three in the seven days ending D, one before.
    await s.reclassify(road[0][0], "road_damage", "surface_water", at(-7, 12))
    await s.reclassify(road[3][0], "road_damage", "surface_water", at(-2, 12))
    await s.reclassify(today_road[0][0], "road_damage", "surface_water", at(0, 18))
    await s.reclassify(waste[3][0], "waste_collection", "street_cleaning", at(-3, 12))
    # Survey answers: three "fixed" on waste tickets and one "not fixed" on a road ticket in the
    # window; one older answer that must not count.
    await s.answer(waste[0][0], waste[0][1], SurveyAnswer.FIXED, at(-5, 9))
    await s.answer(waste[2][0], waste[2][1], SurveyAnswer.FIXED, at(-3, 9))
    await s.answer(today_waste[0][0], today_waste[0][1], SurveyAnswer.FIXED, at(0, 13))
    await s.answer(road[1][0], road[1][1], SurveyAnswer.NOT_FIXED, at(-1, 9))
    await s.answer(road[0][0], road[0][1], SurveyAnswer.NOT_FIXED, at(-7, 20))
    return {
        "waste": waste,
        "road": road,
        "today_waste": today_waste,
        "today_road": today_road,
        "lighting": [lighting],
    }
