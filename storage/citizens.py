"""Citizens and their identities (one citizen, many channel addresses)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Identity
from storage.inserts import insert_ignoring_conflict
from storage.tables import CitizenRow, IdentityRow


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
            citizen = CitizenRow(display_name=display_name, phone=phone, created_at=at)
            self._s.add(citizen)
            await self._s.flush()
            stmt = insert_ignoring_conflict(
                self._s,
                IdentityRow,
                {
                    "citizen_id": citizen.id,
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
