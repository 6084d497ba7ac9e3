"""Citizens and their identities (one citizen, many channel addresses).

Identities are linked by phone number: a new address that is (or comes with) a phone number a
citizen already gave us joins that citizen, so a hotline caller who answers by SMS, or a Telegram
user who shared their number and later texts in, is recognised as the same person.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Identity
from storage.inserts import insert_ignoring_conflict
from storage.tables import CitizenRow, IdentityRow


def _is_phone(address: str) -> bool:
    """Whether an address is an E.164 Iranian mobile number (what SMS and hotline channels use)."""
    return len(address) == 13 and address.startswith("+989") and address[1:].isdigit()


def _identity(row: IdentityRow) -> Identity:
    return Identity(id=row.id, citizen_id=row.citizen_id, channel=row.channel, address=row.address)


class CitizenRepository:
    """Finds or creates the citizen behind a channel address."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def identity_for(
        self,
        channel: str,
        address: str,
        *,
        at: datetime,
        display_name: str | None = None,
        phone: str | None = None,
    ) -> Identity:
        """The identity for (channel, address), created with a new citizen the first time."""
        row = await self._s.scalar(
            select(IdentityRow).where(IdentityRow.channel == channel, IdentityRow.address == address)
        )
        if row is None:
            known_phone = phone or (address if _is_phone(address) else None)
            citizen_id = await self._citizen_with_phone(known_phone) if known_phone else None
            if citizen_id is None:
                citizen = CitizenRow(display_name=display_name, phone=known_phone, created_at=at)
                self._s.add(citizen)
                await self._s.flush()
                citizen_id = citizen.id
            stmt = insert_ignoring_conflict(
                self._s,
                IdentityRow,
                {
                    "citizen_id": citizen_id,
                    "channel": channel,
                    "address": address,
                    "unreachable": False,
                    "created_at": at,
                },
                ["channel", "address"],
            )
            await self._s.execute(stmt)
            row = await self._s.scalar(
                select(IdentityRow).where(IdentityRow.channel == channel, IdentityRow.address == address)
            )
            assert row is not None  # noqa: S101 - inserted or found just above
        elif phone:
            await self.set_phone(row.citizen_id, phone)
        return _identity(row)

    async def _citizen_with_phone(self, phone: str) -> int | None:
        return await self._s.scalar(
            select(CitizenRow.id).where(CitizenRow.phone == phone).order_by(CitizenRow.id).limit(1)
        )

    async def identity_ids(self, citizen_id: int) -> list[int]:
        """Every identity of one citizen, oldest first."""
        rows = await self._s.scalars(
            select(IdentityRow.id).where(IdentityRow.citizen_id == citizen_id).order_by(IdentityRow.id)
        )
        return list(rows)

    async def sms_fallbacks(self, channel: str, addresses: Collection[str]) -> dict[str, str]:
        """address → phone, for addresses on `channel` marked unreachable whose citizen gave a phone."""
        if not addresses:
            return {}
        rows = await self._s.execute(
            select(IdentityRow.address, CitizenRow.phone)
            .join(CitizenRow, CitizenRow.id == IdentityRow.citizen_id)
            .where(
                IdentityRow.channel == channel,
                IdentityRow.address.in_(list(addresses)),
                IdentityRow.unreachable.is_(True),
                CitizenRow.phone.is_not(None),
            )
        )
        return {address: phone for address, phone in rows if phone}

    async def phone_at(self, channel: str, address: str) -> str | None:
        """The phone number of the citizen behind (channel, address), if they gave one."""
        return await self._s.scalar(
            select(CitizenRow.phone)
            .join(IdentityRow, IdentityRow.citizen_id == CitizenRow.id)
            .where(IdentityRow.channel == channel, IdentityRow.address == address)
        )

    async def set_phone(self, citizen_id: int, phone: str) -> None:
        """Remember a phone number the citizen shared (for SMS fallback)."""
        await self._s.execute(update(CitizenRow).where(CitizenRow.id == citizen_id).values(phone=phone))

    async def phone_of(self, citizen_id: int) -> str | None:
        """The citizen's phone number, if known."""
        return await self._s.scalar(select(CitizenRow.phone).where(CitizenRow.id == citizen_id))

    async def get_identity(self, identity_id: int) -> Identity | None:
        """One identity by id."""
        row = await self._s.get(IdentityRow, identity_id)
        return None if row is None else _identity(row)

    async def mark_unreachable(self, channel: str, address: str) -> None:
        """The provider says we cannot write to this address any more."""
        await self._s.execute(
            update(IdentityRow)
            .where(IdentityRow.channel == channel, IdentityRow.address == address)
            .values(unreachable=True)
        )
